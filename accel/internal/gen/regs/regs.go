// Package regs is the single source of truth for the accelerator's register
// map, its error codes, opcodes and capability bits, and the descriptor and
// completion layouts (docs/accel.md §2–§5). Files emits the same data three
// ways: Go constants and tables (accel/internal/regs), a SystemVerilog
// package for the RTL (hdl/rtl/ballast_regs_pkg.sv) and the register
// reference (docs/accel-regs.md). The generator command accel/internal/gen
// writes them; a test here fails when a file on disk is stale.
package regs

import "strconv"

// Access is how the host may access a register or a field.
type Access uint8

// Access types.
const (
	// RO is read-only; writes are ignored.
	RO Access = iota + 1
	// RW is read-write.
	RW
	// RW1C is read, write 1 to clear.
	RW1C
	// WOSC is write 1 to act; the device clears it when done and it reads
	// as 0 once cleared.
	WOSC
	// RWSC is read-write; the device clears it when it uses it.
	RWSC
)

// String is the access type's name in the register reference.
func (a Access) String() string {
	switch a {
	case RO:
		return "RO"
	case RW:
		return "RW"
	case RW1C:
		return "RW1C"
	case WOSC:
		return "WO/SC"
	case RWSC:
		return "RW/SC"
	}
	return "?"
}

// Field is a bit field of a register.
type Field struct {
	// Name is the field's name, upper snake case (ENABLE).
	Name string
	// Lsb is the field's least significant bit.
	Lsb uint
	// Width is the field's width in bits.
	Width uint
	// Access overrides the register's access for this field (0: the
	// register's).
	Access Access
	// Doc describes the field.
	Doc string
}

// Register is one 32-bit register of a block.
type Register struct {
	// Name is the register's name in docs/accel.md (ID_MAGIC, DQ_TAIL).
	Name string
	// Offset is the byte offset from the block's base.
	Offset uint32
	// Access is the register's access type.
	Access Access
	// Reset is the value after power-on (and after a soft reset for the
	// CTRL and QUEUE blocks).
	Reset uint32
	// ResetNote replaces the reset value in the reference when the value
	// depends on the build or on time ("build", "free-running").
	ResetNote string
	// Fixed marks a register whose value is always Reset: the generator
	// emits it as <NAME>_VALUE.
	Fixed bool
	// Fields are the register's bit fields (none: one 32-bit value).
	Fields []Field
	// Doc describes the register.
	Doc string
}

// Block is a self-describing register block: BLK_ID and BLK_NEXT followed
// by its registers.
type Block struct {
	// Name is the block's name (ID, CTRL, QUEUE).
	Name string
	// Base is the block's BAR offset.
	Base uint32
	// Type and Version form BLK_ID = Type<<16 | Version.
	Type, Version uint16
	// Doc describes the block.
	Doc string
	// Registers are the block's registers after the header, by offset.
	Registers []Register
}

// ErrorCode is one bit of the ERROR register and its completion status.
type ErrorCode struct {
	// Bit is the ERROR bit; the completion status is Bit+1.
	Bit uint
	// Name is the error's name (DESC_READ).
	Name string
	// Fatal errors halt the device until a soft reset.
	Fatal bool
	// Doc describes the error.
	Doc string
}

// Code is the completion status of the error.
func (e ErrorCode) Code() uint16 { return uint16(e.Bit + 1) }

// Opcode is one descriptor opcode.
type Opcode struct {
	// Code is the opcode value.
	Code uint16
	// CapBit is the ID_CAPS bit that advertises it.
	CapBit uint
	// Name is the opcode's name (SELFTEST_PHILOX).
	Name string
	// Doc describes what the device does.
	Doc string
}

// LayoutField is one field of an in-memory structure.
type LayoutField struct {
	// Name is the field's name (SRC_ADDR).
	Name string
	// Off is the field's byte offset.
	Off uint
	// Bytes is the field's size: 2, 4 or 8.
	Bytes uint
	// Reserved fields must be written as zero.
	Reserved bool
	// Bits are single-bit flags inside the field.
	Bits []Field
	// Doc describes the field.
	Doc string
}

