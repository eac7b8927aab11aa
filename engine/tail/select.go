package tail

import (
	"math"
	"math/bits"
	"slices"
)

// Selection and sorting of NaN-free float64 values in descending order.
// Only values are moved, so the order among equal values (and between −0 and
// +0) is unspecified; Result does not depend on it (see the package doc).

// smallSort is the length at and below which insertion sort is used.
const smallSort = 24

// selectTop rearranges a so that a[:k] holds its k largest values, in no
// particular order (introselect: quickselect with a median-of-three pivot
// and Hoare partitioning, falling back to a full sort after 2·log2(n)
// unproductive rounds, so the worst case is O(n log n)).
func selectTop(a []float64, k int) {
	if k <= 0 || k >= len(a) {
		return
	}
	lo, hi := 0, len(a)
	depth := 2 * bits.Len(uint(len(a)))
	for hi-lo > smallSort {
		if depth == 0 {
			sortDesc(a[lo:hi])
			return
		}
		depth--
		m := lo + partitionDesc(a[lo:hi])
		switch {
		case k < m:
			hi = m
		case k > m:
			lo = m
		default:
			return
		}
	}
	insertionDesc(a[lo:hi], -1)
}

// partitionDesc partitions a (len(a) >= 3) around the median of its first,
// middle and last values and returns m with 1 <= m < len(a) such that every
// value of a[:m] is >= every value of a[m:].
func partitionDesc(a []float64) int {
	n := len(a)
	mid := n / 2
	// Median of three into a[0].
	if a[mid] > a[0] {
		a[mid], a[0] = a[0], a[mid]
	}
	if a[n-1] > a[0] {
		a[n-1], a[0] = a[0], a[n-1]
	}
	if a[mid] > a[0] {
		a[mid], a[0] = a[0], a[mid]
	}
	// Now a[0] >= a[mid] and a[0] >= a[n-1]; take the larger of those two
	// as the pivot, which is the median of the three.
	if a[n-1] > a[mid] {
		a[n-1], a[mid] = a[mid], a[n-1]
	}
	a[0], a[mid] = a[mid], a[0]
	x := a[0]
	// Hoare partition with the pivot value at a[0]: the i scan stops at a
	// value <= x, the j scan at a value >= x (a[0] at the latest), so
	// neither leaves the slice; the returned split is in [1, n-1].
	i, j := -1, n
	for {
		for {
			i++
			if !(a[i] > x) {
				break
			}
		}
		for {
			j--
			if !(a[j] < x) {
				break
			}
		}
		if i >= j {
			return j + 1
		}
		a[i], a[j] = a[j], a[i]
	}
}

// insertionDesc sorts a in descending order by insertion, giving up once
// more than budget values have been moved (budget < 0: no limit). It
// reports whether a is sorted; on false, a is a permutation of its input.
func insertionDesc(a []float64, budget int) bool {
	moves := 0
	for i := 1; i < len(a); i++ {
		v := a[i]
		j := i
		for j > 0 && a[j-1] < v {
			a[j] = a[j-1]
			j--
		}
		a[j] = v
		if budget >= 0 {
			moves += i - j
			if moves > budget {
				return false
			}
		}
	}
	return true
}

// sortDesc sorts a in descending order.
func sortDesc(a []float64) {
	if len(a) <= smallSort {
		insertionDesc(a, -1)
		return
	}
	slices.Sort(a)
	slices.Reverse(a)
}

const (
	// kthSmall is the length at and below which kthLargest sorts.
	kthSmall = 32
	// kthSample is the sample size from which kthLargest picks its
	// pivots, and kthSpread how many sample ranks they lie from the
	// target's expected rank.
	kthSample = 24
	kthSpread = 3
	// kthNear is how many positions from k−1 kthPivots takes its pivots
	// in a nearly sorted range.
	kthNear = 8
)

