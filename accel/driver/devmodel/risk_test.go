package devmodel

import (
	"context"
	"errors"
	"testing"

	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/internal/regs"
	"github.com/ballast-risk/ballast/accel/job"
	"github.com/ballast-risk/ballast/accel/job/jobtest"
)

func TestRiskKernelAdvertises(t *testing.T) {
	kernelCaps := uint32(1<<regs.CapScengenBit | 1<<regs.CapRevalBit | 1<<regs.CapAggtailBit | 1<<regs.CapGreeksBit)
	for _, c := range []struct {
		name          string
		opts          []Option
		aggCols, uMax uint32
	}{
		{"defaults", []Option{WithRiskKernel()}, RiskAggColsMax, RiskScenGenUMax},
		{"limits after", []Option{WithRiskKernel(), WithLimits(512, 4)}, 512, 4},
		{"limits before", []Option{WithLimits(512, 4), WithRiskKernel()}, 512, 4},
	} {
		m, err := New(c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		caps := mustRead(t, m, regs.RegIDCaps)
		if caps&kernelCaps != kernelCaps || mustRead(t, m, regs.RegIDAggColsMax) != c.aggCols || mustRead(t, m, regs.RegIDScengenUMax) != c.uMax {
			t.Errorf("%s: caps %#x, limits %d %d", c.name, caps, mustRead(t, m, regs.RegIDAggColsMax), mustRead(t, m, regs.RegIDScengenUMax))
		}
		m.Close()
	}
}

// TestRiskKernelArgs checks the address arguments: an arg0 outside memory
// is DMA_READ, a zero length or row count BAD_DESC, and an explicit
// handler keeps its opcode.
func TestRiskKernelArgs(t *testing.T) {
	mine := false
	m, err := New(WithRiskKernel(), Handle(regs.OpGreeks, func(_, _ []byte, _ driver.Descriptor) (int, uint16) {
		mine = true
		return 0, regs.CodeOK
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dev, err := driver.Open(m, m, driver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	p, err := job.NewPlan(jobtest.Random(1, jobtest.Configs["gaussian"]))
	if err != nil {
		t.Fatal(err)
	}
	sz := p.Sizes()
	rvl := make([]byte, sz.RevalSrc)
	agt := make([]byte, sz.AggTailSrc)
	if err := errors.Join(p.EncodeReval(rvl), p.EncodeAggTail(agt)); err != nil {
		t.Fatal(err)
	}
	bufs := []driver.Buffer{{Bytes: len(rvl), In: rvl}, {Bytes: len(agt), In: agt}, {Bytes: sz.Loss}, {Bytes: sz.Tails}}
	for _, c := range []struct {
		name string
		d    driver.Desc
		want uint16
	}{
		{"REVAL arg0 outside memory", driver.Desc{Opcode: regs.OpReval, Src: driver.Ref{Buf: 0, Len: len(rvl)},
			Dst: driver.Ref{Buf: 2, Len: sz.Loss}, Arg0: 8, Arg1: uint64(sz.Scenarios)}, regs.CodeDMARead},
		{"REVAL no length", driver.Desc{Opcode: regs.OpReval, Src: driver.Ref{Buf: 0, Len: len(rvl)},
			Dst: driver.Ref{Buf: 2, Len: sz.Loss}, Arg0Ref: driver.Ref{Buf: 2, Len: 64}}, regs.CodeBadDesc},
		{"AGGTAIL no rows", driver.Desc{Opcode: regs.OpAggtail, Src: driver.Ref{Buf: 1, Len: len(agt)},
			Dst: driver.Ref{Buf: 3, Len: sz.Tails}, Arg0Ref: driver.Ref{Buf: 2, Len: 64}}, regs.CodeBadDesc},
		{"AGGTAIL loss beyond memory", driver.Desc{Opcode: regs.OpAggtail, Src: driver.Ref{Buf: 1, Len: len(agt)},
			Dst: driver.Ref{Buf: 3, Len: sz.Tails}, Arg0: DefaultIOVA + DefaultMemoryBytes - 64, Arg1: uint64(p.I)}, regs.CodeDMARead},
	} {
		_, err := dev.Submit(context.Background(), &driver.Job{Descs: []driver.Desc{c.d}, Bufs: bufs})
		var de *driver.DeviceError
		if !errors.As(err, &de) || de.Status != c.want {
			t.Errorf("%s: %v, want status %d", c.name, err, c.want)
		}
	}
	grk := make([]byte, sz.GreeksSrc)
	if err := p.EncodeGreeks(grk); err != nil {
		t.Fatal(err)
	}
	_, err = dev.Submit(context.Background(), &driver.Job{
		Descs: []driver.Desc{{Opcode: regs.OpGreeks, Src: driver.Ref{Len: len(grk)}, Dst: driver.Ref{Buf: 1, Len: sz.Greeks}}},
		Bufs:  []driver.Buffer{{Bytes: len(grk), In: grk}, {Bytes: sz.Greeks}},
	})
	if err != nil || !mine {
		t.Fatalf("explicit GREEKS handler: %v, ran %v", err, mine)
	}
}

// FuzzRiskKernel feeds arbitrary sources and arguments to the risk
// kernel's handlers: they never panic and never claim more output than dst.
func FuzzRiskKernel(f *testing.F) {
	p, err := job.NewPlan(jobtest.Random(2, jobtest.Options{U: 2, Instruments: 3, Accounts: 2, Scenarios: 20, Stress: true}))
	if err != nil {
		f.Fatal(err)
	}
	b := p.NewBuffers()
	if err := p.Encode(b); err != nil {
		f.Fatal(err)
	}
	const iova = 0x10000
	f.Add(uint8(0), b.ScenGenSrc, uint64(0), uint64(0))
	f.Add(uint8(1), b.RevalSrc, uint64(iova), uint64(len(b.Scenarios)))
	f.Add(uint8(2), b.AggTailSrc, uint64(iova), uint64(p.I))
	f.Add(uint8(3), b.GreeksSrc, uint64(0), uint64(0))
	f.Add(uint8(2), b.AggTailSrc, uint64(iova+8), uint64(1<<40))
	c := config{handlers: map[uint16]DMAHandler{}, aggCols: 64, scenGenU: 3, limitsSet: true}
	c.addRiskKernel()
	opsList := []uint16{regs.OpScengen, regs.OpReval, regs.OpAggtail, regs.OpGreeks}
	mem := make([]byte, 64<<10)
	copy(mem, b.Scenarios)
	dma := func(addr, n uint64) ([]byte, bool) {
		if addr < iova || addr-iova > uint64(len(mem)) || uint64(len(mem))-(addr-iova) < n {
			return nil, false
		}
		return mem[addr-iova : addr-iova+n], true
	}
	dst := make([]byte, 32<<10)
	f.Fuzz(func(t *testing.T, op uint8, src []byte, arg0, arg1 uint64) {
		h := c.handlers[opsList[int(op)%len(opsList)]]
		n, st := h(src, dst, driver.Descriptor{Arg0: arg0, Arg1: arg1}, dma)
		if n < 0 || n > len(dst) || (st != regs.CodeOK && n != 0) {
			t.Fatalf("out_bytes %d status %d", n, st)
		}
	})
}
