package tail

import (
	"math"
	"math/bits"
)

// Exact summation of float64 values with a fixed-point long accumulator
// (Kulisch). Every finite float64 is an integer multiple of 2^-1074, the
// smallest subnormal, so a sum of them is an integer multiple of it too. The
// accumulator holds that integer in base 2^32: word i carries the digits of
// weight 2^(32·i−1074). Words are int64 and carries are resolved lazily:
// an addition changes a word by less than 2^33 in magnitude (a digit below
// 2^32, or two where a run of values is flushed, see addRun), so
// sumCountMax additions fit before a normalisation is due. Adding is
// therefore exact and order independent, and the final conversion rounds
// the exact sum once, to nearest with ties to even. Adding a value touches
// three to four words; the touched range is tracked, so that normalising
// and clearing cost only that range.

const (
	// sumWords bounds the accumulator: 32·sumWords = 2240 bits hold any
	// sum of magnitude below 2^1100 (with the sign), far beyond the
	// ScenariosMax·2^1024 a loss vector can reach.
	sumWords = 70
	// sumCountMax is the number of additions between two normalisations:
	// each changes a word by less than 2^33, so the words stay below
	// 2^62 + 2^32 in magnitude.
	sumCountMax = 1 << 29
	// sumDigitMask selects the low 32-bit digit of a word.
	sumDigitMask = 1<<32 - 1
)

// exactSum is the long accumulator. Words outside [lo, hi] are zero; the
// range is empty (lo > hi) after reset. Infinities are counted apart, by
// sign. The zero value must be reset before use.
type exactSum struct {
	w      [sumWords]int64
	lo, hi int
	adds   int // additions since the last normalisation
	inf    [2]int
}

// reset empties the accumulator.
func (s *exactSum) reset() {
	if s.lo <= s.hi {
		clear(s.w[max(s.lo, 0) : s.hi+1])
	}
	s.lo, s.hi = sumWords, -1
	s.adds = 0
	s.inf = [2]int{}
}

// sub subtracts x exactly (an infinity that was added is taken back).
// x must not be NaN.
func (s *exactSum) sub(x float64) {
	b := math.Float64bits(x)
	if b&^(1<<63) >= 0x7ff<<52 {
		s.inf[b>>63]--
		return
	}
	s.addBits(b ^ 1<<63)
}

// addSlice adds every value of xs exactly (none NaN). Consecutive values
// of similar magnitude are summed as integers in a register and stored
// once per run (see addRun), so that the additions neither split values
// into digits nor wait on one another through memory.
func (s *exactSum) addSlice(xs []float64) {
	for len(xs) > 0 {
		if s.adds >= sumCountMax {
			s.normalise()
		}
		k := min(len(xs), sumCountMax-s.adds)
		s.adds += k
		s.addRun(xs[:k])
		xs = xs[k:]
	}
}

const (
	// runSpan is the half-width, in binary exponents, of the window of a
	// run in addRun: every value of a run is exactly an integer below 2^63
	// once scaled to the run's base.
	runSpan = 5
	// runBaseMin and runBaseMax bound a run's base (a biased exponent),
	// so that its scale factor 2^(1075−base) is a normal float64 and the
	// window stays clear of the infinities and the subnormals.
	runBaseMin = 53
	runBaseMax = 0x7fe - 2*runSpan
)

// addRun is addSlice for at most sumCountMax−s.adds values, already
// counted in s.adds. A run of values whose biased exponents lie in
// [base, base+2·runSpan] is scaled by 2^(1075−base), exactly, to integers
// below 2^63 in magnitude (significands below 2^53 shifted left by at most
// 2·runSpan bits) and converted exactly; each is split into its high and
// low 32 bits (v = hi·2^32 + lo, lo >= 0, by an arithmetic shift), which
// are summed apart in two registers without carries: fewer than 2^30
// values keep both below 2^62 in magnitude. A run ends when a value falls
// outside its window, and its two sums are added to the words. Zeros,
// subnormals, the smallest normals and the infinities take addBits.
func (s *exactSum) addRun(xs []float64) {
	s.sumRuns(xs, nil, 0, 0, false)
}

