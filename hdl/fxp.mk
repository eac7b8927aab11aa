# Fixed-point units of the risk kernel (rtl/fxp, tb/fxp): lint and
# bit-exact testbenches against the Go golden model (accel/fxp). A fragment
# of the main Makefile, used as
#
#   make -C hdl -f Makefile -f fxp.mk fxp-lint
#   make -C hdl -f Makefile -f fxp.mk fxp-tb
#
# Targets:
#   fxp-lint     verilator --lint-only -Wall of every unit (waivers lint/*.vlt)
#   fxp-vectors  build/vectors/fxp/<unit>.memh from accel/internal/fxpvec
#   fxp-tb       vectors, build and run every unit testbench; fails on the
#                first mismatch
#   fxp-tb-<unit> one unit's testbench

FXP_UNITS := invnorm exp normcdf normpdf recip rsqrt smul
FXP_RTL := $(HDL_DIR)/rtl/ballast_tables_pkg.sv $(HDL_DIR)/rtl/fxp/fxp_pkg.sv \
	$(sort $(filter-out %_pkg.sv,$(wildcard $(HDL_DIR)/rtl/fxp/*.sv)))
FXP_VEC := $(VEC)/fxp
FXP_VECTORS := $(foreach u,$(FXP_UNITS),$(FXP_VEC)/$(u).memh)
FXP_VEC_SRCS := $(wildcard $(ROOT_DIR)/accel/internal/fxpvec/*.go) \
	$(filter-out %_test.go,$(wildcard $(ROOT_DIR)/accel/fxp/*.go))
FXP_TB_VFLAGS := $(TB_VFLAGS) -I$(HDL_DIR)/tb/fxp '+define+FXP_MEM_DIR="$(HDL_DIR)/mem"'
FXP_MEMH := $(wildcard $(HDL_DIR)/mem/*.memh)

.PHONY: fxp-lint fxp-vectors fxp-tb $(foreach u,$(FXP_UNITS),fxp-tb-$(u))

fxp-lint:
	@for u in $(FXP_UNITS); do \
		$(VERILATOR) --lint-only -Wall $(WAIVERS) $(FXP_RTL) --top-module fxp_$$u || exit 1; \
	done
	@echo "hdl fxp-lint: $(words $(FXP_UNITS)) units clean under -Wall"

fxp-vectors: $(FXP_VECTORS)

$(FXP_VECTORS) &: $(FXP_VEC_SRCS)
	cd $(ROOT_DIR) && $(GO) run ./accel/internal/fxpvec -out $(FXP_VEC)

# One testbench binary per unit.
define FXP_TB_RULE
$(BUILD)/fxp/tb_fxp_$(1)/tb_fxp_$(1): $(FXP_RTL) $(WAIVERS) $(HDL_DIR)/tb/fxp/tb_fxp_$(1).sv $(HDL_DIR)/tb/fxp/fxp_tb_body.svh
	@mkdir -p $(BUILD)/fxp
	$(VERILATOR) $(FXP_TB_VFLAGS) -Mdir $(BUILD)/fxp/tb_fxp_$(1) --top-module tb_fxp_$(1) -o tb_fxp_$(1) \
		$(WAIVERS) $(FXP_RTL) $(HDL_DIR)/tb/fxp/tb_fxp_$(1).sv > $(BUILD)/fxp/tb_fxp_$(1).build.log 2>&1 \
		|| { cat $(BUILD)/fxp/tb_fxp_$(1).build.log; exit 1; }

fxp-tb-$(1): $(BUILD)/fxp/tb_fxp_$(1)/tb_fxp_$(1) $(FXP_VEC)/$(1).memh $(FXP_MEMH)
	$(BUILD)/fxp/tb_fxp_$(1)/tb_fxp_$(1) $(TB_RUNFLAGS) +verilator+seed+1 +vectors=$(FXP_VEC)/$(1).memh
endef
$(foreach u,$(FXP_UNITS),$(eval $(call FXP_TB_RULE,$(u))))

fxp-tb: $(foreach u,$(FXP_UNITS),fxp-tb-$(u))
	@echo "hdl fxp-tb: every fixed-point unit testbench passed ($(words $(FXP_UNITS)) units)"
