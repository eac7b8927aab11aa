# Make fragment for the Verilator harness (hdl/sim/). hdl/Makefile includes it;
# it also works on its own: make -f hdl/sim/sim.mk vsim
#
# Targets:
#   vsim        hdl/build/ballast-vsim        (no tracing: the fast build)
#   vsim-trace  hdl/build/ballast-vsim-trace  (--trace FILE.fst enabled)
#   vsim-lanes4 hdl/build/ballast-vsim-lanes4 (the fast build with -GLANES=4:
#               four REVAL lanes, ID_LANES = 4; accel/vsim tests it beside
#               the default build)
#   vsim-clean  removes them and their object directories
#
# Overridable: VERILATOR, VSIM_RTL_DIR (RTL sources, default hdl/rtl),
# VSIM_BUILD_DIR (default hdl/build), VSIM_RTL_SRCS (default: the generated
# *_regs_pkg.sv and *_tables_pkg.sv of VSIM_RTL_DIR, then its other *_pkg.sv,
# then its other *.sv, with those of its fxp/ and kern/ subfolders: packages
# before their importers), VSIM_MEM_DIR (hdl/mem: the table images), VSIM_VLT (Verilator
# configuration files, default hdl/lint/*.vlt), VSIM_VFLAGS (extra verilator
# flags, e.g. -GLANES=8 or -I<dir>), VSIM_JOBS (default 2).

VSIM_SIM_DIR := $(abspath $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST)))))
VSIM_HDL_DIR := $(abspath $(VSIM_SIM_DIR)/..)

VERILATOR ?= verilator
VSIM_JOBS ?= 2
VSIM_RTL_DIR ?= $(VSIM_HDL_DIR)/rtl
VSIM_BUILD_DIR ?= $(VSIM_HDL_DIR)/build
VSIM_GEN_PKGS = $(sort $(wildcard $(VSIM_RTL_DIR)/*_regs_pkg.sv $(VSIM_RTL_DIR)/*_tables_pkg.sv))
VSIM_RTL_SRCS ?= $(VSIM_GEN_PKGS) \
	$(sort $(filter-out $(VSIM_GEN_PKGS),$(wildcard $(VSIM_RTL_DIR)/*_pkg.sv $(VSIM_RTL_DIR)/fxp/*_pkg.sv $(VSIM_RTL_DIR)/kern/*_pkg.sv))) \
	$(sort $(filter-out %_pkg.sv,$(wildcard $(VSIM_RTL_DIR)/*.sv $(VSIM_RTL_DIR)/fxp/*.sv $(VSIM_RTL_DIR)/kern/*.sv)))
# The function-table images ($readmemh at model start) by absolute path, so
# the simulator runs from any directory.
VSIM_MEM_DIR ?= $(VSIM_HDL_DIR)/mem
VSIM_VLT ?= $(wildcard $(VSIM_HDL_DIR)/lint/*.vlt)
VSIM_VFLAGS ?=

VSIM_CPP_SRCS := $(VSIM_SIM_DIR)/main.cpp $(VSIM_SIM_DIR)/shm.cpp \
	$(VSIM_SIM_DIR)/axi_mem.cpp $(VSIM_SIM_DIR)/mailbox.cpp
VSIM_CPP_HDRS := $(wildcard $(VSIM_SIM_DIR)/*.h)

VSIM_BIN := $(VSIM_BUILD_DIR)/ballast-vsim
VSIM_TRACE_BIN := $(VSIM_BUILD_DIR)/ballast-vsim-trace
VSIM_LANES4_BIN := $(VSIM_BUILD_DIR)/ballast-vsim-lanes4

# -O2 for Verilator's own optimisations; OPT_FAST compiles the generated model
# with -O2 instead of Verilator's default -Os (faster cycles, slower build).
VSIM_COMMON_FLAGS := --cc --exe --build -j $(VSIM_JOBS) -O2 --top-module ballast_top \
	-MAKEFLAGS "OPT_FAST=-O2 OPT_SLOW=-O1" \
	-CFLAGS "-std=c++17 -O2 -I$(VSIM_SIM_DIR)" \
	-GMEM_DIR='"$(VSIM_MEM_DIR)"' $(VSIM_VFLAGS)

.PHONY: vsim vsim-trace vsim-lanes4 vsim-clean

vsim: $(VSIM_BIN)
vsim-trace: $(VSIM_TRACE_BIN)
vsim-lanes4: $(VSIM_LANES4_BIN)

$(VSIM_BIN): $(VSIM_VLT) $(VSIM_RTL_SRCS) $(VSIM_CPP_SRCS) $(VSIM_CPP_HDRS) $(VSIM_SIM_DIR)/sim.mk
	@test -n "$(strip $(VSIM_RTL_SRCS))" || { echo "vsim: no RTL sources in $(VSIM_RTL_DIR)" >&2; exit 1; }
	@mkdir -p $(VSIM_BUILD_DIR)
	$(VERILATOR) $(VSIM_COMMON_FLAGS) --Mdir $(VSIM_BUILD_DIR)/obj-vsim -o $(abspath $@) \
		$(VSIM_VLT) $(VSIM_RTL_SRCS) $(VSIM_CPP_SRCS)

$(VSIM_TRACE_BIN): $(VSIM_VLT) $(VSIM_RTL_SRCS) $(VSIM_CPP_SRCS) $(VSIM_CPP_HDRS) $(VSIM_SIM_DIR)/sim.mk
	@test -n "$(strip $(VSIM_RTL_SRCS))" || { echo "vsim: no RTL sources in $(VSIM_RTL_DIR)" >&2; exit 1; }
	@mkdir -p $(VSIM_BUILD_DIR)
	$(VERILATOR) $(VSIM_COMMON_FLAGS) --trace-fst -CFLAGS -DVSIM_TRACE \
		--Mdir $(VSIM_BUILD_DIR)/obj-vsim-trace -o $(abspath $@) \
		$(VSIM_VLT) $(VSIM_RTL_SRCS) $(VSIM_CPP_SRCS)

# -GLANES=4 comes after VSIM_VFLAGS: the last -G of a parameter wins.
$(VSIM_LANES4_BIN): $(VSIM_VLT) $(VSIM_RTL_SRCS) $(VSIM_CPP_SRCS) $(VSIM_CPP_HDRS) $(VSIM_SIM_DIR)/sim.mk
	@test -n "$(strip $(VSIM_RTL_SRCS))" || { echo "vsim: no RTL sources in $(VSIM_RTL_DIR)" >&2; exit 1; }
	@mkdir -p $(VSIM_BUILD_DIR)
	$(VERILATOR) $(VSIM_COMMON_FLAGS) -GLANES=4 --Mdir $(VSIM_BUILD_DIR)/obj-vsim-lanes4 -o $(abspath $@) \
		$(VSIM_VLT) $(VSIM_RTL_SRCS) $(VSIM_CPP_SRCS)

vsim-clean:
	rm -rf $(VSIM_BIN) $(VSIM_TRACE_BIN) $(VSIM_LANES4_BIN) $(VSIM_BUILD_DIR)/obj-vsim \
		$(VSIM_BUILD_DIR)/obj-vsim-trace $(VSIM_BUILD_DIR)/obj-vsim-lanes4