// sumRuns is the loop of addRun and addBracket: with bracket set it also
// copies the values of xs in [lo, hi] to the front of dst and counts them
// (c) and those above hi (g). The flag is the same for every value, so its
// test is always predicted; one loop keeps the run arithmetic in registers
// for both callers.
func (s *exactSum) sumRuns(xs, dst []float64, lo, hi float64, bracket bool) (c, g int) {
	const noRun = -2*runSpan - 1 // outside every window: e − noRun > 2·runSpan
	base := noRun
	var scale float64
	var sumHi, sumLo int64
	if bracket {
		dst = dst[:len(xs)]
	}
	for _, x := range xs {
		if bracket {
			dst[c] = x
			c += b2i(x >= lo) & b2i(x <= hi)
			g += b2i(x > hi)
		}
		b := math.Float64bits(x)
		e := int(b>>52) & 0x7ff
		if uint(e-base) <= 2*runSpan {
			v := int64(x * scale)
			sumHi += v >> 32
			sumLo += v & sumDigitMask
			continue
		}
		if base != noRun {
			s.flushRun(base, sumHi, sumLo)
			base, sumHi, sumLo = noRun, 0, 0
		}
		nb := min(e-runSpan, runBaseMax)
		if nb < runBaseMin || e == 0x7ff {
			s.addBits(b)
			s.adds-- // already counted by the caller
			continue
		}
		base = nb
		scale = math.Float64frombits(uint64(2*1023+52-base) << 52) // 2^(1075−base)
		v := int64(x * scale)
		sumHi += v >> 32
		sumLo += v & sumDigitMask
	}
	if base != noRun {
		s.flushRun(base, sumHi, sumLo)
	}
	return c, g
}

// flushRun adds sumHi·2^32 + sumLo, in units of 2^(base−1075) =
// 2^(base−1)·2^-1074, to the words.
func (s *exactSum) flushRun(base int, sumHi, sumLo int64) {
	s.addInt(sumLo, base-1)
	s.addInt(sumHi, base-1+32)
}

// addInt adds q·2^p·2^-1074 (|q| < 2^63, p >= 0) to the words: the
// magnitude of q shifted to a digit boundary spans three digits below
// 2^32.
func (s *exactSum) addInt(q int64, p int) {
	neg := q >> 63
	m := uint64((q ^ neg) - neg)
	i, sh := p>>5, uint(p&31)
	lo, hi := m<<sh, m>>1>>(63-sh)
	w := s.w[i : i+3 : i+3]
	w[0] += (int64(lo&sumDigitMask) ^ neg) - neg
	w[1] += (int64(lo>>32) ^ neg) - neg
	w[2] += (int64(hi) ^ neg) - neg
	s.lo = min(s.lo, i)
	s.hi = max(s.hi, i+2)
}

// addN adds x exactly c times (0 <= c <= sumCountMax): the ties at the
// KES-th largest value. x must not be NaN.
func (s *exactSum) addN(x float64, c int) {
	if c < 0 || c > sumCountMax {
		panic("tail: exactSum.addN count out of range")
	}
	b := math.Float64bits(x)
	if b&^(1<<63) >= 0x7ff<<52 {
		s.inf[b>>63] += c
		return
	}
	if b<<1 == 0 || c == 0 {
		return // ±0
	}
	if s.adds > sumCountMax-c {
		s.normalise()
	}
	s.adds += c
	i, d0, d1, d2 := digits(b)
	w := s.w[i : i+3 : i+3]
	w[0] += d0 * int64(c)
	w[1] += d1 * int64(c)
	w[2] += d2 * int64(c)
	s.lo = min(s.lo, i)
	s.hi = max(s.hi, i+2)
}

// addBits adds the float64 whose bits are b.
func (s *exactSum) addBits(b uint64) {
	if b&^(1<<63) >= 0x7ff<<52 {
		s.inf[b>>63]++ // NaN is excluded by the callers
		return
	}
	if b<<1 == 0 {
		return // ±0
	}
	if s.adds >= sumCountMax {
		s.normalise()
	}
	s.adds++
	i, d0, d1, d2 := digits(b)
	w := s.w[i : i+3 : i+3]
	w[0] += d0
	w[1] += d1
	w[2] += d2
	s.lo = min(s.lo, i)
	s.hi = max(s.hi, i+2)
}

