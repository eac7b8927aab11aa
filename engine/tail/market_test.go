package tail

import (
	"math"
	"math/rand/v2"
)

// market is a realistic test setting: n scenarios of one-day log-returns of
// 20 underlyings driven by one common Gaussian factor (correlation 0.5),
// 40 instruments (per underlying a linear one, long spot, and a convex one,
// a call's intrinsic value), and an account of 20 positions.
type market struct {
	n         int
	spec      Spec
	instr     []*Instrument
	positions []position
	acct      *Account
}

type position struct {
	in  *Instrument
	qty float64
}

const (
	marketUnderlyings = 20
	marketPositions   = 20
	marketRho         = 0.5
	marketHorizon     = 1.0 / 252
)

func newMarket(seed uint64, n int) *market {
	r := rand.New(rand.NewPCG(seed, 0x6d61726b6574))
	m := &market{n: n}
	var err error
	if m.spec, err = NewSpec(n, 0.975, 0.99); err != nil {
		panic(err)
	}
	x := make([][]float64, marketUnderlyings)
	spot := make([]float64, marketUnderlyings)
	for u := range x {
		x[u] = make([]float64, n)
		spot[u] = 50 + 450*r.Float64()
	}
	vol := make([]float64, marketUnderlyings)
	for u := range vol {
		vol[u] = 0.15 + 0.45*r.Float64()
	}
	for s := range n {
		f := r.NormFloat64()
		for u := range x {
			z := math.Sqrt(marketRho)*f + math.Sqrt(1-marketRho)*r.NormFloat64()
			sd := vol[u] * math.Sqrt(marketHorizon)
			x[u][s] = -sd*sd/2 + sd*z
		}
	}
	for u := range x {
		lin := make([]float64, n)
		call := make([]float64, n)
		k := spot[u] * (0.95 + 0.1*r.Float64())
		c0 := max(spot[u]-k, 0)
		for s := range n {
			st := spot[u] * math.Exp(x[u][s])
			lin[s] = -(st - spot[u])
			call[s] = -(max(st-k, 0) - c0)
		}
		for _, p := range [][]float64{lin, call} {
			in, err := NewInstrument(p)
			if err != nil {
				panic(err)
			}
			m.instr = append(m.instr, in)
		}
	}
	l := make([]float64, n)
	for range marketPositions {
		in := m.instr[r.IntN(len(m.instr))]
		qty := float64(100 + r.IntN(4900))
		if r.IntN(4) == 0 {
			qty = -qty
		}
		m.positions = append(m.positions, position{in, qty})
		for s := range l {
			l[s] = postLoss(l[s], qty, in.p[s])
		}
	}
	if m.acct, err = NewAccount(l, m.spec); err != nil {
		panic(err)
	}
	return m
}

// order returns an order on one of the account's instruments of frac times
// that position's size (whole units, at least 1), adding to or reducing the
// position at random.
func (m *market) order(r *rand.Rand, frac float64) (*Instrument, float64) {
	p := m.positions[r.IntN(len(m.positions))]
	q := max(1, math.Round(frac*math.Abs(p.qty)))
	if r.IntN(2) == 0 {
		q = -q
	}
	return p.in, q
}
