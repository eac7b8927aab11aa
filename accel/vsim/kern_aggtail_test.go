package vsim

// Co-simulation of the AGGTAIL unit (hdl/rtl/kern/ballast_aggtail.sv)
// against its Go specification, job.ExecAggTail: every output byte, the
// completion's out_bytes, every BAD_DESC rule (nothing written), the
// unit's ID_AGG_COLS_MAX limit, DMA errors, aborts, and the cycle counts.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/internal/regs"
	"github.com/ballast-risk/ballast/accel/job"
	"github.com/ballast-risk/ballast/accel/job/jobtest"
)

// aggTailColsMaxBound bounds the ID_AGG_COLS_MAX the tests accept (the
// limit test builds rows of that many columns).
const aggTailColsMaxBound = 1 << 18

// aggTailPattern fills output buffers before a job, so a byte the unit
// should not write is seen.
const aggTailPattern = 0xC3

// aggTailCase is one AGGTAIL input: the header fields, the positions in
// compressed-row form and the loss matrix (rows × sp int64).
type aggTailCase struct {
	name                string
	a, s, sp, kv, ke    int
	flags               uint32
	rows                int
	start, instr        []uint32
	qty                 []int64
	loss                []int64
	slackBytes          int // dst bytes past out_bytes (must stay untouched)
	srcBytes, lossBytes []byte
	startOff, instrOff  int
	qtyOff              int
}

func aggTailPad8(n int) int  { return (n + 7) &^ 7 }
func aggTailPad64(n int) int { return (n + 63) &^ 63 }

// encode builds the src and loss buffers as job.Plan.EncodeAggTail lays
// them out: header, start[] at 64, instr[] and qty[] after it.
func (c *aggTailCase) encode() {
	le := binary.LittleEndian
	c.startOff = 64
	c.instrOff = c.startOff + aggTailPad8(4*(c.a+1))
	c.qtyOff = c.instrOff + aggTailPad8(4*len(c.instr))
	src := make([]byte, c.qtyOff+8*len(c.qty))
	le.PutUint32(src[0x00:], job.MagicAggTail)
	le.PutUint32(src[0x04:], uint32(c.a))
	le.PutUint32(src[0x08:], uint32(c.s))
	le.PutUint32(src[0x0C:], uint32(c.sp))
	le.PutUint32(src[0x10:], uint32(c.kv))
	le.PutUint32(src[0x14:], uint32(c.ke))
	le.PutUint32(src[0x18:], uint32(len(c.instr)))
	le.PutUint32(src[0x1C:], c.flags)
	le.PutUint64(src[0x20:], uint64(c.startOff))
	le.PutUint64(src[0x28:], uint64(c.instrOff))
	le.PutUint64(src[0x30:], uint64(c.qtyOff))
	for i, v := range c.start {
		le.PutUint32(src[c.startOff+4*i:], v)
	}
	for i, v := range c.instr {
		le.PutUint32(src[c.instrOff+4*i:], v)
	}
	for i, v := range c.qty {
		le.PutUint64(src[c.qtyOff+8*i:], uint64(v))
	}
	c.srcBytes = src
	c.lossBytes = make([]byte, 8*len(c.loss))
	for i, v := range c.loss {
		le.PutUint64(c.lossBytes[8*i:], uint64(v))
	}
}

// outBytes is the size of the job's output (the executor's out_bytes).
func (c *aggTailCase) outBytes() int {
	n := aggTailPad64(32 * c.a)
	if c.flags&job.AggTailFlagAccountLoss != 0 {
		n += 8 * c.a * c.sp
	}
	return n
}

// want runs the Go executor over a pattern-filled dst of dstLen bytes.
func (c *aggTailCase) want(dstLen int) ([]byte, int, uint16) {
	dst := aggTailFilled(dstLen)
	n, st := job.ExecAggTail(c.srcBytes, c.lossBytes, dst)
	return dst, n, st
}

func aggTailFilled(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = aggTailPattern
	}
	return b
}

