package job

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/fxp"
	"github.com/ballast-risk/ballast/accel/job/jobtest"
)

// direct computes a job's integers with the plainest loops over the fxp
// golden functions, one scenario, instrument and account at a time, from
// the job itself (not from a Plan).
type direct struct {
	loss, acct, stress [][]int64 // I×S, A×S, I×Points
	v0                 []int64
	greeks             []fxp.GreeksQ
	tails              [][3]int64
}

func computeDirect(t *testing.T, job *accel.RiskJob) *direct {
	t.Helper()
	u := job.Underlyings
	sp, err := fxp.NewScenarioParams(&job.Scenarios, u)
	if err != nil {
		t.Fatal(err)
	}
	s := job.Scenarios.Total(u)
	x, m := make([]int32, u), make([]uint32, u)
	ins := make([]*fxp.InstrumentParams, len(job.Instruments))
	d := &direct{}
	for i := range ins {
		if ins[i], err = fxp.NewInstrumentParams(&job.Instruments[i]); err != nil {
			t.Fatal(err)
		}
		d.v0 = append(d.v0, ins[i].Value0())
		d.greeks = append(d.greeks, ins[i].Greeks())
		d.loss = append(d.loss, make([]int64, s))
		st := &job.Stress
		var row []int64
		for k := range st.Points {
			c := int(job.Instruments[i].Underlying)*st.Points + k
			sx, _ := fxp.XFromFloat(st.X[c])
			sm, _ := fxp.MFromFloat(st.VolMul[c])
			row = append(row, ins[i].Loss(ins[i].Value(sx, sm)))
		}
		d.stress = append(d.stress, row)
	}
	for sc := range s {
		if sc < job.Scenarios.Count {
			sp.Row(uint64(sc), x, m)
		} else {
			if err := fxp.ConvertX(x, job.Scenarios.Historical[(sc-job.Scenarios.Count)*u:][:u]); err != nil {
				t.Fatal(err)
			}
			for k := range m {
				m[k] = fxp.MOne
			}
		}
		for i, ip := range ins {
			ul := job.Instruments[i].Underlying
			v := ip.Value(x[ul], m[ul])
			if job.Model == accel.DeltaGammaVega {
				v = ip.ValueDGV(x[ul], m[ul])
			}
			d.loss[i][sc] = ip.Loss(v)
		}
	}
	pos := &job.Positions
	scratch := make([]int64, s)
	for a := range pos.Accounts() {
		l := make([]int64, s)
		for j := pos.Start[a]; j < pos.Start[a+1]; j++ {
			for sc := range s {
				l[sc] += int64(pos.Qty[j]) * d.loss[pos.Instrument[j]][sc]
			}
		}
		v, es, sum := fxp.TailSums(l, job.KVaR, job.KES, scratch)
		d.acct = append(d.acct, l)
		d.tails = append(d.tails, [3]int64{v, es, sum})
	}
	return d
}

