package job

import (
	"fmt"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/fxp"
	"github.com/ballast-risk/ballast/accel/internal/regs"
)

// MoneyUnit is the currency value of one money unit (2^-12).
const MoneyUnit = 1.0 / (1 << fxp.MoneyFrac)

// Result conversions: every backend of the fixed-point contract turns its
// integers into an accel.RiskResult with these expressions, so equal
// integers give equal float64 bits.

// LossFloat converts a loss in money units to currency (exact below 2^53
// units).
func LossFloat(l int64) float64 { return float64(l) * MoneyUnit }

// ValueFloat converts an instrument's V0 (sQ31.32, per unit of spot) to its
// value per unit.
func (p *Plan) ValueFloat(i int, v0 int64) float64 {
	return float64(v0) * 0x1p-32 * p.Job.Instruments[i].S
}

// StressFloat converts the loss of instrument i at its underlying's stress
// point k to the weighted loss per contract of InstrumentStress.
func (p *Plan) StressFloat(i, k int, l int64) float64 {
	return float64(l) * MoneyUnit * p.Job.Stress.Weight[int(p.Under[i])*p.Points+k]
}

// TailFloat converts an account's tail integers to VaR, ES (= ESsum/kES)
// and MeanLoss (= Sum/S).
func (p *Plan) TailFloat(varLoss, esSum, sum int64) (v, es, mean float64) {
	return float64(varLoss) * MoneyUnit, float64(esSum) * MoneyUnit / float64(p.KES), float64(sum) * MoneyUnit / float64(p.S)
}

// Resize sizes out's slices for the plan (reusing their arrays when large
// enough) and sets Backend and Scenarios.
func (p *Plan) Resize(backend string, out *accel.RiskResult) {
	out.Backend = backend
	out.Scenarios = p.S
	out.Value = resize(out.Value, p.I)
	out.InstrumentLoss = resize(out.InstrumentLoss, p.I*p.S)
	out.InstrumentStress = resize(out.InstrumentStress, p.I*p.Points)
	out.AccountLoss = resize(out.AccountLoss, p.A*p.S)
	out.VaR = resize(out.VaR, p.A)
	out.ES = resize(out.ES, p.A)
	out.MeanLoss = resize(out.MeanLoss, p.A)
	if cap(out.Greeks) < p.I {
		out.Greeks = make([]accel.Greeks, p.I)
	}
	out.Greeks = out.Greeks[:p.I]
}

func resize(v []float64, n int) []float64 {
	if cap(v) < n {
		return make([]float64, n)
	}
	return v[:n]
}

// Decode converts the output buffers of a risk batch to out (see Resize):
// loss is REVAL's dst (Sizes().Loss), tails AGGTAIL's (Sizes().Tails, with
// the account-loss matrix), greeks GREEKS' (Sizes().Greeks). Money is ×
// 2^-12 exactly; Value is V0 × 2^-32 × S; InstrumentStress the stress
// columns × their weight; ES = ESsum/kES and MeanLoss = Sum/S in float64;
// Greeks per contract via fxp.InstrumentParams.AccelGreeks.
func (p *Plan) Decode(backend string, loss, tails, greeks []byte, out *accel.RiskResult) error {
	sz := p.Sizes()
	switch {
	case len(loss) < sz.Loss:
		return short("loss buffer", len(loss), sz.Loss)
	case len(tails) < sz.Tails:
		return short("tail buffer", len(tails), sz.Tails)
	case len(greeks) < sz.Greeks:
		return short("Greeks buffer", len(greeks), sz.Greeks)
	}
	p.Resize(backend, out)
	v0b := v0Bytes(p.I)
	for i, ip := range p.Ins {
		out.Value[i] = p.ValueFloat(i, int64(le.Uint64(loss[8*i:])))
		out.Greeks[i] = ip.AccelGreeks(getGreeks(greeks[GreeksRecordBytes*i:]))
		row := loss[v0b+8*p.Sp*i:]
		il := out.InstrumentLoss[i*p.S : (i+1)*p.S]
		for c := range il {
			il[c] = LossFloat(int64(le.Uint64(row[8*c:])))
		}
		st := out.InstrumentStress[i*p.Points : (i+1)*p.Points]
		for k := range st {
			st[k] = p.StressFloat(i, k, int64(le.Uint64(row[8*(p.S+k):])))
		}
	}
	tb := tailBytes(p.A)
	for a := range p.A {
		r := tails[TailRecordBytes*a:]
		out.VaR[a], out.ES[a], out.MeanLoss[a] = p.TailFloat(int64(le.Uint64(r)), int64(le.Uint64(r[8:])), int64(le.Uint64(r[16:])))
		row := tails[tb+8*p.Sp*a:]
		al := out.AccountLoss[a*p.S : (a+1)*p.S]
		for c := range al {
			al[c] = LossFloat(int64(le.Uint64(row[8*c:])))
		}
	}
	return nil
}