// Layout is an in-memory structure the host and the device exchange.
type Layout struct {
	// Name is the structure's prefix (DESC, CPL).
	Name string
	// Title names it in the reference.
	Title string
	// Bytes is the structure's size.
	Bytes uint
	// Fields cover [0, Bytes) without gaps or overlaps.
	Fields []LayoutField
	// Doc describes the structure.
	Doc string
}

// Constant is a named scalar of the device interface.
type Constant struct {
	// Name is the constant's name, upper snake case.
	Name string
	// Value is its value.
	Value uint64
	// Doc describes it.
	Doc string
}

// Map is the whole device interface.
type Map struct {
	// Blocks are the register blocks in BAR order (headers implied).
	Blocks []Block
	// Errors are the ERROR bits in bit order.
	Errors []ErrorCode
	// Opcodes are the descriptor opcodes.
	Opcodes []Opcode
	// Layouts are the descriptor and completion formats.
	Layouts []Layout
	// Constants are the interface's other scalars.
	Constants []Constant
}

// Header register offsets and fields, shared by every block.
const (
	blkIDOff   = 0x00
	blkNextOff = 0x04
)

// The ABI version the map describes.
const (
	abiMajor = 1
	abiMinor = 1
)

// Interface returns the device interface. Each call returns a fresh copy.
func Interface() *Map {
	errs := []ErrorCode{
		{0, "DESC_READ", true, "DMA read error fetching a descriptor."},
		{1, "BAD_OPCODE", false, "Unknown or unsupported opcode."},
		{2, "BAD_DESC", false, "Misaligned address or length, or lengths inconsistent with the opcode."},
		{3, "DMA_READ", false, "DMA read error (SLVERR/DECERR) on an input buffer."},
		{4, "DMA_WRITE", false, "DMA write error on an output buffer."},
		{5, "CPL_WRITE", true, "DMA write error writing a completion."},
		{6, "OVERFLOW", false, "A value left its documented range (accel-numerics.md)."},
		{7, "WATCHDOG", false, "The descriptor ran past WATCHDOG_CYCLES."},
	}
	errFields := make([]Field, len(errs))
	for i, e := range errs {
		fatal := "non-fatal"
		if e.Fatal {
			fatal = "fatal"
		}
		errFields[i] = Field{Name: e.Name, Lsb: e.Bit, Width: 1, Doc: e.Doc + " Completion status " + strconv.Itoa(int(e.Code())) + "; " + fatal + "."}
	}
	blocks := []Block{
		{
			Name: "ID", Base: 0x0000, Type: 0xB001, Version: 1,
			Doc: "Identification: what the device is and which contract it implements.",
			Registers: []Register{
				{Name: "ID_MAGIC", Offset: 0x08, Access: RO, Reset: 0x424C5354, Fixed: true, Doc: `Magic number 0x424C5354 ("BLST").`},
				{Name: "ID_ABI", Offset: 0x0C, Access: RO, Reset: abiMajor<<16 | abiMinor, Fixed: true, Doc: "Contract version, major << 16 | minor.",
					Fields: []Field{
						{Name: "MINOR", Lsb: 0, Width: 16, Doc: "Minor version: compatible additions."},
						{Name: "MAJOR", Lsb: 16, Width: 16, Doc: "Major version: the driver refuses any other."},
					}},
				{Name: "ID_TABLES_HASH", Offset: 0x10, Access: RO, ResetNote: "build", Doc: "Low 32 bits of the SHA-256 of the generated function tables; the driver refuses a device whose tables differ from its own."},
				{Name: "ID_LANES", Offset: 0x14, Access: RO, ResetNote: "build", Doc: "Revaluation lanes N of this build."},
				{Name: "ID_CAPS", Offset: 0x18, Access: RO, ResetNote: "build", Doc: "Bit k set: the opcode with capability bit k is supported."},
				{Name: "ID_SCRATCH", Offset: 0x1C, Access: RW, Doc: "Scratch register for bus tests; a soft reset keeps it."},
				{Name: "ID_CYCLES_LO", Offset: 0x20, Access: RO, ResetNote: "free-running", Doc: "Free-running clock-cycle counter, low word."},
				{Name: "ID_CYCLES_HI", Offset: 0x24, Access: RO, ResetNote: "free-running", Doc: "Clock-cycle counter, high word (read HI, LO, HI and retry if HI changed)."},
				{Name: "ID_CLK_MHZ", Offset: 0x28, Access: RO, Reset: 250, Fixed: true, Doc: "Nominal kernel clock in MHz."},
				{Name: "ID_AGG_COLS_MAX", Offset: 0x2C, Access: RO, ResetNote: "build", Doc: "The most tail scenarios S an AGGTAIL descriptor may name on this build (the unit's on-chip account-loss row); a larger S completes with BAD_DESC. 0 without AGGTAIL."},
				{Name: "ID_SCENGEN_U_MAX", Offset: 0x30, Access: RO, ResetNote: "build", Doc: "The most underlyings U a SCENGEN descriptor may name on this build (the unit's on-chip Cholesky factor and scenario tile); a larger U completes with BAD_DESC. 0 without SCENGEN."},
			},
		},
		{
			Name: "CTRL", Base: 0x0100, Type: 0xB002, Version: 1,
			Doc: "Control, status, errors, counters and test hooks. A soft reset returns every register of this block and of QUEUE to its reset value.",
			Registers: []Register{
				{Name: "CTRL", Offset: 0x08, Access: RW, Doc: "Control.",
					Fields: []Field{
						{Name: "ENABLE", Lsb: 0, Width: 1, Doc: "The queue engine fetches descriptors."},
						{Name: "RESET", Lsb: 1, Width: 1, Access: WOSC, Doc: "Write 1: soft reset of the queue engine and every unit; ring registers, indices, ERROR and counters return to 0. Self-clearing; STATUS.RESETTING is set meanwhile."},
						{Name: "IRQ_EN", Lsb: 2, Width: 1, Doc: "Raise the interrupt line while IRQ_STATUS is non-zero."},
					}},
				{Name: "STATUS", Offset: 0x0C, Access: RO, Reset: 1, Doc: "Status.",
					Fields: []Field{
						{Name: "IDLE", Lsb: 0, Width: 1, Doc: "No descriptor in flight."},
						{Name: "BUSY", Lsb: 1, Width: 1, Doc: "A descriptor is executing."},
						{Name: "HALTED", Lsb: 2, Width: 1, Doc: "Stopped on a fatal error until reset."},
						{Name: "RESETTING", Lsb: 3, Width: 1, Doc: "A soft reset is in progress."},
					}},
				{Name: "ERROR", Offset: 0x10, Access: RW1C, Doc: "Sticky error bits; write 1 to clear. Bit k is completion status k+1.", Fields: errFields},
				{Name: "ERROR_DESC", Offset: 0x14, Access: RO, Doc: "Descriptor index (free-running) of the first error since ERROR was last all clear."},
				{Name: "JOBS_DONE", Offset: 0x18, Access: RO, Doc: "Descriptors completed since reset."},
				{Name: "BUSY_CYCLES_LO", Offset: 0x1C, Access: RO, Doc: "Cycles spent executing descriptors since reset, low word."},
				{Name: "BUSY_CYCLES_HI", Offset: 0x20, Access: RO, Doc: "Cycles spent executing descriptors since reset, high word."},
				{Name: "IRQ_STATUS", Offset: 0x24, Access: RW1C, Doc: "Interrupt causes; write 1 to clear.",
					Fields: []Field{
						{Name: "CPL", Lsb: 0, Width: 1, Doc: "A completion was written for a descriptor with the IRQ flag."},
						{Name: "ERR", Lsb: 1, Width: 1, Doc: "An error bit was set."},
					}},
				{Name: "WATCHDOG_CYCLES", Offset: 0x28, Access: RW, Doc: "A descriptor running longer than this many cycles aborts with WATCHDOG (0: off)."},
				{Name: "FAULT_INJECT", Offset: 0x2C, Access: RWSC, Doc: "Test hook; each bit clears when used.",
					Fields: []Field{
						{Name: "DMA_READ", Lsb: 0, Width: 1, Doc: "The next descriptor fails with DMA_READ."},
						{Name: "HANG", Lsb: 1, Width: 1, Doc: "The next descriptor hangs: it never completes until reset or the watchdog."},
					}},
			},
		},
		{
			Name: "QUEUE", Base: 0x0200, Type: 0xB003, Version: 1,
			Doc: "The descriptor and completion rings. Indices are free-running 32-bit counters; the slot of index i is i & (entries − 1). Ring registers may only be written while CTRL.ENABLE is 0.",
			Registers: []Register{
				{Name: "DQ_BASE_LO", Offset: 0x08, Access: RW, Doc: "Descriptor ring IOVA, low word; 64-byte aligned."},
				{Name: "DQ_BASE_HI", Offset: 0x0C, Access: RW, Doc: "Descriptor ring IOVA, high word."},
				{Name: "DQ_SIZE_LOG2", Offset: 0x10, Access: RW, Doc: "Log2 of the descriptor ring's entries, 1..12."},
				{Name: "DQ_TAIL", Offset: 0x14, Access: RW, Doc: "Doorbell: the host's producer index."},
				{Name: "DQ_HEAD", Offset: 0x18, Access: RO, Doc: "Descriptors fetched by the device."},
				{Name: "CQ_BASE_LO", Offset: 0x1C, Access: RW, Doc: "Completion ring IOVA, low word; 32-byte aligned."},
				{Name: "CQ_BASE_HI", Offset: 0x20, Access: RW, Doc: "Completion ring IOVA, high word."},
				{Name: "CQ_SIZE_LOG2", Offset: 0x24, Access: RW, Doc: "Log2 of the completion ring's entries, 1..12."},
				{Name: "CQ_TAIL", Offset: 0x28, Access: RO, Doc: "Completions written by the device."},
				{Name: "CQ_HEAD", Offset: 0x2C, Access: RW, Doc: "Completions consumed by the host; the device stalls while CQ_TAIL − CQ_HEAD equals the ring's entries."},
			},
		},
	}
	opcodes := []Opcode{
		{0x0001, 0, "SELFTEST_PHILOX", "Writes dst_len/16 Philox4x32-10 blocks: block j = Philox(ctr = {lo32(arg1)+j, hi32(arg1), lo32(arg2), hi32(arg2)}, key = {lo32(arg0), hi32(arg0)}), 4 u32 words each; no input."},
		{0x0002, 1, "SELFTEST_COPY", "Copies src_len bytes from src_addr to dst_addr (dst_len ≥ src_len): DMA loopback."},
		{0x0010, 4, "SCENGEN", "Monte Carlo scenario generation (accel-numerics.md)."},
		{0x0011, 5, "REVAL", "Instrument revaluation over scenarios (accel-numerics.md)."},
		{0x0012, 6, "AGGTAIL", "Account aggregation and VaR/ES tails (accel-numerics.md)."},
		{0x0020, 8, "GREEKS", "Price and Greeks per instrument (accel-numerics.md)."},
	}
	layouts := []Layout{
		{
			Name: "DESC", Title: "Descriptor", Bytes: 64,
			Doc: "Written by the host into the descriptor ring before it advances DQ_TAIL.",
			Fields: []LayoutField{
				{Name: "OPCODE", Off: 0x00, Bytes: 2, Doc: "Opcode."},
				{Name: "FLAGS", Off: 0x02, Bytes: 2, Doc: "Flags.", Bits: []Field{{Name: "IRQ", Lsb: 0, Width: 1, Doc: "Raise the interrupt on completion."}}},
				{Name: "TAG", Off: 0x04, Bytes: 4, Doc: "Echoed in the completion."},
				{Name: "SRC_ADDR", Off: 0x08, Bytes: 8, Doc: "IOVA of the input buffer, 8-byte aligned."},
				{Name: "SRC_LEN", Off: 0x10, Bytes: 4, Doc: "Input length in bytes, a multiple of 8."},
				{Name: "RSVD0", Off: 0x14, Bytes: 4, Reserved: true, Doc: "Reserved, 0."},
				{Name: "DST_ADDR", Off: 0x18, Bytes: 8, Doc: "IOVA of the output buffer, 8-byte aligned."},
				{Name: "DST_LEN", Off: 0x20, Bytes: 4, Doc: "Output length in bytes, a multiple of 8."},
				{Name: "RSVD1", Off: 0x24, Bytes: 4, Reserved: true, Doc: "Reserved, 0."},
				{Name: "ARG0", Off: 0x28, Bytes: 8, Doc: "Opcode argument 0."},
				{Name: "ARG1", Off: 0x30, Bytes: 8, Doc: "Opcode argument 1."},
				{Name: "ARG2", Off: 0x38, Bytes: 8, Doc: "Opcode argument 2."},
			},
		},
		{
			Name: "CPL", Title: "Completion", Bytes: 32,
			Doc: "Written by the device into the completion ring; the host zeroes a slot after consuming it.",
			Fields: []LayoutField{
				{Name: "CYCLES", Off: 0x00, Bytes: 8, Doc: "Cycles the descriptor took."},
				{Name: "OUT_BYTES", Off: 0x08, Bytes: 8, Doc: "Bytes written to the output buffer."},
				{Name: "SEQ", Off: 0x10, Bytes: 4, Doc: "The completion's free-running index."},
				{Name: "DESC", Off: 0x14, Bytes: 4, Doc: "The descriptor's free-running index."},
				{Name: "TAG", Off: 0x18, Bytes: 4, Doc: "The descriptor's tag."},
				{Name: "STATUS", Off: 0x1C, Bytes: 2, Doc: "0 OK, else the error's completion status."},
				{Name: "FLAGS", Off: 0x1E, Bytes: 2, Doc: "Flags.", Bits: []Field{{Name: "VALID", Lsb: 0, Width: 1, Doc: "The slot holds a completion. It lies in the last 8 bytes, which the device writes in the burst's last beat, so a host that sees VALID sees the whole completion (as NVMe's phase tag)."}}},
			},
		},
	}
	constants := []Constant{
		{"BAR_BYTES", 0x10000, "Size of BAR0 in bytes."},
		{"RING_SIZE_LOG2_MIN", 1, "Smallest log2 ring size."},
		{"RING_SIZE_LOG2_MAX", 12, "Largest log2 ring size."},
		{"DQ_BASE_ALIGN_BYTES", 64, "Alignment of the descriptor ring's IOVA."},
		{"CQ_BASE_ALIGN_BYTES", 32, "Alignment of the completion ring's IOVA."},
		{"BUF_ALIGN_BYTES", 8, "Alignment of descriptor buffer addresses and lengths."},
		{"ID_ABI_MAJOR_VALUE", abiMajor, "The contract's major version."},
		{"ID_ABI_MINOR_VALUE", abiMinor, "The contract's minor version."},
	}
	return &Map{Blocks: blocks, Errors: errs, Opcodes: opcodes, Layouts: layouts, Constants: constants}
}

