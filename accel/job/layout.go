package job

import (
	"encoding/binary"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/fxp"
)

// The job buffers' layouts (docs/accel.md §7). Everything is little-endian,
// every header field naturally aligned, every array 8-byte aligned and at a
// byte offset from the start of its buffer.
const (
	// MagicScenGen is "SCN1", the first word of a SCENGEN src.
	MagicScenGen = 0x314E4353
	// MagicReval is "RVL1", the first word of a REVAL src.
	MagicReval = 0x314C5652
	// MagicAggTail is "AGT1", the first word of an AGGTAIL src.
	MagicAggTail = 0x31544741
	// MagicGreeks is "GRK1", the first word of a GREEKS src.
	MagicGreeks = 0x314B5247

	// ColumnAlign is the row-stride granule of the scenario, loss and
	// account-loss matrices, in elements (64-byte rows of int32 and 128-byte
	// rows of int64).
	ColumnAlign = 16
	// StrideMax bounds the row stride Sp: every scenario plus every stress
	// point, rounded up to ColumnAlign.
	StrideMax = (accel.ScenariosMax + accel.StressPointsMax + ColumnAlign - 1) &^ (ColumnAlign - 1)

	// ScenGenHeaderBytes is the SCENGEN header; the scenario record
	// (fxp.ScenarioParams.PutRecord) follows it.
	ScenGenHeaderBytes = 32
	// RevalHeaderBytes is the REVAL header.
	RevalHeaderBytes = 64
	// AggTailHeaderBytes is the AGGTAIL header.
	AggTailHeaderBytes = 64
	// GreeksHeaderBytes is the GREEKS header.
	GreeksHeaderBytes = 64
	// TailRecordBytes is one account's AGGTAIL output record.
	TailRecordBytes = 32
	// GreeksRecordBytes is one instrument's GREEKS output: fxp.GreeksQ as
	// eight int64.
	GreeksRecordBytes = 64

	// RevalFlagM marks a REVAL whose scenario buffer holds the vol
	// multiplier matrix M after X.
	RevalFlagM = 1 << 0
	// AggTailFlagAccountLoss asks AGGTAIL to write the account-loss matrix.
	AggTailFlagAccountLoss = 1 << 0
)

// SCENGEN header offsets.
const (
	sgMagic     = 0x00 // u32 MagicScenGen
	sgSMC       = 0x04 // u32 columns to generate, [0, S_mc)
	sgSp        = 0x08 // u32 row stride in elements
	sgReserved  = 0x0C // u32 0
	sgFirst     = 0x10 // u64 scenario index of column 0
	sgReserved2 = 0x18 // u64 0
)

// REVAL header offsets.
const (
	rvMagic    = 0x00 // u32 MagicReval
	rvI        = 0x04 // u32 instruments
	rvU        = 0x08 // u32 underlyings (rows of X and M)
	rvSp       = 0x0C // u32 row stride in elements
	rvC        = 0x10 // u32 columns revalued, [0, C)
	rvCDGV     = 0x14 // u32 columns [0, C_dgv) use ValueDGV
	rvFlags    = 0x18 // u32 RevalFlag*
	rvRecBytes = 0x1C // u32 fxp.InstrumentRecordBytes
	rvRecords  = 0x20 // u64 byte offset of the instrument records
	rvReserved = 0x28 // 3 × u64 0
)

// AGGTAIL header offsets (the layout of the brief, docs/accel.md §7).
const (
	agMagic    = 0x00 // u32 MagicAggTail
	agA        = 0x04 // u32 accounts
	agS        = 0x08 // u32 tail scenarios: columns [0, S)
	agSp       = 0x0C // u32 row stride in elements
	agKVaR     = 0x10 // u32
	agKES      = 0x14 // u32
	agP        = 0x18 // u32 positions
	agFlags    = 0x1C // u32 AggTailFlag*
	agStart    = 0x20 // u64 offset of start[] (u32 × (A+1))
	agInstr    = 0x28 // u64 offset of instr[] (u32 × P)
	agQty      = 0x30 // u64 offset of qty[] (i64 × P)
	agReserved = 0x38 // u64 0
)

// GREEKS header offsets.
const (
	gkMagic     = 0x00 // u32 MagicGreeks
	gkI         = 0x04 // u32 instruments
	gkRecBytes  = 0x08 // u32 fxp.InstrumentRecordBytes
	gkReserved  = 0x0C // u32 0
	gkRecords   = 0x10 // u64 byte offset of the instrument records
	gkReserved2 = 0x18 // 5 × u64 0
)

var le = binary.LittleEndian

// pad8 and pad64 round n up to a multiple of 8 and 64.
func pad8(n int) int  { return (n + 7) &^ 7 }
func pad64(n int) int { return (n + 63) &^ 63 }

// Stride returns Sp, the row stride of a job with cols columns: cols
// rounded up to a multiple of ColumnAlign.
func Stride(cols int) int { return (cols + ColumnAlign - 1) &^ (ColumnAlign - 1) }

// scenGenSrcBytes is the size of a SCENGEN src.
func scenGenSrcBytes(u int, chol bool) int {
	return ScenGenHeaderBytes + fxp.ScenarioRecordBytes(u, chol)
}

// v0Bytes is the V0 array at the start of a REVAL dst, padded to 64 bytes.
func v0Bytes(instruments int) int { return pad64(8 * instruments) }

// tailBytes is the tail records at the start of an AGGTAIL dst, padded to
// 64 bytes.
func tailBytes(accounts int) int { return pad64(TailRecordBytes * accounts) }

// aggTailOffsets returns the offsets of start[], instr[] and qty[] and the
// size of an AGGTAIL src.
func aggTailOffsets(accounts, positions int) (start, instr, qty, size int) {
	start = AggTailHeaderBytes
	instr = start + pad8(4*(accounts+1))
	qty = instr + pad8(4*positions)
	return start, instr, qty, qty + 8*positions
}