// check compares a decoded result with the direct integers through the
// documented conversions.
func (d *direct) check(t *testing.T, job *accel.RiskJob, out *accel.RiskResult) {
	t.Helper()
	s := job.Scenarios.Total(job.Underlyings)
	eq := func(what string, k int, got, want float64) {
		t.Helper()
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s[%d] = %v, want %v", what, k, got, want)
		}
	}
	if out.Scenarios != s || len(out.InstrumentLoss) != len(d.loss)*s || len(out.AccountLoss) != len(d.acct)*s {
		t.Fatalf("shape: %d scenarios, %d instrument and %d account losses", out.Scenarios, len(out.InstrumentLoss), len(out.AccountLoss))
	}
	for i, row := range d.loss {
		in := &job.Instruments[i]
		eq("Value", i, out.Value[i], float64(d.v0[i])*0x1p-32*in.S)
		ip, _ := fxp.NewInstrumentParams(in)
		if out.Greeks[i] != ip.AccelGreeks(d.greeks[i]) {
			t.Fatalf("Greeks[%d] = %+v, want %+v", i, out.Greeks[i], ip.AccelGreeks(d.greeks[i]))
		}
		for c, l := range row {
			eq("InstrumentLoss", i*s+c, out.InstrumentLoss[i*s+c], float64(l)*MoneyUnit)
		}
		for k, l := range d.stress[i] {
			w := job.Stress.Weight[int(in.Underlying)*job.Stress.Points+k]
			eq("InstrumentStress", i*job.Stress.Points+k, out.InstrumentStress[i*job.Stress.Points+k], float64(l)*MoneyUnit*w)
		}
	}
	for a, row := range d.acct {
		for c, l := range row {
			eq("AccountLoss", a*s+c, out.AccountLoss[a*s+c], float64(l)*MoneyUnit)
		}
		tl := d.tails[a]
		eq("VaR", a, out.VaR[a], float64(tl[0])*MoneyUnit)
		eq("ES", a, out.ES[a], float64(tl[1])*MoneyUnit/float64(job.KES))
		eq("MeanLoss", a, out.MeanLoss[a], float64(tl[2])*MoneyUnit/float64(s))
	}
}

// The four executors over the encoded buffers compute exactly the golden
// functions' integers, and the decoder converts them as documented.
func TestExecuteMatchesDirectComputation(t *testing.T) {
	for name, o := range jobtest.Configs {
		t.Run(name, func(t *testing.T) {
			job := jobtest.Random(11, o)
			p, err := NewPlan(job)
			if err != nil {
				t.Fatal(err)
			}
			var out accel.RiskResult
			if err := p.Execute("buffers", nil, &out); err != nil {
				t.Fatal(err)
			}
			if out.Backend != "buffers" {
				t.Fatalf("backend %q", out.Backend)
			}
			computeDirect(t, job).check(t, job, &out)
		})
	}
}

// Encoding twice gives the same bytes (every byte of every buffer is
// written: reserved fields and padding are zero), and the buffers'
// geometry follows docs/accel.md §7.
func TestBuffersDeterministicAndAligned(t *testing.T) {
	job := jobtest.Random(3, jobtest.Configs["everything"])
	p, err := NewPlan(job)
	if err != nil {
		t.Fatal(err)
	}
	a, b := p.NewBuffers(), p.NewBuffers()
	for _, buf := range [][]byte{b.ScenGenSrc, b.Scenarios, b.RevalSrc, b.AggTailSrc, b.GreeksSrc} {
		for k := range buf {
			buf[k] = 0xEE
		}
	}
	if err := p.Encode(a); err != nil {
		t.Fatal(err)
	}
	if err := p.Encode(b); err != nil {
		t.Fatal(err)
	}
	// SCENGEN writes the Monte Carlo columns; the host everything else.
	for _, bufs := range []*Buffers{a, b} {
		if n, st := ExecScenGen(bufs.ScenGenSrc, bufs.Scenarios); st != StatusOK || n == 0 {
			t.Fatalf("SCENGEN: %d, %d", n, st)
		}
	}
	for name, pair := range map[string][2][]byte{
		"SCENGEN": {a.ScenGenSrc, b.ScenGenSrc}, "scenarios": {a.Scenarios, b.Scenarios},
		"REVAL": {a.RevalSrc, b.RevalSrc}, "AGGTAIL": {a.AggTailSrc, b.AggTailSrc}, "GREEKS": {a.GreeksSrc, b.GreeksSrc},
	} {
		if !bytes.Equal(pair[0], pair[1]) {
			t.Errorf("%s: encoding depends on the buffer's previous contents", name)
		}
	}
	for magic, buf := range map[string][]byte{"SCN1": a.ScenGenSrc, "RVL1": a.RevalSrc, "AGT1": a.AggTailSrc, "GRK1": a.GreeksSrc} {
		if string(buf[:4]) != magic {
			t.Errorf("magic %q, want %q", buf[:4], magic)
		}
	}
	if p.Sp%ColumnAlign != 0 || p.Sp < p.Cols || p.Sp-p.Cols >= ColumnAlign {
		t.Errorf("stride %d for %d columns", p.Sp, p.Cols)
	}
	for _, off := range []int{agStart, agInstr, agQty} {
		if v := le.Uint64(a.AggTailSrc[off:]); v%8 != 0 || v < AggTailHeaderBytes {
			t.Errorf("AGGTAIL array offset %d at %#x", v, off)
		}
	}
	sz := p.Sizes()
	for name, n := range map[string]int{"ScenGenSrc": sz.ScenGenSrc, "Scenarios": sz.Scenarios, "RevalSrc": sz.RevalSrc,
		"Loss": sz.Loss, "AggTailSrc": sz.AggTailSrc, "Tails": sz.Tails, "GreeksSrc": sz.GreeksSrc, "Greeks": sz.Greeks} {
		if n%8 != 0 {
			t.Errorf("%s is %d bytes, not a multiple of 8", name, n)
		}
	}
}

