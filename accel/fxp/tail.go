package fxp

import (
	"fmt"
	"math/bits"
	"slices"
)

// tailSample is the size of the strided sample TailSums estimates its
// candidate threshold from.
const tailSample = 256

// TailSums returns the tail statistics of a loss vector (money units):
// varLoss is the kVaR-th largest loss, esSum the sum of the kES largest
// (ES = esSum/kES, divided on the host) and sum the sum of all losses (the
// mean's numerator) — engine/tail's definitions, DESIGN §5.1. Integer sums
// do not depend on the order of the additions and equal values are
// interchangeable, so any selection algorithm gives the same bits; the
// caller keeps the sums inside an int64 (CheckLossRange).
//
// scratch must hold at least len(losses) values. The work is one pass for
// the sum and a strided sample, one pass that copies the candidates at or
// above a threshold estimated from the sample (all values when the tail is
// more than 1/16 of the vector, or when the estimate proves too high), and
// a three-way quickselect among the candidates: O(n) expected, with a
// fallback to sorting the candidates if the selection degenerates. It
// allocates nothing. kVaR and kES outside 1..len(losses) or a short scratch
// are a programming error and panic.
func TailSums(losses []int64, kVaR, kES int, scratch []int64) (varLoss, esSum, sum int64) {
	n := len(losses)
	if kVaR < 1 || kVaR > n || kES < 1 || kES > n || len(scratch) < n {
		panic(fmt.Sprintf("fxp: TailSums: ranks VaR %d, ES %d for %d losses, scratch %d", kVaR, kES, n, len(scratch)))
	}
	for _, v := range losses {
		sum += v
	}
	kmax := max(kVaR, kES)
	c := candidates(losses, kmax, scratch)
	cand := scratch[:c]
	selectTop(cand, kES)
	for _, v := range cand[:kES] {
		esSum += v
	}
	if kVaR <= kES {
		selectTop(cand[:kES], kVaR)
		varLoss = cand[kVaR-1]
	} else {
		rest := cand[kES:]
		selectTop(rest, kVaR-kES)
		varLoss = rest[kVaR-kES-1]
	}
	return varLoss, esSum, sum
}

// candidates copies into dst a subset of losses holding its kmax largest
// values (as a multiset) and returns its size.
func candidates(losses []int64, kmax int, dst []int64) int {
	n := len(losses)
	if n < 8*tailSample || kmax*16 > n {
		return copy(dst, losses)
	}
	var smp [tailSample]int64
	stride := n / tailSample
	for i := range smp {
		smp[i] = losses[i*stride]
	}
	// Expected sample values above the kmax-th largest: m·kmax/n; go
	// about three standard deviations beyond.
	mean := tailSample * kmax / n
	r := min(tailSample, mean+3*isqrt(mean+1)+2)
	selectTop(smp[:], r)
	t := smp[r-1]
	c := 0
	for _, v := range losses {
		dst[c] = v
		if v >= t {
			c++
		}
	}
	if c < kmax {
		return copy(dst, losses)
	}
	return c
}

// isqrt returns floor(√x) for small non-negative x.
func isqrt(x int) int {
	r := 0
	for (r+1)*(r+1) <= x {
		r++
	}
	return r
}

// selectTop rearranges a so that a[:k] holds its k largest values and
// a[k-1] is the k-th largest (1 ≤ k ≤ len(a)): a three-way quickselect with
// a median-of-three pivot, falling back to a sort after 2·log2(n) rounds.
func selectTop(a []int64, k int) {
	lo, hi := 0, len(a) // the k-th largest lies in a[lo:hi]
	budget := 2 * bits.Len(uint(len(a)))
	for hi-lo > 16 {
		if budget == 0 {
			slices.SortFunc(a[lo:hi], func(x, y int64) int {
				switch {
				case x > y:
					return -1
				case x < y:
					return 1
				}
				return 0
			})
			return
		}
		budget--
		m := lo + (hi-lo)/2
		x, y, z := a[lo], a[m], a[hi-1]
		piv := max(min(x, y), min(max(x, y), z))
		// Three-way partition: > piv | == piv | < piv.
		gt, i, lt := lo, lo, hi
		for i < lt {
			switch v := a[i]; {
			case v > piv:
				a[gt], a[i] = v, a[gt]
				gt++
				i++
			case v < piv:
				lt--
				a[lt], a[i] = v, a[lt]
			default:
				i++
			}
		}
		switch {
		case k-1 < gt:
			hi = gt
		case k-1 >= lt:
			lo = lt
		default:
			return
		}
	}
	// Insertion sort, descending, of the small remaining range.
	for i := lo + 1; i < hi; i++ {
		v := a[i]
		j := i
		for j > lo && a[j-1] < v {
			a[j] = a[j-1]
			j--
		}
		a[j] = v
	}
}