// aggTailRandom draws a valid case: positions spread over the accounts
// (some accounts empty), random rows and quantities, and loss values of
// one kind: "wide" (±2^40), "ties" (a handful of values, many equal),
// "clustered" (few distinct values spread over several digits), "extreme"
// (the int64 ends, quantities ±1).
func aggTailRandom(name string, seed uint64, a, p, s, rows int, flags uint32, kind string) *aggTailCase {
	r := rand.New(rand.NewPCG(seed, 0xA66))
	sp := (s + 15) &^ 15
	if r.IntN(3) == 0 {
		sp += 16 // a stride wider than the columns
	}
	c := &aggTailCase{name: name, a: a, s: s, sp: sp, flags: flags, rows: rows, slackBytes: 64}
	switch r.IntN(4) {
	case 0:
		c.kv, c.ke = 1, s
	case 1:
		c.kv, c.ke = s, 1
	default:
		c.kv, c.ke = 1+r.IntN(s), 1+r.IntN(s)
	}
	// Cut points: start[0] = 0, start[a] = p, the rest random and sorted.
	c.start = make([]uint32, a+1)
	for i := 1; i < a; i++ {
		c.start[i] = uint32(r.IntN(p + 1))
	}
	if a > 0 {
		c.start[a] = uint32(p)
	}
	for i := 1; i < a; i++ { // insertion sort of the inner cut points
		for j := i; j > 1 && c.start[j-1] > c.start[j]; j-- {
			c.start[j-1], c.start[j] = c.start[j], c.start[j-1]
		}
	}
	c.instr = make([]uint32, p)
	c.qty = make([]int64, p)
	for j := range p {
		c.instr[j] = uint32(r.IntN(rows))
		switch kind {
		case "extreme":
			c.qty[j] = int64(1 - 2*r.IntN(2))
		default:
			c.qty[j] = int64(r.IntN(2001)) - 1000
		}
	}
	c.loss = make([]int64, rows*sp)
	for i := range rows {
		for col := range s { // columns [s, sp) stay 0: the unit must not read them
			var v int64
			switch kind {
			case "ties":
				v = int64(r.IntN(7)) - 3
			case "clustered": // equal high digits, few distinct low ones
				v = int64(r.IntN(5)-2)<<33 + int64(r.IntN(3))<<9 + int64(r.IntN(2))
			case "extreme":
				v = []int64{math.MinInt64, math.MaxInt64, -1, 0, 1, math.MinInt64 + 1, math.MaxInt64 - 1, 1 << 62}[r.IntN(8)]
			default:
				v = r.Int64N(1<<41) - 1<<40
			}
			c.loss[i*sp+col] = v
		}
	}
	c.encode()
	return c
}

// aggTailDesc is the driver job of a case: src, loss (arg0) and dst.
func aggTailDesc(c *aggTailCase, dstLen int, arg1 uint64) *driver.Job {
	return &driver.Job{
		Descs: []driver.Desc{{
			Opcode:  regs.OpAggtail,
			Src:     driver.Ref{Buf: 0, Len: len(c.srcBytes)},
			Dst:     driver.Ref{Buf: 2, Len: dstLen},
			Arg0Ref: driver.Ref{Buf: 1, Len: len(c.lossBytes)},
			Arg1:    arg1,
		}},
		Bufs: []driver.Buffer{
			{Bytes: len(c.srcBytes), In: c.srcBytes},
			{Bytes: len(c.lossBytes), In: c.lossBytes},
			{Bytes: dstLen, In: aggTailFilled(dstLen), Out: make([]byte, dstLen)},
		},
	}
}