// SCENGEN's column c is scenario first+c: a batch can be split over
// descriptors.
func TestScenGenFirstIndex(t *testing.T) {
	job := jobtest.Random(5, jobtest.Configs["vol-shocks"])
	p, err := NewPlan(job)
	if err != nil {
		t.Fatal(err)
	}
	b := p.NewBuffers()
	if err := p.EncodeScenGen(b.ScenGenSrc); err != nil {
		t.Fatal(err)
	}
	const first = 1<<32 - 3 // crosses the counter's 32-bit word
	le.PutUint64(b.ScenGenSrc[sgFirst:], first)
	le.PutUint32(b.ScenGenSrc[sgSMC:], 7)
	if _, st := ExecScenGen(b.ScenGenSrc, b.Scenarios); st != StatusOK {
		t.Fatalf("status %d", st)
	}
	x, m := make([]int32, p.U), make([]uint32, p.U)
	for c := range 7 {
		p.Scen.Row(first+uint64(c), x, m)
		for u := range p.U {
			if gx, gm := int32(le.Uint32(b.Scenarios[4*(u*p.Sp+c):])), le.Uint32(b.Scenarios[4*((p.U+u)*p.Sp+c):]); gx != x[u] || gm != m[u] {
				t.Fatalf("column %d underlying %d: (%d, %d), want (%d, %d)", c, u, gx, gm, x[u], m[u])
			}
		}
	}
}

