package loadgen

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/ballast-risk/ballast/engine/sbe"
)

// Bounds on the order mix.
const (
	// SpecsMax bounds the (account, instrument, price) triples of a mix.
	SpecsMax = 1 << 16
	// QtyMax bounds an order's quantity (the engine's 2^40).
	QtyMax = 1 << 40
)

// ErrMix reports an invalid order mix.
var ErrMix = errors.New("loadgen: invalid order mix")

// OrderSpec is one (account, instrument, price) the generator draws from.
// Price is the limit in 1/10,000 (0: at the mark).
type OrderSpec struct {
	Account    uint64 `json:"account"`
	Instrument uint32 `json:"instrument"`
	Price      int64  `json:"price"`
}

// Mix is the order population: specs drawn uniformly, a side drawn
// uniformly, and a quantity log-uniform in [QtyMin, QtyMax], so small orders
// (accepted) and large ones (rejected for margin) both occur.
type Mix struct {
	Specs  []OrderSpec `json:"specs"`
	QtyMin int64       `json:"qty_min"`
	QtyMax int64       `json:"qty_max"`
}

// Validate reports whether m can drive a generator.
func (m *Mix) Validate() error {
	switch {
	case len(m.Specs) == 0 || len(m.Specs) > SpecsMax:
		return fmt.Errorf("%w: %d specs (want 1 to %d)", ErrMix, len(m.Specs), SpecsMax)
	case m.QtyMin < 1 || m.QtyMax < m.QtyMin || m.QtyMax > QtyMax:
		return fmt.Errorf("%w: qty range [%d, %d] (want 1 <= min <= max <= 2^40)", ErrMix, m.QtyMin, m.QtyMax)
	}
	for i, s := range m.Specs {
		if s.Price < 0 {
			return fmt.Errorf("%w: spec %d: negative price %d", ErrMix, i, s.Price)
		}
	}
	return nil
}

// Order is one generated order.
type Order struct {
	Account    uint64
	Instrument uint32
	Side       sbe.Side
	Qty        int64
	// Price is the limit in 1/10,000 (0: at the mark).
	Price int64
}

// splitMix64 advances *s and returns the next output of SplitMix64.
func splitMix64(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// uniform returns a value in [0, n) from r (n > 0), by Lemire's
// multiply-shift (bias below 2^-32 for the n used here).
func uniform(r uint64, n uint64) uint64 {
	hi, _ := bits.Mul64(r, n)
	return hi
}

// Generator draws orders deterministically from a Mix: the same mix and seed
// give the same sequence on every platform. It is not safe for concurrent
// use.
type Generator struct {
	specs  []OrderSpec
	qtyMin int64
	qtyMax int64
	// levels is the number of doublings from qtyMin that stay within
	// qtyMax, plus one.
	levels uint64
	state  uint64
}

// NewGenerator returns a generator over m seeded with seed.
func NewGenerator(m Mix, seed uint64) (*Generator, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	levels := uint64(1)
	for q := m.QtyMin; q <= m.QtyMax/2; q *= 2 {
		levels++
	}
	return &Generator{specs: append([]OrderSpec(nil), m.Specs...), qtyMin: m.QtyMin, qtyMax: m.QtyMax,
		levels: levels, state: seed}, nil
}

// Next fills o with the next order.
func (g *Generator) Next(o *Order) {
	r := splitMix64(&g.state)
	s := &g.specs[uniform(r, uint64(len(g.specs)))]
	o.Account, o.Instrument, o.Price = s.Account, s.Instrument, s.Price
	r = splitMix64(&g.state)
	o.Side = sbe.SideBuy
	if r&1 == 1 {
		o.Side = sbe.SideSell
	}
	// Log-uniform quantity: a doubling level, then uniform inside it.
	base := g.qtyMin << uniform(r, g.levels)
	span := min(base, g.qtyMax-base+1)
	o.Qty = base + int64(uniform(splitMix64(&g.state), uint64(span)))
}
