package regs

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "write the generated files into the tree")

// repoRoot finds the module root above the package directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// TestGeneratedFilesUpToDate fails when a generated file on disk differs from
// what Files returns (run `go generate ./accel/...`, or this test with
// -update).
func TestGeneratedFilesUpToDate(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("Files returned %d files, want 3", len(files))
	}
	root := repoRoot(t)
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if *update {
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v (run `go generate ./accel/...`)", f.Path, err)
			continue
		}
		if !bytes.Equal(old, f.Data) {
			t.Errorf("%s is stale: run `go generate ./accel/...`", f.Path)
		}
	}
}

func TestFilesDeterministic(t *testing.T) {
	a, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i].Path != b[i].Path || !bytes.Equal(a[i].Data, b[i].Data) {
			t.Errorf("%s differs between two calls", a[i].Path)
		}
		if !bytes.Contains(a[i].Data, []byte(Header)) {
			t.Errorf("%s lacks the generated-file header", a[i].Path)
		}
	}
}

func TestInterfaceValid(t *testing.T) {
	if err := Interface().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestBlocksChainedAndDisjoint(t *testing.T) {
	m := Interface()
	seen := map[uint32]string{}
	for i, b := range m.Blocks {
		hdr := m.header(i)
		if hdr[0].Reset != uint32(b.Type)<<16|uint32(b.Version) {
			t.Errorf("%s BLK_ID reset %#x", b.Name, hdr[0].Reset)
		}
		want := uint32(0)
		if i+1 < len(m.Blocks) {
			want = m.Blocks[i+1].Base
		}
		if hdr[1].Reset != want {
			t.Errorf("%s BLK_NEXT %#x, want %#x", b.Name, hdr[1].Reset, want)
		}
		for _, r := range m.registers(i) {
			off := b.Base + r.Offset
			if prev, ok := seen[off]; ok {
				t.Errorf("%s and %s share offset %#x", prev, r.Name, off)
			}
			seen[off] = r.Name
			if strings.TrimSpace(r.Doc) == "" {
				t.Errorf("%s undocumented", r.Name)
			}
			for _, f := range r.Fields {
				if strings.TrimSpace(f.Doc) == "" {
					t.Errorf("%s.%s undocumented", r.Name, f.Name)
				}
			}
		}
	}
	// The spec's fixed offsets (docs/accel.md §2).
	spec := map[string]uint32{
		"ID_MAGIC": 0x08, "ID_CLK_MHZ": 0x28, "CTRL": 0x108, "STATUS": 0x10C, "ERROR": 0x110,
		"FAULT_INJECT": 0x12C, "DQ_TAIL": 0x214, "CQ_HEAD": 0x22C, "QUEUE_BLK_NEXT": 0x204,
	}
	for name, off := range spec {
		if seen[off] != name {
			t.Errorf("offset %#x holds %q, want %s", off, seen[off], name)
		}
	}
	if m.fatalMask() != 0x21 {
		t.Errorf("fatal mask %#x, want 0x21", m.fatalMask())
	}
}

// TestValidateRejects breaks the map in each way Validate guards against.
func TestValidateRejects(t *testing.T) {
	cases := map[string]func(m *Map){
		"overlapping registers":  func(m *Map) { m.Blocks[1].Registers[1].Offset = m.Blocks[1].Registers[0].Offset },
		"misaligned register":    func(m *Map) { m.Blocks[0].Registers[0].Offset = 0x09 },
		"register past block":    func(m *Map) { m.Blocks[0].Registers[8].Offset = 0x100 },
		"header overlap":         func(m *Map) { m.Blocks[2].Registers[0].Offset = 0x04 },
		"undocumented register":  func(m *Map) { m.Blocks[2].Registers[3].Doc = "" },
		"undocumented field":     func(m *Map) { m.Blocks[1].Registers[0].Fields[0].Doc = "" },
		"overlapping fields":     func(m *Map) { m.Blocks[1].Registers[1].Fields[1].Lsb = 0 },
		"field past 32 bits":     func(m *Map) { m.Blocks[0].Registers[1].Fields[1].Width = 17 },
		"blocks out of order":    func(m *Map) { m.Blocks[2].Base = 0x100 },
		"first block not at 0":   func(m *Map) { m.Blocks[0].Base = 0x100 },
		"shared block type":      func(m *Map) { m.Blocks[2].Type = m.Blocks[1].Type },
		"repeated error bit":     func(m *Map) { m.Errors[3].Bit = 2 },
		"repeated opcode":        func(m *Map) { m.Opcodes[1].Code = m.Opcodes[0].Code },
		"repeated cap bit":       func(m *Map) { m.Opcodes[2].CapBit = 0 },
		"layout gap":             func(m *Map) { m.Layouts[0].Fields[2].Off = 0x05 },
		"layout short":           func(m *Map) { m.Layouts[1].Bytes = 40 },
		"layout unaligned":       func(m *Map) { m.Layouts[1].Fields[5].Bytes = 8 },
		"duplicate emitted name": func(m *Map) { m.Blocks[2].Registers[0].Name = "CTRL" },
		"duplicate register":     func(m *Map) { m.Blocks[1].Registers[2].Name = "STATUS" },
	}
	for name, breakIt := range cases {
		m := Interface()
		breakIt(m)
		if err := m.Validate(); err == nil {
			t.Errorf("%s: Validate accepted the map", name)
		}
	}
}

// TestSVNames checks the names the RTL codes against are declared.
func TestSVNames(t *testing.T) {
	names, err := Interface().svNames()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for _, n := range strings.Fields(`REG_ID_MAGIC REG_CTRL REG_STATUS REG_ERROR REG_DQ_TAIL REG_CQ_HEAD
		REG_ID_BLK_ID REG_CTRL_BLK_ID REG_QUEUE_BLK_ID REG_QUEUE_BLK_NEXT BLK_TYPE_ID BLK_VERSION_QUEUE
		CTRL_ENABLE_BIT CTRL_RESET_BIT CTRL_IRQ_EN_BIT STATUS_IDLE_BIT STATUS_BUSY_BIT STATUS_HALTED_BIT
		STATUS_RESETTING_BIT IRQ_STATUS_CPL_BIT IRQ_STATUS_ERR_BIT FAULT_INJECT_DMA_READ_BIT
		FAULT_INJECT_HANG_BIT ERR_DESC_READ_BIT ERR_WATCHDOG_BIT ERR_FATAL_MASK OP_SELFTEST_PHILOX
		OP_SELFTEST_COPY OP_SCENGEN OP_REVAL OP_AGGTAIL OP_GREEKS CAP_GREEKS_BIT ID_MAGIC_VALUE
		ID_ABI_VALUE ID_CLK_MHZ_VALUE DESC_BYTES CPL_BYTES DESC_OPCODE_OFF DESC_FLAGS_OFF DESC_TAG_OFF
		DESC_SRC_ADDR_OFF DESC_SRC_LEN_OFF DESC_DST_ADDR_OFF DESC_DST_LEN_OFF DESC_ARG0_OFF
		DESC_ARG1_OFF DESC_ARG2_OFF CPL_TAG_OFF CPL_STATUS_OFF CPL_FLAGS_OFF CPL_SEQ_OFF CPL_DESC_OFF
		CPL_CYCLES_OFF CPL_OUT_BYTES_OFF DESC_FLAGS_IRQ_BIT CPL_FLAGS_VALID_BIT RING_SIZE_LOG2_MAX`) {
		if !have[n] {
			t.Errorf("SystemVerilog package lacks %s", n)
		}
	}
	// Names hdl/rtl/ballast_pkg.sv declares itself: a second declaration
	// would make wildcard imports of both packages ambiguous.
	for _, n := range strings.Fields("ERR_BITS STATUS_OK STATUS_DESC_READ DESC_BITS DESC_BEATS CPL_BITS CPL_BEATS") {
		if have[n] {
			t.Errorf("SystemVerilog package declares %s, which ballast_pkg owns", n)
		}
	}
	var sv File
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Path == SVPath {
			sv = f
		}
	}
	s := string(sv.Data)
	for _, want := range []string{"`default_nettype none", "package ballast_regs_pkg;", "endpackage",
		"localparam logic [15:0] REG_DQ_TAIL", "= 16'h0214;", "32'h424C5354", "32'h00010001", "32'd250", "32'h00000021"} {
		if !strings.Contains(s, want) {
			t.Errorf("SystemVerilog package lacks %q", want)
		}
	}
}