func TestNewPlanErrors(t *testing.T) {
	base := func() *accel.RiskJob { return jobtest.Random(3, jobtest.Configs["gaussian"]) }
	check := func(name string, job *accel.RiskJob, field string, cause error) {
		t.Helper()
		_, err := NewPlan(job)
		var re *RangeError
		if !errors.As(err, &re) || re.Field != field || !errors.Is(err, accel.ErrInvalidJob) || !errors.Is(err, ErrRange) || !errors.Is(err, cause) {
			t.Errorf("%s: %v, want a RangeError on %s wrapping %v", name, err, field, cause)
		}
	}
	job := base()
	job.Positions.Qty[2] = 1.5
	check("fractional", job, "Positions.Qty[2]", ErrFractional)
	job = base()
	job.Positions.Qty[0] = 1e15
	check("range rule", job, "Positions", fxp.ErrRange)
	job = base()
	job.Instruments[4].Multiplier = 1e30
	check("notional", job, "Instruments[4]", fxp.ErrRange)
	job = base()
	job.Scenarios.StudentTDoF = 2
	check("ν", job, "Scenarios", fxp.ErrRange)
	job = base()
	job.KES = 0
	if _, err := NewPlan(job); !errors.Is(err, accel.ErrInvalidJob) || errors.Is(err, ErrRange) {
		t.Errorf("invalid job: %v", err)
	}
	p, err := NewPlan(base())
	if err != nil {
		t.Fatal(err)
	}
	b := p.NewBuffers()
	for name, f := range map[string]func() error{
		"SCENGEN":   func() error { return p.EncodeScenGen(b.ScenGenSrc[:len(b.ScenGenSrc)-1]) },
		"scenarios": func() error { return p.FillScenarios(b.Scenarios[:len(b.Scenarios)-1]) },
		"REVAL":     func() error { return p.EncodeReval(b.RevalSrc[:len(b.RevalSrc)-1]) },
		"AGGTAIL":   func() error { return p.EncodeAggTail(b.AggTailSrc[:len(b.AggTailSrc)-1]) },
		"GREEKS":    func() error { return p.EncodeGreeks(b.GreeksSrc[:len(b.GreeksSrc)-1]) },
		"decode": func() error {
			return p.Decode("x", b.Loss, b.Tails[:len(b.Tails)-1], b.Greeks, &accel.RiskResult{})
		},
	} {
		if err := f(); !errors.Is(err, ErrShortBuffer) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// encoded returns the encoded buffers of a small job, after SCENGEN and
// REVAL, for the executors' rejection tests and fuzz seeds.
func encoded(t testing.TB, name string) (*Plan, *Buffers) {
	o := jobtest.Configs[name]
	o.Scenarios, o.Historical = min(o.Scenarios, 40), min(o.Historical, 9)
	p, err := NewPlan(jobtest.Random(9, o))
	if err != nil {
		t.Fatal(err)
	}
	b := p.NewBuffers()
	if err := p.Encode(b); err != nil {
		t.Fatal(err)
	}
	if _, st := ExecScenGen(b.ScenGenSrc, b.Scenarios); st != StatusOK {
		t.Fatalf("SCENGEN %d", st)
	}
	if _, st := ExecReval(b.RevalSrc, b.Scenarios, b.Loss); st != StatusOK {
		t.Fatalf("REVAL %d", st)
	}
	return p, b
}

// Every malformed header field is BAD_DESC and nothing is written.
func TestExecutorsRejectMalformedHeaders(t *testing.T) {
	p, b := encoded(t, "everything")
	type exec func(src []byte, dst []byte) (int, uint16)
	ops := map[string]struct {
		src   []byte
		dst   []byte
		run   exec
		bad   map[string]func(h []byte)
		short int // bytes of dst the op needs
	}{
		"SCENGEN": {b.ScenGenSrc, b.Scenarios, ExecScenGen, map[string]func(h []byte){
			"magic":     func(h []byte) { h[0] ^= 1 },
			"S_mc > Sp": func(h []byte) { le.PutUint32(h[sgSMC:], uint32(p.Sp+1)) },
			"Sp align":  func(h []byte) { le.PutUint32(h[sgSp:], uint32(p.Sp+1)) },
			"Sp zero":   func(h []byte) { le.PutUint32(h[sgSp:], 0) },
			"Sp huge":   func(h []byte) { le.PutUint32(h[sgSp:], StrideMax+ColumnAlign) },
			"reserved":  func(h []byte) { h[sgReserved] = 1 },
			"reserved2": func(h []byte) { h[sgReserved2+7] = 1 },
			"first":     func(h []byte) { le.PutUint64(h[sgFirst:], math.MaxUint64) },
			"record U":  func(h []byte) { le.PutUint32(h[ScenGenHeaderBytes:], 0) },
			"record ν":  func(h []byte) { le.PutUint32(h[ScenGenHeaderBytes+0x10:], 1) },
		}, p.Sizes().Scenarios},
		"REVAL": {b.RevalSrc, b.Loss, func(src, dst []byte) (int, uint16) { return ExecReval(src, b.Scenarios, dst) }, map[string]func(h []byte){
			"magic":        func(h []byte) { h[3] = 0 },
			"I zero":       func(h []byte) { le.PutUint32(h[rvI:], 0) },
			"I beyond src": func(h []byte) { le.PutUint32(h[rvI:], uint32(p.I+1)) },
			"U zero":       func(h []byte) { le.PutUint32(h[rvU:], 0) },
			"U beyond X":   func(h []byte) { le.PutUint32(h[rvU:], uint32(p.U+1)) },
			"Sp align":     func(h []byte) { le.PutUint32(h[rvSp:], uint32(p.Sp-1)) },
			"C zero":       func(h []byte) { le.PutUint32(h[rvC:], 0) },
			"C > Sp":       func(h []byte) { le.PutUint32(h[rvC:], uint32(p.Sp+1)) },
			"C_dgv > C":    func(h []byte) { le.PutUint32(h[rvCDGV:], uint32(p.Cols+1)) },
			"flags":        func(h []byte) { le.PutUint32(h[rvFlags:], 2) },
			"record size":  func(h []byte) { le.PutUint32(h[rvRecBytes:], 128) },
			"offset align": func(h []byte) { le.PutUint64(h[rvRecords:], RevalHeaderBytes+4) },
			"offset low":   func(h []byte) { le.PutUint64(h[rvRecords:], 8) },
			"offset high":  func(h []byte) { le.PutUint64(h[rvRecords:], 1<<62) },
			"reserved":     func(h []byte) { h[rvReserved+20] = 1 },
			"record kind":  func(h []byte) { h[RevalHeaderBytes+fxp.InstrumentRecordBytes] = 0 },
			"underlying": func(h []byte) {
				le.PutUint32(h[RevalHeaderBytes+4:], uint32(p.U))
			},
		}, p.Sizes().Loss},
		"AGGTAIL": {b.AggTailSrc, b.Tails, func(src, dst []byte) (int, uint16) { return ExecAggTail(src, b.Loss[v0Bytes(p.I):], dst) }, map[string]func(h []byte){
			"magic":       func(h []byte) { h[1] = 0 },
			"A huge":      func(h []byte) { le.PutUint32(h[agA:], accel.AccountsMax+1) },
			"A beyond":    func(h []byte) { le.PutUint32(h[agA:], uint32(p.A+1)) },
			"S zero":      func(h []byte) { le.PutUint32(h[agS:], 0) },
			"S > Sp":      func(h []byte) { le.PutUint32(h[agS:], uint32(p.Sp+1)) },
			"Sp align":    func(h []byte) { le.PutUint32(h[agSp:], 17) },
			"kVaR zero":   func(h []byte) { le.PutUint32(h[agKVaR:], 0) },
			"kVaR > S":    func(h []byte) { le.PutUint32(h[agKVaR:], uint32(p.S+1)) },
			"kES > S":     func(h []byte) { le.PutUint32(h[agKES:], uint32(p.S+1)) },
			"P":           func(h []byte) { le.PutUint32(h[agP:], uint32(p.Positions+1)) },
			"flags":       func(h []byte) { le.PutUint32(h[agFlags:], 3) },
			"start align": func(h []byte) { le.PutUint64(h[agStart:], 66) },
			"instr out":   func(h []byte) { le.PutUint64(h[agInstr:], uint64(len(h))) },
			"qty in hdr":  func(h []byte) { le.PutUint64(h[agQty:], 0) },
			"reserved":    func(h []byte) { h[agReserved] = 1 },
			"start[0]": func(h []byte) {
				le.PutUint32(h[le.Uint64(h[agStart:]):], 1)
			},
			"start[A]": func(h []byte) {
				le.PutUint32(h[int(le.Uint64(h[agStart:]))+4*p.A:], uint32(p.Positions-1))
			},
			"monotone": func(h []byte) {
				le.PutUint32(h[int(le.Uint64(h[agStart:]))+4*(p.A/2):], uint32(p.Positions))
			},
			"instr ≥ I": func(h []byte) {
				le.PutUint32(h[int(le.Uint64(h[agInstr:]))+4*(p.Positions-1):], uint32(p.I))
			},
		}, p.Sizes().Tails},
		"GREEKS": {b.GreeksSrc, b.Greeks, ExecGreeks, map[string]func(h []byte){
			"magic":       func(h []byte) { h[2] = 'X' },
			"I zero":      func(h []byte) { le.PutUint32(h[gkI:], 0) },
			"I beyond":    func(h []byte) { le.PutUint32(h[gkI:], uint32(p.I+1)) },
			"record size": func(h []byte) { le.PutUint32(h[gkRecBytes:], 0) },
			"reserved":    func(h []byte) { h[gkReserved] = 1 },
			"reserved2":   func(h []byte) { h[GreeksHeaderBytes-1] = 1 },
			"offset":      func(h []byte) { le.PutUint64(h[gkRecords:], 7) },
			"record":      func(h []byte) { h[GreeksHeaderBytes+2] = 0 },
		}, p.Sizes().Greeks},
	}
	for opName, op := range ops {
		if n, st := op.run(op.src, bytes.Clone(op.dst)); st != StatusOK || n != op.short {
			t.Fatalf("%s: the valid buffer gives (%d, %d), want (%d, OK)", opName, n, st, op.short)
		}
		for name, mutate := range op.bad {
			src := bytes.Clone(op.src)
			mutate(src)
			dst := make([]byte, len(op.dst))
			for k := range dst {
				dst[k] = 0x77
			}
			n, st := op.run(src, dst)
			if st != StatusBadDesc || n != 0 {
				t.Errorf("%s %s: (%d, %d), want BAD_DESC", opName, name, n, st)
			}
			if !all(dst, 0x77) {
				t.Errorf("%s %s: wrote to dst", opName, name)
			}
		}
		if n, st := op.run(op.src[:len(op.src)-8], make([]byte, len(op.dst))); st != StatusBadDesc || n != 0 {
			t.Errorf("%s: short src gives (%d, %d)", opName, n, st)
		}
		if n, st := op.run(op.src, make([]byte, op.short-8)); st != StatusBadDesc || n != 0 {
			t.Errorf("%s: short dst gives (%d, %d)", opName, n, st)
		}
	}
	if _, st := ExecReval(b.RevalSrc, b.Scenarios[:len(b.Scenarios)-4], b.Loss); st != StatusBadDesc {
		t.Errorf("REVAL with a short scenario buffer: %d", st)
	}
}

// An account without positions has zero losses; AGGTAIL without the
// account-loss flag writes only the tail records.
func TestAggTailEmptyAccountsAndNoMatrix(t *testing.T) {
	job := jobtest.Random(4, jobtest.Configs["gaussian"])
	job.Positions = accel.Positions{Start: []uint32{0, 0, 2, 2}, Instrument: []uint32{1, 1}, Qty: []float64{3, -1}}
	p, err := NewPlan(job)
	if err != nil {
		t.Fatal(err)
	}
	var out accel.RiskResult
	b := p.NewBuffers()
	if err := p.Execute("buffers", b, &out); err != nil {
		t.Fatal(err)
	}
	for _, a := range []int{0, 2} {
		if out.VaR[a] != 0 || out.ES[a] != 0 || out.MeanLoss[a] != 0 {
			t.Fatalf("empty account %d: %v %v %v", a, out.VaR[a], out.ES[a], out.MeanLoss[a])
		}
	}
	for c := range p.S {
		if want := 2 * out.InstrumentLoss[p.S+c]; out.AccountLoss[p.S+c] != want {
			t.Fatalf("account 1 scenario %d: %v, want %v", c, out.AccountLoss[p.S+c], want)
		}
	}
	le.PutUint32(b.AggTailSrc[agFlags:], 0)
	dst := make([]byte, tailBytes(p.A))
	if n, st := ExecAggTail(b.AggTailSrc, b.Loss[v0Bytes(p.I):], dst); st != StatusOK || n != len(dst) || !bytes.Equal(dst, b.Tails[:len(dst)]) {
		t.Fatalf("without the matrix: (%d, %d)", n, st)
	}
}