// kthLargest returns the k-th largest value of a (1 <= k <= len(a), no
// NaN) without modifying a; tmp, at least twice as long as a, is clobbered.
//
// Each round brackets the expected rank of the target between two pivots
// taken from a sorted strided sample and, in one branch-free pass, copies
// the values inside the bracket to one half of tmp while it counts those
// above: usually the target is inside, and the next round reads that copy,
// a fraction of the values. Otherwise a second pass copies the side that
// holds it (the source is intact: the rounds alternate between the halves
// of tmp). Every round but a bracketing one that keeps every value
// strictly shrinks the range; after 2·log2(len(a))+4 rounds the rest is
// left to selectTop (introselect), so the worst case stays O(n log n).
func kthLargest(a []float64, k int, tmp []float64) float64 {
	n := len(a)
	bufs := [2][]float64{tmp[:n:n], tmp[n : 2*n : 2*n]}
	src := a
	rounds := 2*bits.Len(uint(n)) + 4
	for r := 0; len(src) > kthSmall; r++ {
		dst := bufs[r&1]
		if r == rounds {
			src = dst[:copy(dst, src)]
			selectTop(src, k)
			v := src[0]
			for _, x := range src[1:k] {
				v = min(v, x)
			}
			return v
		}
		hiP, loP := kthPivots(src, k)
		c, g := compactBracket(dst, src, loP, hiP)
		switch {
		case k > g && k <= g+c:
			if hiP == loP {
				return hiP
			}
			k -= g
			src = dst[:c]
		case k <= g:
			src = dst[:compactAbove(dst, src, hiP)]
		default:
			k -= g + c
			src = dst[:compactBelow(dst, src, loP)]
		}
	}
	var buf [kthSmall]float64
	s := buf[:copy(buf[:], src)]
	insertionDesc(s, -1)
	return s[k-1]
}

// kthPivots returns hiP >= loP from a (len(a) > kthSmall) that likely
// bracket its k-th largest value. Usually they come from a sorted strided
// sample, about kthSpread sample ranks above and below the expected sample
// rank of the target (±Inf where that rank lies beyond the sample). When
// the sample is already in descending order, a is taken to be nearly
// sorted, as the candidates of a small order are, and the values
// kthNear positions before and after k−1 are used: then the bracket is
// narrow. A bracket that misses costs a second pass, never a wrong result.
func kthPivots(a []float64, k int) (hiP, loP float64) {
	var smp [kthSample]float64
	m := len(a)
	for i := range smp {
		smp[i] = a[(2*i+1)*m/(2*kthSample)]
	}
	if insertionDesc(smp[:], 0) {
		hiP, loP = a[max(k-1-kthNear, 0)], a[min(k-1+kthNear, m-1)]
		return max(hiP, loP), min(hiP, loP)
	}
	insertionDesc(smp[:], -1)
	j := (2*k - 1) * kthSample / (2 * m) // expected sample rank, from 0
	hiP, loP = math.Inf(1), math.Inf(-1)
	if j-kthSpread >= 0 {
		hiP = smp[j-kthSpread]
	}
	if j+kthSpread < kthSample {
		loP = smp[j+kthSpread]
	}
	return hiP, loP
}

// compactBracket copies the values of src in [lo, hi] to the front of dst
// (len(dst) >= len(src)) and returns their count c, together with g, the
// number of values above hi.
func compactBracket(dst, src []float64, lo, hi float64) (c, g int) {
	dst = dst[:len(src)]
	for _, x := range src {
		dst[c] = x
		c += b2i(x >= lo) & b2i(x <= hi)
		g += b2i(x > hi)
	}
	return c, g
}

// b2i returns 1 for true and 0 for false; the compiler turns it into a
// flag move, not a branch.
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}

// compactAbove copies the values of src above t to the front of dst
// (len(dst) >= len(src); dst may be src) and returns their count.
func compactAbove(dst, src []float64, t float64) int {
	dst = dst[:len(src)]
	c := 0
	for _, x := range src {
		dst[c] = x
		if x > t {
			c++
		}
	}
	return c
}

// compactBelow copies the values of src below t to the front of dst
// (len(dst) >= len(src); dst may be src) and returns their count.
func compactBelow(dst, src []float64, t float64) int {
	dst = dst[:len(src)]
	c := 0
	for _, x := range src {
		dst[c] = x
		if x < t {
			c++
		}
	}
	return c
}