// aggTailRun submits a valid case through the driver and compares every
// byte of dst (out_bytes plus slack) and out_bytes with the executor's. It
// returns the completion's cycles.
func aggTailRun(t *testing.T, ctx context.Context, dev *driver.Device, c *aggTailCase) uint64 {
	t.Helper()
	dstLen := c.outBytes() + c.slackBytes
	want, wantN, st := c.want(dstLen)
	if st != job.StatusOK || wantN != c.outBytes() {
		t.Fatalf("%s: the executor answers status %d, %d bytes: a bad test case", c.name, st, wantN)
	}
	jb := aggTailDesc(c, dstLen, uint64(c.rows))
	res, err := dev.Submit(ctx, jb)
	if err != nil {
		t.Fatalf("%s (A %d P %d S %d Sp %d kVaR %d kES %d flags %d): %v", c.name, c.a, len(c.instr), c.s, c.sp, c.kv, c.ke, c.flags, err)
	}
	cpl := res.Completions[0]
	if cpl.OutBytes != uint64(wantN) {
		t.Errorf("%s: out_bytes %d, want %d", c.name, cpl.OutBytes, wantN)
	}
	got := jb.Bufs[2].Out
	for i := range want {
		if got[i] != want[i] {
			rec := i / 32
			t.Fatalf("%s (A %d P %d S %d Sp %d kVaR %d kES %d flags %d): dst byte %d (record/row word %d) is %#x, want %#x\n got  % x\n want % x",
				c.name, c.a, len(c.instr), c.s, c.sp, c.kv, c.ke, c.flags, i, rec, got[i], want[i],
				got[i&^7:min(len(got), i&^7+32)], want[i&^7:min(len(want), i&^7+32)])
		}
	}
	return cpl.Cycles
}