// Buffers are a risk batch's buffers, sized by Sizes.
type Buffers struct {
	ScenGenSrc, Scenarios, RevalSrc, Loss, AggTailSrc, Tails, GreeksSrc, Greeks []byte
}

// NewBuffers allocates the plan's buffers.
func (p *Plan) NewBuffers() *Buffers {
	sz := p.Sizes()
	return &Buffers{
		ScenGenSrc: make([]byte, sz.ScenGenSrc), Scenarios: make([]byte, sz.Scenarios),
		RevalSrc: make([]byte, sz.RevalSrc), Loss: make([]byte, sz.Loss),
		AggTailSrc: make([]byte, sz.AggTailSrc), Tails: make([]byte, sz.Tails),
		GreeksSrc: make([]byte, sz.GreeksSrc), Greeks: make([]byte, sz.Greeks),
	}
}

// Encode writes every input of the batch into b: the four sources and the
// host's columns of the scenario buffer.
func (p *Plan) Encode(b *Buffers) error {
	for _, err := range []error{
		p.EncodeScenGen(b.ScenGenSrc), p.FillScenarios(b.Scenarios), p.EncodeReval(b.RevalSrc),
		p.EncodeAggTail(b.AggTailSrc), p.EncodeGreeks(b.GreeksSrc),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// Execute runs the batch the way the device does, on the calling
// goroutine: it encodes the inputs into b (nil: freshly allocated buffers),
// executes SCENGEN, REVAL, AGGTAIL and GREEKS over them and decodes the
// outputs into out under the name backend. A non-zero status is an error
// wrapping ErrStatus and naming the operation.
func (p *Plan) Execute(backend string, b *Buffers, out *accel.RiskResult) error {
	if b == nil {
		b = p.NewBuffers()
	}
	if err := p.Encode(b); err != nil {
		return err
	}
	type op struct {
		code uint16
		run  func() (int, uint16)
		want int
	}
	sz := p.Sizes()
	mats := 4 * p.U * p.Sp
	if p.Scen.VolShocks() {
		mats *= 2
	}
	for _, o := range []op{
		{regs.OpScengen, func() (int, uint16) { return ExecScenGen(b.ScenGenSrc, b.Scenarios) }, mats},
		{regs.OpReval, func() (int, uint16) { return ExecReval(b.RevalSrc, b.Scenarios, b.Loss) }, sz.Loss},
		{regs.OpAggtail, func() (int, uint16) {
			return ExecAggTail(b.AggTailSrc, b.Loss[v0Bytes(p.I):], b.Tails)
		}, sz.Tails},
		{regs.OpGreeks, func() (int, uint16) { return ExecGreeks(b.GreeksSrc, b.Greeks) }, sz.Greeks},
	} {
		n, st := o.run()
		if st != StatusOK || n != o.want {
			return fmt.Errorf("%w: %s: status %d (%s), %d bytes out (want %d)", ErrStatus, regs.OpcodeName(o.code), st, regs.ErrorName(st), n, o.want)
		}
	}
	return p.Decode(backend, b.Loss, b.Tails, b.Greeks, out)
}
