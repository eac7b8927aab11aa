package devmodel

import (
	"encoding/binary"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/internal/regs"
	"github.com/ballast-risk/ballast/accel/job"
)

// The risk kernel's limits when WithLimits is not given: what accel/job's
// executors accept.
const (
	// RiskAggColsMax is ID_AGG_COLS_MAX: every scenario of a job.
	RiskAggColsMax = accel.ScenariosMax
	// RiskScenGenUMax is ID_SCENGEN_U_MAX: every underlying of a job.
	RiskScenGenUMax = accel.UnderlyingsMax
)

// Fields the model reads ahead of the executors to apply its limits and to
// size the arg0 ranges (docs/accel.md §7).
const (
	scenGenRecordU = job.ScenGenHeaderBytes // u32 U, first word of the scenario record
	aggTailS       = 0x08                   // u32 tail scenarios S
	aggTailSp      = 0x0C                   // u32 row stride Sp
)

var le = binary.LittleEndian

// WithRiskKernel plugs accel/job's executors in as SCENGEN, REVAL, AGGTAIL
// and GREEKS (an opcode given its own Handle or HandleDMA keeps it), so the
// model runs the risk kernel bit for bit as the device specifies it. ID_CAPS
// advertises the four opcodes (unless WithCaps overrides it) and
// ID_AGG_COLS_MAX / ID_SCENGEN_U_MAX are RiskAggColsMax / RiskScenGenUMax
// unless WithLimits sets them; a descriptor beyond them completes with
// BAD_DESC. REVAL reads the scenario buffer at arg0 (arg1 bytes); AGGTAIL
// reads the loss matrix at arg0 (arg1 rows of the header's stride).
func WithRiskKernel() Option {
	return func(c *config) error { c.risk = true; return nil }
}

// addRiskKernel registers the executors and the default limits.
func (c *config) addRiskKernel() {
	if !c.limitsSet {
		c.aggCols, c.scenGenU = RiskAggColsMax, RiskScenGenUMax
	}
	aggCols, scenGenU := c.aggCols, c.scenGenU
	add := func(op uint16, h DMAHandler) {
		if _, ok := c.handlers[op]; !ok {
			c.handlers[op] = h
		}
	}
	add(regs.OpScengen, func(src, dst []byte, _ driver.Descriptor, _ DMA) (int, uint16) {
		if len(src) < scenGenRecordU+4 || le.Uint32(src[scenGenRecordU:]) > scenGenU {
			return 0, regs.CodeBadDesc
		}
		return job.ExecScenGen(src, dst)
	})
	add(regs.OpReval, func(src, dst []byte, d driver.Descriptor, dma DMA) (int, uint16) {
		if d.Arg1 == 0 || d.Arg1 > driver.BufferBytesMax || d.Arg0%regs.BufAlignBytes != 0 {
			return 0, regs.CodeBadDesc
		}
		scen, ok := dma(d.Arg0, d.Arg1)
		if !ok {
			return 0, regs.CodeDMARead
		}
		return job.ExecReval(src, scen, dst)
	})
	add(regs.OpAggtail, func(src, dst []byte, d driver.Descriptor, dma DMA) (int, uint16) {
		if len(src) < job.AggTailHeaderBytes || le.Uint32(src[aggTailS:]) > aggCols {
			return 0, regs.CodeBadDesc
		}
		sp := uint64(le.Uint32(src[aggTailSp:]))
		if d.Arg1 < 1 || d.Arg1 > accel.InstrumentsMax || sp < job.ColumnAlign || sp > job.StrideMax ||
			sp%job.ColumnAlign != 0 || d.Arg0%regs.BufAlignBytes != 0 {
			return 0, regs.CodeBadDesc
		}
		loss, ok := dma(d.Arg0, 8*sp*d.Arg1)
		if !ok {
			return 0, regs.CodeDMARead
		}
		return job.ExecAggTail(src, loss, dst)
	})
	add(regs.OpGreeks, func(src, dst []byte, _ driver.Descriptor, _ DMA) (int, uint16) {
		return job.ExecGreeks(src, dst)
	})
}