// aggTailOpen starts the simulator and the driver; it fails the test when
// the device lacks AGGTAIL or reports no sensible ID_AGG_COLS_MAX.
func aggTailOpen(t *testing.T, cfg Config) (*Sim, *driver.Device, context.Context) {
	t.Helper()
	s := startCosim(t, cfg)
	dev, err := driver.Open(s.Bar(), s.Memory(), driver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	info := dev.Info()
	if !info.Supports(regs.OpAggtail) {
		t.Fatalf("the device lacks AGGTAIL: ID_CAPS %#x", info.Caps)
	}
	if got := info.AggColsMax; got == 0 || got > aggTailColsMaxBound {
		t.Fatalf("ID_AGG_COLS_MAX %d, want 1..%d", got, aggTailColsMaxBound)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return s, dev, ctx
}

// TestKernAggTailRandom runs random and edge-case jobs under DMA latency
// and back-pressure and compares them byte for byte with job.ExecAggTail.
func TestKernAggTailRandom(t *testing.T) {
	_, dev, ctx := aggTailOpen(t, Config{MemBytes: 16 << 20, MemLatencyCycles: 20, StallPermille: 120, Seed: 5})
	const loss = job.AggTailFlagAccountLoss
	cases := []*aggTailCase{
		aggTailRandom("smallest", 1, 1, 1, 1, 1, loss, "wide"),
		aggTailRandom("smallest-nomat", 2, 1, 1, 1, 1, 0, "wide"),
		aggTailRandom("two-cols", 3, 2, 3, 2, 2, loss, "ties"),
		aggTailRandom("odd-accounts", 4, 5, 17, 19, 4, loss, "wide"),
		aggTailRandom("ties", 5, 6, 30, 40, 5, loss, "ties"),
		aggTailRandom("ties-nomat", 6, 7, 25, 33, 3, 0, "ties"),
		aggTailRandom("extreme", 7, 4, 9, 48, 6, loss, "extreme"),
		aggTailRandom("many-accounts", 8, 37, 60, 16, 7, loss, "wide"),
		aggTailRandom("long-account", 9, 2, 45, 23, 5, 0, "wide"),
		aggTailRandom("sparse", 10, 20, 5, 17, 3, loss, "wide"),
		aggTailRandom("no-positions", 11, 3, 0, 5, 1, loss, "wide"),
		aggTailRandom("no-positions-nomat", 12, 3, 0, 5, 1, 0, "wide"),
		aggTailRandom("no-accounts", 13, 0, 0, 8, 1, loss, "wide"),
		aggTailRandom("wide-row", 14, 3, 7, 300, 4, loss, "wide"),
		aggTailRandom("clustered", 16, 4, 13, 200, 4, loss, "clustered"),
		aggTailRandom("clustered-long", 17, 3, 9, 700, 3, 0, "clustered"),
		aggTailRandom("ties-long", 18, 2, 5, 1500, 2, loss, "ties"),
	}
	// Accounts without positions first, in the middle and last; a row used
	// twice by one account.
	c := aggTailRandom("empty-ends", 15, 5, 4, 21, 3, loss, "ties")
	c.start = []uint32{0, 0, 2, 2, 4, 4}
	c.instr = []uint32{1, 1, 2, 0}
	c.encode()
	cases = append(cases, c)
	for seed := uint64(100); seed < 140; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		kinds := []string{"wide", "ties", "clustered", "extreme"}
		cases = append(cases, aggTailRandom(fmt.Sprintf("random-%d", seed), seed, 1+r.IntN(12), r.IntN(40), 1+r.IntN(120),
			1+r.IntN(9), uint32(r.IntN(2)), kinds[r.IntN(len(kinds))]))
	}
	for _, c := range cases {
		aggTailRun(t, ctx, dev, c)
	}

	// Risk batches: the REVAL loss matrix and the AGGTAIL input of
	// job.Plan, executed in Go, then AGGTAIL on the device.
	for _, o := range []jobtest.Options{
		{U: 2, Instruments: 8, Accounts: 7, Scenarios: 150, Stress: true},
		{U: 3, Instruments: 10, Accounts: 5, Scenarios: 90, Historical: 21, Model: accel.DeltaGammaVega},
	} {
		p, err := job.NewPlan(jobtest.Random(77, o))
		if err != nil {
			t.Fatal(err)
		}
		b := p.NewBuffers()
		var out accel.RiskResult
		if err := p.Execute("go", b, &out); err != nil {
			t.Fatal(err)
		}
		lossOff := aggTailPad64(8 * p.I)
		jb := &driver.Job{
			Descs: []driver.Desc{{Opcode: regs.OpAggtail, Src: driver.Ref{Buf: 0, Len: len(b.AggTailSrc)},
				Dst: driver.Ref{Buf: 2, Len: len(b.Tails)}, Arg0Ref: driver.Ref{Buf: 1, Off: lossOff, Len: len(b.Loss) - lossOff},
				Arg1: uint64(p.I)}},
			Bufs: []driver.Buffer{{Bytes: len(b.AggTailSrc), In: b.AggTailSrc}, {Bytes: len(b.Loss), In: b.Loss},
				{Bytes: len(b.Tails), In: aggTailFilled(len(b.Tails)), Out: make([]byte, len(b.Tails))}},
		}
		res, err := dev.Submit(ctx, jb)
		if err != nil {
			t.Fatal(err)
		}
		if res.Completions[0].OutBytes != uint64(len(b.Tails)) {
			t.Errorf("risk batch: out_bytes %d, want %d", res.Completions[0].OutBytes, len(b.Tails))
		}
		if string(jb.Bufs[2].Out) != string(b.Tails) {
			t.Fatalf("risk batch %+v: the device's tails differ from job.ExecAggTail's", o)
		}
	}
}

// TestKernAggTailColsMax runs S = COLS_MAX (the largest row the unit
// holds) and checks that S = COLS_MAX + 1, which the executor accepts,
// completes with BAD_DESC on the device.
func TestKernAggTailColsMax(t *testing.T) {
	_, dev, ctx := aggTailOpen(t, Config{MemBytes: 16 << 20})
	colsMax := int(dev.Info().AggColsMax)
	c := aggTailRandom("cols-max", 21, 1, 2, colsMax, 2, job.AggTailFlagAccountLoss, "wide")
	cyc := aggTailRun(t, ctx, dev, c)
	t.Logf("A 1 P 2 S %d (COLS_MAX) with the matrix: %d cycles", colsMax, cyc)

	over := aggTailRandom("cols-max+1", 22, 1, 1, colsMax+1, 1, 0, "ties")
	dstLen := over.outBytes()
	if _, _, st := over.want(dstLen); st != job.StatusOK {
		t.Fatalf("the executor refuses S = COLS_MAX+1 (%d): the test no longer tests the device limit", st)
	}
	jb := aggTailDesc(over, dstLen, uint64(over.rows))
	_, err := dev.Submit(ctx, jb)
	var de *driver.DeviceError
	if !errors.As(err, &de) || de.Status != regs.CodeBadDesc {
		t.Fatalf("S = COLS_MAX+1: %v, want a BAD_DESC device error", err)
	}
}

// aggTailBad is a malformed variant of a valid base case: a mutation of
// its src, and the dst_len and arg1 the descriptor gives.
type aggTailBad struct {
	name   string
	mutate func(src []byte)
	dstLen func(n int) int // from the valid out_bytes
	arg1   func(rows int) uint64
	srcLen func(n int) int
}

// TestKernAggTailBadDesc checks every BAD_DESC rule of job.ExecAggTail
// through raw descriptors (nothing may be written: dst keeps its pattern,
// out_bytes 0), a DMA read error (loss matrix) and a DMA write error (dst)
// outside host memory, watchdog aborts at many points of a job (the next
// job must be exact), and a few BAD_DESC rules through the driver (a
// *driver.DeviceError with BAD_DESC, after which the device goes on).
func TestKernAggTailBadDesc(t *testing.T) {
	le := binary.LittleEndian
	base := aggTailRandom("base", 31, 3, 7, 20, 3, job.AggTailFlagAccountLoss, "wide")
	put32 := func(off int, v uint32) func([]byte) { return func(b []byte) { le.PutUint32(b[off:], v) } }
	put64 := func(off int, v uint64) func([]byte) { return func(b []byte) { le.PutUint64(b[off:], v) } }
	n := len(base.srcBytes)
	bads := []aggTailBad{
		{name: "src shorter than the header", srcLen: func(int) int { return 56 }},
		{name: "magic", mutate: put32(0x00, 0x31544742)},
		{name: "reserved", mutate: put64(0x38, 1)},
		{name: "A > 2^20", mutate: put32(0x04, 1<<20+1)},
		{name: "P > 2^26", mutate: put32(0x18, 1<<26+1)},
		{name: "flags bit 1", mutate: put32(0x1C, 3)},
		{name: "Sp < 16", mutate: put32(0x0C, 8)},
		{name: "Sp not a multiple of 16", mutate: put32(0x0C, uint32(base.sp+8))},
		{name: "Sp > StrideMax", mutate: put32(0x0C, job.StrideMax+16)},
		{name: "S = 0", mutate: put32(0x08, 0)},
		{name: "S > Sp", mutate: put32(0x08, uint32(base.sp+1))},
		{name: "kVaR = 0", mutate: put32(0x10, 0)},
		{name: "kVaR > S", mutate: put32(0x10, uint32(base.s+1))},
		{name: "kES = 0", mutate: put32(0x14, 0)},
		{name: "kES > S", mutate: put32(0x14, uint32(base.s+1))},
		{name: "start[] misaligned", mutate: put64(0x20, uint64(base.startOff+4))},
		{name: "start[] inside the header", mutate: put64(0x20, 56)},
		{name: "start[] past src", mutate: put64(0x20, uint64(n+8))},
		{name: "instr[] runs past src", mutate: put64(0x28, uint64(n-8))},
		{name: "qty[] runs past src", mutate: put64(0x30, uint64(n-8))},
		{name: "src_len cuts qty[]", srcLen: func(n int) int { return n - 8 }},
		{name: "dst_len < out_bytes", dstLen: func(n int) int { return n - 8 }},
		{name: "dst_len without the matrix", dstLen: func(int) int { return aggTailPad64(32 * base.a) }},
		{name: "start[0] != 0", mutate: put32(base.startOff, 1)},
		{name: "start[A] != P", mutate: put32(base.startOff+4*base.a, uint32(len(base.instr)-1))},
		{name: "start[] decreasing", mutate: func(b []byte) {
			le.PutUint32(b[base.startOff+4:], 5)
			le.PutUint32(b[base.startOff+8:], 4)
		}},
		{name: "instr = I", mutate: put32(base.instrOff+4*(len(base.instr)-1), uint32(base.rows))},
		{name: "instr >= arg1", arg1: func(rows int) uint64 { return uint64(rows - 1) }},
	}
	// Make sure the base has an instr = rows-1 for the arg1 case, and
	// start[1..2] usable by the decreasing case.
	base.instr[0] = uint32(base.rows - 1)
	base.encode()

	s := startCosim(t, Config{MemBytes: 4 << 20, MemLatencyCycles: 8, StallPermille: 80, Seed: 9})
	r := openRings(t, s)
	mem := r.mem
	const srcOff, lossOff, dstOff = bufOff, bufOff + 0x10000, bufOff + 0x40000
	copy(mem[lossOff:], base.lossBytes)
	goodOut := base.outBytes()
	for i, bd := range bads {
		src := append([]byte(nil), base.srcBytes...)
		if bd.mutate != nil {
			bd.mutate(src)
		}
		srcLen, dstLen, arg1 := len(src), goodOut, uint64(base.rows)
		if bd.srcLen != nil {
			srcLen = bd.srcLen(srcLen)
		}
		if bd.dstLen != nil {
			dstLen = bd.dstLen(dstLen)
		}
		if bd.arg1 != nil {
			arg1 = bd.arg1(base.rows)
		}
		// The executor must refuse it too (the loss length gives its I).
		rows := int(arg1)
		if _, st := job.ExecAggTail(src[:srcLen], base.lossBytes[:8*base.sp*rows], aggTailFilled(dstLen)); st != job.StatusBadDesc {
			t.Fatalf("%s: the executor answers %d, not BAD_DESC: a bad test case", bd.name, st)
		}
		copy(mem[srcOff:], src)
		for k := range goodOut + 256 {
			mem[dstOff+k] = aggTailPattern
		}
		st, out := r.run(t, regs.OpAggtail, uint32(200+i), r.iova+srcOff, uint64(srcLen), r.iova+dstOff, uint64(dstLen),
			[3]uint64{r.iova + lossOff, arg1, 0})
		if st != regs.CodeBadDesc || out != 0 {
			t.Errorf("%s: status %d out_bytes %d, want %d (BAD_DESC) and 0", bd.name, st, out, regs.CodeBadDesc)
		}
		for k := range goodOut + 256 {
			if mem[dstOff+k] != aggTailPattern {
				t.Fatalf("%s: dst byte %d written (%#x)", bd.name, k, mem[dstOff+k])
			}
		}
	}
	// The unchanged base passes through the same path.
	copy(mem[srcOff:], base.srcBytes)
	if st, out := r.run(t, regs.OpAggtail, 300, r.iova+srcOff, uint64(len(base.srcBytes)), r.iova+dstOff, uint64(goodOut),
		[3]uint64{r.iova + lossOff, uint64(base.rows), 0}); st != 0 || out != uint64(goodOut) {
		t.Fatalf("valid base: status %d out_bytes %d", st, out)
	}
	want, _, _ := base.want(goodOut)
	if string(mem[dstOff:dstOff+goodOut]) != string(want) {
		t.Fatal("valid base: dst differs from the executor's")
	}
	// A loss matrix outside host memory: DMA_READ.
	if st, _ := r.run(t, regs.OpAggtail, 301, r.iova+srcOff, uint64(len(base.srcBytes)), r.iova+dstOff, uint64(goodOut),
		[3]uint64{0x8000, uint64(base.rows), 0}); st != regs.CodeDMARead {
		t.Fatalf("unmapped loss matrix: status %d, want %d (DMA_READ)", st, regs.CodeDMARead)
	}
	// A destination outside host memory: DMA_WRITE.
	if st, out := r.run(t, regs.OpAggtail, 302, r.iova+srcOff, uint64(len(base.srcBytes)), 0x8000, uint64(goodOut),
		[3]uint64{r.iova + lossOff, uint64(base.rows), 0}); st != regs.CodeDMAWrite || out != 0 {
		t.Fatalf("unmapped dst: status %d out_bytes %d, want %d (DMA_WRITE) and 0", st, out, regs.CodeDMAWrite)
	}

	// Aborts (the watchdog) at several points of a job leave the unit
	// ready: the next job is exact.
	aborted := 0
	const watchdogRuns = 14
	for k := range uint32(watchdogRuns) {
		wd := 20 + 40*k // validation, accumulation, hand-off, select, writes
		for k := range goodOut {
			mem[dstOff+k] = aggTailPattern
		}
		mustWrite(t, s.Bar(), regs.RegWatchdogCycles, wd)
		st, _ := r.run(t, regs.OpAggtail, 400+wd, r.iova+srcOff, uint64(len(base.srcBytes)), r.iova+dstOff, uint64(goodOut),
			[3]uint64{r.iova + lossOff, uint64(base.rows), 0})
		mustWrite(t, s.Bar(), regs.RegWatchdogCycles, 0)
		switch st {
		case regs.CodeWatchdog:
			aborted++
		case 0:
		default:
			t.Fatalf("watchdog %d: status %d", wd, st)
		}
		if st, out := r.run(t, regs.OpAggtail, 500+wd, r.iova+srcOff, uint64(len(base.srcBytes)), r.iova+dstOff, uint64(goodOut),
			[3]uint64{r.iova + lossOff, uint64(base.rows), 0}); st != 0 || out != uint64(goodOut) {
			t.Fatalf("after a watchdog of %d cycles: status %d out_bytes %d", wd, st, out)
		}
		if string(mem[dstOff:dstOff+goodOut]) != string(want) {
			t.Fatalf("after a watchdog of %d cycles: dst differs from the executor's", wd)
		}
	}
	t.Logf("%d of %d watchdog runs aborted", aborted, watchdogRuns)
	if aborted < watchdogRuns/2 {
		t.Fatalf("only %d of the watchdog runs aborted: the job is too short to test aborts", aborted)
	}

	// Through the driver: a typed device error, and the device goes on.
	dev, err := driver.Open(s.Bar(), s.Memory(), driver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, bd := range []aggTailBad{bads[1], bads[12], bads[21], bads[25], bads[26]} {
		c := *base
		c.srcBytes = append([]byte(nil), base.srcBytes...)
		if bd.mutate != nil {
			bd.mutate(c.srcBytes)
		}
		dstLen := goodOut
		if bd.dstLen != nil {
			dstLen = bd.dstLen(dstLen)
		}
		_, err := dev.Submit(ctx, aggTailDesc(&c, dstLen, uint64(base.rows)))
		var de *driver.DeviceError
		if !errors.As(err, &de) || de.Status != regs.CodeBadDesc || de.Opcode != regs.OpAggtail {
			t.Errorf("%s via the driver: %v, want a BAD_DESC device error", bd.name, err)
		}
	}
	base.slackBytes = 0
	aggTailRun(t, ctx, dev, base)
}

// TestKernAggTailCycles logs the completion cycles of a few job sizes
// (random ±2^40 losses, positions spread evenly over the accounts, no
// back-pressure) at zero and at 100 cycles of DMA read latency, for the
// throughput estimate.
func TestKernAggTailCycles(t *testing.T) {
	for _, lat := range []uint32{0, 100} {
		_, dev, ctx := aggTailOpen(t, Config{MemBytes: 8 << 20, MemLatencyCycles: lat})
		for _, sz := range []struct {
			a, p, s int
			flags   uint32
		}{
			{1, 0, 64, 0}, {1, 1, 64, 0}, {1, 2, 64, 0}, {4, 12, 64, 0}, {4, 12, 64, job.AggTailFlagAccountLoss},
			{1, 1, 1000, 0}, {16, 16, 1000, 0}, {16, 64, 1000, 0}, {16, 64, 1000, job.AggTailFlagAccountLoss},
		} {
			c := aggTailRandom("cycles", uint64(1000+sz.a*sz.s), sz.a, sz.p, sz.s, 8, sz.flags, "wide")
			for i := range c.start {
				c.start[i] = uint32(i * sz.p / sz.a)
			}
			c.encode()
			cyc := aggTailRun(t, ctx, dev, c)
			t.Logf("AGGTAIL latency %d: A %d P %d S %d flags %d: %d cycles (%.0f per account)",
				lat, sz.a, sz.p, sz.s, sz.flags, cyc, float64(cyc)/float64(sz.a))
		}
	}
}
