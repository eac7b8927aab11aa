package tail

import (
	"math"
	"math/bits"
)

// Sorting by order-preserving integer keys. A float64 maps to a uint64 key
// whose unsigned order is the descending order of the values, so sorting
// keys in ascending order sorts values in descending order; −0 and +0 map
// to the same key. Keys are sorted by a most-significant-digit bucket sort
// over the range the keys actually span, which costs a few linear passes
// instead of a comparison sort's n·log n comparisons, most of them
// mispredicted branches.

// keyIdx is a sort key and the scenario index it belongs to.
type keyIdx struct {
	k uint64
	i int32
}

const (
	// radixBitsMax bounds the bucket count of one pass (2^11).
	radixBitsMax = 11
	// radixBitsMin is the fewest bits of key range one pass resolves.
	radixBitsMin = 5
)

// radixCounts is the bucket-count memory of sortKeys.
type radixCounts [1<<radixBitsMax + 1]uint32

// descKey returns the key of x: x > y implies descKey(x) < descKey(y), and
// x == y implies descKey(x) == descKey(y). NaN maps above −Inf.
func descKey(x float64) uint64 {
	u := math.Float64bits(x + 0) // x + 0 turns −0 into +0
	// Positive values: flip all bits but the sign; negative: keep them.
	return u ^ (^uint64(int64(u)>>63) >> 1)
}

// keyRange returns the smallest and largest key of a (len(a) > 0).
func keyRange(a []keyIdx) (lo, hi uint64) {
	lo, hi = a[0].k, a[0].k
	for _, e := range a[1:] {
		lo = min(lo, e.k)
		hi = max(hi, e.k)
	}
	return lo, hi
}

// sortKeys sorts a by key, stably (equal keys keep their order), at least
// as far as needed: the result holds the need smallest keys in order
// first, then the others in no particular order. Every key of a must lie
// in [lo, hi]. tmp must be as long as a; the result is a or tmp, and the
// other is clobbered. Each pass narrows the key range of a bucket by at
// least 2^radixBitsMin, so the recursion is at most 64/radixBitsMin deep.
func sortKeys(a, tmp []keyIdx, need int, lo, hi uint64, cnt *radixCounts) []keyIdx {
	n := len(a)
	if n <= smallSort {
		insertionKeys(a)
		return a
	}
	if lo == hi {
		return a // all equal: sorted, stably
	}
	// About one bucket per key, between 2^radixBitsMin and 2^radixBitsMax.
	width := min(radixBitsMax, max(radixBitsMin, bits.Len(uint(n))-1))
	shift := uint(max(0, bits.Len64(hi-lo)-width))
	nb := int((hi-lo)>>shift) + 1
	c := cnt[:nb+1]
	clear(c)
	for _, e := range a {
		c[(e.k-lo)>>shift+1]++
	}
	// Bucket starts; find the bucket that holds rank need-1 and whether
	// a bucket up to it is too large for the final insertion sort.
	big := false
	last := 0
	for b := 1; b <= nb; b++ {
		big = big || c[b] > smallSort
		c[b] += c[b-1]
		if int(c[b]) >= need {
			last = b - 1
			break
		}
	}
	for b := last + 2; b < nb; b++ {
		c[b] += c[b-1]
	}
	end := int(c[last+1])
	tmp = tmp[:n]
	for _, e := range a {
		b := (e.k - lo) >> shift
		tmp[c[b]] = e
		c[b]++
	}
	if !big {
		insertionKeys(tmp[:end])
		return tmp
	}
	// Sort the large buckets recursively; the insertion sort then finishes
	// the small ones (keys only move inside their bucket) and passes
	// quickly over the sorted large ones. The last bucket may be sorted
	// only in part: it is left out of the insertion sort if it is large.
	j := 0
	for j < need {
		b := (tmp[j].k - lo) >> shift
		e := j + 1
		for e < n && (tmp[e].k-lo)>>shift == b {
			e++
		}
		end = e
		if e-j > smallSort {
			blo, bhi := keyRange(tmp[j:e])
			if r := sortKeys(tmp[j:e], a[j:e], min(need-j, e-j), blo, bhi, cnt); &r[0] != &tmp[j] {
				copy(tmp[j:e], r)
			}
			end = j
		}
		j = e
	}
	insertionKeys(tmp[:end])
	return tmp
}

// insertionKeys sorts a by key by insertion, stably.
func insertionKeys(a []keyIdx) {
	for i := 1; i < len(a); i++ {
		e := a[i]
		j := i
		for j > 0 && a[j-1].k > e.k {
			a[j] = a[j-1]
			j--
		}
		a[j] = e
	}
}