// TestSVLintsWithVerilator lints the package when Verilator is installed.
func TestSVLintsWithVerilator(t *testing.T) {
	v, err := exec.LookPath("verilator")
	if err != nil {
		t.Skip("verilator not installed")
	}
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "ballast_regs_pkg.sv")
	for _, f := range files {
		if f.Path == SVPath {
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	top := filepath.Join(dir, "lint_top.sv")
	src := "`default_nettype none\nmodule lint_top (output logic [15:0] reg_o);\n  import ballast_regs_pkg::*;\n  assign reg_o = REG_DQ_TAIL;\nendmodule\n"
	if err := os.WriteFile(top, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(v, "--lint-only", "-Wall", "-Wno-UNUSEDPARAM", p, top).CombinedOutput()
	if err != nil {
		t.Fatalf("verilator --lint-only -Wall -Wno-UNUSEDPARAM: %v\n%s", err, out)
	}
}

func TestGoNames(t *testing.T) {
	for in, want := range map[string]string{
		"ID_MAGIC": "IDMagic", "DQ_TAIL": "DQTail", "ID_CLK_MHZ": "IDClkMHz", "IRQ_STATUS": "IRQStatus",
		"SELFTEST_PHILOX": "SelftestPhilox", "CQ_SIZE_LOG2": "CQSizeLog2",
	} {
		if got := goName(in); got != want {
			t.Errorf("goName(%s) = %s, want %s", in, got, want)
		}
	}
}
