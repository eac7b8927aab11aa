package tail

import (
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

// topSorted leaves the kmax largest values of a, in descending order, in
// a[:kmax] (len(a) >= kmax). Values that arrive nearly sorted, as post-trade
// candidates of small orders do, are finished by a budgeted insertion sort;
// otherwise the top kmax are selected first when there are many, then
// sorted.
func topSorted(a []float64, kmax int) {
	if len(a) <= 2*kmax+64 {
		if insertionDesc(a, 12*len(a)) {
			return
		}
		if len(a) <= kmax+smallSort {
			sortDesc(a)
			return
		}
	}
	selectTop(a, kmax)
	sortDesc(a[:kmax])
}
