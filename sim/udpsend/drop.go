package udpsend

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Dropper decides which packets of a stream are deliberately lost: those
// whose 0-based index is listed, and each other one with a fixed
// probability (seeded, so the same seed loses the same packets).
type Dropper struct {
	rate  float64
	list  []uint64 // sorted, unique, not yet reached
	idx   uint64
	rng   *rand.Rand
	count uint64
}

// NewDropper returns a Dropper losing packets listed in indices and, among
// the others, a fraction rate (0..1).
func NewDropper(rate float64, indices []uint64, seed uint64) (*Dropper, error) {
	if !(rate >= 0 && rate <= 1) {
		return nil, fmt.Errorf("%w: drop rate %v outside [0, 1]", ErrConfig, rate)
	}
	l := slices.Clone(indices)
	slices.Sort(l)
	return &Dropper{rate: rate, list: slices.Compact(l), rng: rand.New(rand.NewPCG(seed, seed^0x5bd1e995))}, nil
}

// Next reports whether the next packet is lost.
func (d *Dropper) Next() bool {
	i := d.idx
	d.idx++
	for len(d.list) > 0 && d.list[0] < i {
		d.list = d.list[1:]
	}
	drop := false
	if len(d.list) > 0 && d.list[0] == i {
		d.list = d.list[1:]
		drop = true
	} else if d.rate > 0 {
		drop = d.rng.Float64() < d.rate
	}
	if drop {
		d.count++
	}
	return drop
}

// Dropped returns the number of packets lost so far.
func (d *Dropper) Dropped() uint64 { return d.count }
