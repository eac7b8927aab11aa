package jitter

import (
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
)

// tail is a multiset of gap lengths that answers, for any delay x, the
// excess S(x) = Σ max(0, g − x) over its gaps g: the time during which a
// request arriving then would wait longer than x.
type tail struct {
	vals []int64 // distinct gap lengths (> 0), descending
	cumN []int64 // cumN[i]: the number of gaps of length ≥ vals[i]
	cumS []int64 // cumS[i]: their total length, saturating at MaxInt64
	// saturated says some cumS saturated; excess is then MaxInt64 at and
	// beyond it, and a floor on such a segment its top (errs high; only
	// adversarial inputs get there: 292 years of gaps).
	saturated bool
}

// tailOf returns the tail of gaps; lengths ≤ 0 are ignored. It does not
// modify gaps.
func tailOf(gaps []int64) tail {
	s := make([]int64, 0, len(gaps))
	for _, g := range gaps {
		if g > 0 {
			s = append(s, g)
		}
	}
	slices.Sort(s)
	slices.Reverse(s)
	var t tail
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		t.add(s[i], int64(j-i))
		i = j
	}
	return t
}

// add appends n gaps of length v, which must be shorter than every length
// already added.
func (t *tail) add(v, n int64) {
	if v <= 0 || n <= 0 {
		return
	}
	if k := len(t.vals); k > 0 && v >= t.vals[k-1] {
		panic("jitter: tail lengths added out of order")
	}
	var cn, cs int64
	if k := len(t.vals); k > 0 {
		cn, cs = t.cumN[k-1], t.cumS[k-1]
	}
	cn = satAdd(cn, n)
	hi, lo := bits.Mul64(uint64(v), uint64(n))
	if hi != 0 || lo > math.MaxInt64 {
		cs = math.MaxInt64
	} else {
		cs = satAdd(cs, int64(lo))
	}
	if cs == math.MaxInt64 || cn == math.MaxInt64 {
		t.saturated = true
	}
	t.vals = append(t.vals, v)
	t.cumN = append(t.cumN, cn)
	t.cumS = append(t.cumS, cs)
}

// maxGap is the longest gap (0: none).
func (t *tail) maxGap() int64 {
	if len(t.vals) == 0 {
		return 0
	}
	return t.vals[0]
}

// excessAbove is S(vals[j]) for j < len(vals), and S(0) for j == len(vals):
// the excess over the j longest distinct lengths.
func (t *tail) excessAbove(j int) int64 {
	if j == 0 {
		return 0
	}
	x := int64(0)
	if j < len(t.vals) {
		x = t.vals[j]
	}
	if t.cumS[j-1] == math.MaxInt64 {
		return math.MaxInt64
	}
	// Every gap counted is longer than x, so cumN·x < cumS: no overflow.
	return t.cumS[j-1] - t.cumN[j-1]*x
}

// excess returns S(x) = Σ max(0, g − x); x < 0 counts as 0.
func (t *tail) excess(x int64) int64 {
	x = max(x, 0)
	// k: the number of distinct lengths longer than x.
	k, _ := slices.BinarySearchFunc(t.vals, x, func(v, x int64) int {
		if v > x {
			return -1
		}
		return 1
	})
	if k == 0 {
		return 0
	}
	if t.cumS[k-1] == math.MaxInt64 {
		return math.MaxInt64
	}
	return t.cumS[k-1] - t.cumN[k-1]*x
}

// floor returns the smallest x ≥ 0 with S(x) ≤ budget (budget ≥ 0).
func (t *tail) floor(budget int64) int64 {
	n := len(t.vals)
	if t.excessAbove(n) <= budget {
		return 0
	}
	// S is continuous, piecewise linear and non-increasing; S(vals[j]) grows
	// with j. Find the segment (vals[i+1], vals[i]] (vals[n] = 0) where S
	// crosses the budget: the smallest i with S(vals[i+1]) > budget. i < n
	// since S(0) > budget.
	lo := 0
	for hi := n; lo < hi; {
		m := int(uint(lo+hi) >> 1)
		if t.excessAbove(m+1) > budget {
			hi = m
		} else {
			lo = m + 1
		}
	}
	i := lo
	if t.cumS[i] == math.MaxInt64 {
		return t.vals[i] // saturated sums: the segment's top, where S ≤ budget
	}
	// On that segment S(x) = cumS[i] − cumN[i]·x; the smallest integer x with
	// S(x) ≤ budget is ⌈(cumS[i] − budget) / cumN[i]⌉.
	d, k := t.cumS[i]-budget, t.cumN[i]
	q := d / k
	if d%k != 0 {
		q++
	}
	return q
}