// header returns the BLK_ID and BLK_NEXT registers of block i.
func (m *Map) header(i int) []Register {
	b := m.Blocks[i]
	var next uint32
	if i+1 < len(m.Blocks) {
		next = m.Blocks[i+1].Base
	}
	return []Register{
		{Name: b.Name + "_BLK_ID", Offset: blkIDOff, Access: RO, Reset: uint32(b.Type)<<16 | uint32(b.Version),
			Doc: "Block header: type << 16 | version.",
			Fields: []Field{
				{Name: "VERSION", Lsb: 0, Width: 16, Doc: "Block version."},
				{Name: "TYPE", Lsb: 16, Width: 16, Doc: "Block type."},
			}},
		{Name: b.Name + "_BLK_NEXT", Offset: blkNextOff, Access: RO, Reset: next, Doc: "BAR offset of the next block, 0 for the last."},
	}
}

// registers returns block i's registers with the header first.
func (m *Map) registers(i int) []Register {
	return append(m.header(i), m.Blocks[i].Registers...)
}

// fatalMask is the ERROR bits of the fatal errors.
func (m *Map) fatalMask() uint32 {
	var v uint32
	for _, e := range m.Errors {
		if e.Fatal {
			v |= 1 << e.Bit
		}
	}
	return v
}