// digits splits the finite non-zero float64 with bits b into the signed
// digits d0, d1, d2 (|d| < 2^32) it adds to words i, i+1, i+2. Its value is
// m·2^(e−1074) with e the biased exponent less one (0 for subnormals) and
// m the significand with its implicit bit, below 2^53; m·2^(e mod 32) spans
// at most 85 bits.
func digits(b uint64) (i int, d0, d1, d2 int64) {
	e := int(b>>52) & 0x7ff
	m := b&(1<<52-1) | uint64(min(e, 1))<<52
	e = max(e, 1) - 1
	sh := uint(e & 31)
	lo, hi := m<<sh, m>>(64-sh) // hi = 0 for sh = 0
	neg := -int64(b >> 63)
	return e >> 5, (int64(lo&sumDigitMask) ^ neg) - neg, (int64(lo>>32) ^ neg) - neg, (int64(hi) ^ neg) - neg
}

// normalise resolves the carries: afterwards every word in [lo, hi) holds
// a digit in [0, 2^32) and word hi a signed value in [−2^31, 2^31).
func (s *exactSum) normalise() {
	s.adds = 0
	if s.lo > s.hi {
		return
	}
	var carry int64
	for i := s.lo; i < s.hi; i++ {
		v := s.w[i] + carry
		s.w[i] = v & sumDigitMask
		carry = v >> 32
	}
	v := s.w[s.hi] + carry
	for v < -1<<31 || v >= 1<<31 {
		s.w[s.hi] = v & sumDigitMask
		s.hi++
		v = v >> 32 // word hi+1 was zero
	}
	s.w[s.hi] = v
}

// result returns the exact sum rounded to the nearest float64 (ties to
// even; ±Inf beyond the range), +0 for an exact zero, and empties the
// accumulator. With infinities of both signs it returns NaN, of one sign
// that infinity.
func (s *exactSum) result() float64 {
	pinf, ninf := s.inf[0] > 0, s.inf[1] > 0
	if pinf || ninf {
		s.reset()
		switch {
		case pinf && ninf:
			return math.NaN()
		case pinf:
			return math.Inf(1)
		}
		return math.Inf(-1)
	}
	s.normalise()
	if s.lo > s.hi {
		return 0
	}
	var sign uint64
	if s.w[s.hi] < 0 {
		sign = 1 << 63
		for i := s.lo; i <= s.hi; i++ {
			s.w[i] = -s.w[i]
		}
		s.normalise()
	}
	h := s.hi
	for h >= s.lo && s.w[h] == 0 {
		h--
	}
	if h < s.lo {
		s.reset()
		return 0
	}
	// M, the magnitude in units of 2^-1074, has L bits; y holds its
	// leading 64 bits (zero-filled when L < 64).
	nb := uint(bits.Len64(uint64(s.w[h])))
	l := 32*h + int(nb)
	w1, w2 := s.word(h-1), s.word(h-2)
	y := (uint64(s.w[h])<<32|w1)<<(32-nb) | w2>>nb
	sticky := w2&(1<<nb-1) != 0
	for i := s.lo; i < h-2 && !sticky; i++ {
		sticky = s.w[i] != 0
	}
	s.reset()
	// For M < 2^53 the bit pattern M is the float64 M·2^-1074 (subnormal
	// below 2^52, of exponent field 1 from 2^52). For L > 53 the leading
	// 53 bits sig, in [2^52, 2^53), scaled by 2^(L−53) have the pattern
	// (L−53)<<52 + sig; rounding up to 2^53 carries into the exponent, and
	// an exponent field of 0x7ff with a zero fraction is +Inf.
	if l <= 53 {
		return math.Float64frombits(sign | y>>(64-l))
	}
	sig := y >> 11
	rest := y & 0x7ff
	if rest > 0x400 || rest == 0x400 && (sticky || sig&1 == 1) {
		sig++
	}
	f := uint64(l-53)<<52 + sig
	if f >= 0x7ff<<52 {
		f = 0x7ff << 52
	}
	return math.Float64frombits(sign | f)
}

// word returns digit i as an unsigned value, 0 below the touched range.
func (s *exactSum) word(i int) uint64 {
	if i < s.lo {
		return 0
	}
	return uint64(s.w[i])
}

// addBracket is addSlice fused with compactBracket: it adds every value of
// xs (none NaN, len(xs) <= sumCountMax) exactly and, in the same pass,
// copies the values in [lo, hi] to the front of dst (len(dst) >= len(xs))
// and returns their count c and the count g of those above hi. One pass
// over the candidates then serves the sum and the first round of a
// selection.
func (s *exactSum) addBracket(xs, dst []float64, lo, hi float64) (c, g int) {
	if s.adds > sumCountMax-len(xs) {
		s.normalise()
	}
	s.adds += len(xs)
	return s.sumRuns(xs, dst, lo, hi, true)
}