// probRat returns p as the fraction num/den of its shortest decimal
// representation (0.29 is 29/100, not the binary float just below it),
// clamped to [0, 1]; NaN counts as 0.
func probRat(p float64) *big.Rat {
	switch {
	case !(p > 0):
		return new(big.Rat)
	case p >= 1:
		return big.NewRat(1, 1)
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(p, 'g', -1, 64))
	if !ok {
		panic("jitter: unparsable float " + strconv.FormatFloat(p, 'g', -1, 64))
	}
	return r
}

// budgetOf returns ⌊p·totalNs⌋ exactly, p taken as its shortest decimal
// (0 when p ≤ 0 or NaN, or totalNs ≤ 0; totalNs when p ≥ 1).
func budgetOf(p float64, totalNs int64) int64 {
	if totalNs <= 0 {
		return 0
	}
	r := probRat(p)
	n := new(big.Int).Mul(r.Num(), big.NewInt(totalNs))
	return n.Quo(n, r.Denom()).Int64() // non-negative: truncation is the floor
}

// FloorOf returns the latency floor at probability p of a core that lost
// the given gaps (ns) over totalNs of measurement: the smallest integer
// delay x ≥ 0 (ns) such that a request arriving at a uniformly random
// instant waits more than x with probability at most p, that is
//
//	Σ_gaps max(0, g − x) ≤ p · totalNs
//
// computed exactly, p taken as its shortest decimal (0.29 is 29/100).
// p = 0.01 gives the p99 floor, 0.001 the p99.9 floor. Gaps ≤ 0 are ignored;
// with no gaps, totalNs ≤ 0 or p ≥ 1 the floor is 0; with p ≤ 0 (or NaN) it
// is the longest gap.
func FloorOf(gapsNs []int64, totalNs int64, p float64) int64 {
	t := tailOf(gapsNs)
	if totalNs <= 0 {
		return 0
	}
	return t.floor(budgetOf(p, totalNs))
}

// DelayProb returns P(delay > xNs) = Σ_gaps max(0, g − x) / totalNs for a
// request arriving at a uniformly random instant on a core that lost the
// given gaps over totalNs (0 when totalNs ≤ 0; at most 1).
func DelayProb(gapsNs []int64, totalNs, xNs int64) float64 {
	t := tailOf(gapsNs)
	return t.prob(xNs, totalNs)
}

// prob is S(x)/totalNs, in [0, 1].
func (t *tail) prob(x, totalNs int64) float64 {
	if totalNs <= 0 {
		return 0
	}
	return min(1, float64(t.excess(x))/float64(totalNs))
}

// CombinedFloorOf returns the latency floor at probability p of a path that
// needs every one of several cores at once (a client core and a server
// core): the smallest integer delay x ≥ 0 (ns) with
//
//	1 − Π_i (1 − P_i(x)) ≤ p,   P_i(x) = Σ_{gaps of core i} max(0, g − x) / totalNs[i]
//
// the probability that at least one core is away longer than x, the cores'
// gaps taken as independent. gapsNs[i] and totalNs[i] are core i's gaps and
// measurement time (extra entries of either are ignored). With one core it
// is FloorOf exactly.
func CombinedFloorOf(gapsNs [][]int64, totalNs []int64, p float64) int64 {
	n := min(len(gapsNs), len(totalNs))
	tails := make([]tail, n)
	for i := range n {
		tails[i] = tailOf(gapsNs[i])
	}
	return combinedFloor(tails, totalNs[:n], p)
}

// combinedFloor is CombinedFloorOf over tails, in exact arithmetic: with
// p = num/den and S_c the excess of core c, P_any(x) ≤ p is
//
//	den · Π_c (T_c − S_c(x)) ≥ (den − num) · Π_c T_c
//
// (cores with T_c ≤ 0 left out), so one core gives FloorOf's answer.
func combinedFloor(tails []tail, totalNs []int64, p float64) int64 {
	r := probRat(p)
	num, den := r.Num(), r.Denom()
	rhs := new(big.Int).Sub(den, num)
	var hi int64
	for i := range tails {
		if totalNs[i] > 0 {
			rhs.Mul(rhs, big.NewInt(totalNs[i]))
			hi = max(hi, tails[i].maxGap())
		}
	}
	lhs, f := new(big.Int), new(big.Int)
	ok := func(x int64) bool {
		lhs.Set(den)
		for i := range tails {
			if totalNs[i] > 0 {
				// S_c(x) ≤ T_c for a real measurement; clamp for any input.
				lhs.Mul(lhs, f.SetInt64(max(0, totalNs[i]-tails[i].excess(x))))
			}
		}
		return lhs.Cmp(rhs) >= 0
	}
	// ok is monotone in x and holds at the longest gap (every S_c is 0).
	var lo int64
	for lo < hi {
		m := lo + (hi-lo)/2
		if ok(m) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
