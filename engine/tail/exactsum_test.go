package tail

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// accSum adds xs with one accumulator (after a reset) and rounds, value by
// value (addBits) or by addSlice.
func accSum(s *exactSum, xs []float64, slice bool) float64 {
	s.reset()
	if slice {
		s.addSlice(xs)
		return s.result()
	}
	for _, x := range xs {
		s.addBits(math.Float64bits(x))
	}
	return s.result()
}

// genSumCase draws values that stress the accumulator: the whole exponent
// range with subnormals, huge and tiny mixed, cancellation, equal values.
func genSumCase(r *rand.Rand) []float64 {
	n := 1 + r.IntN(300)
	xs := make([]float64, 0, n+8)
	anyBits := func() float64 {
		for {
			x := math.Float64frombits(r.Uint64())
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				return x
			}
		}
	}
	switch r.IntN(7) {
	case 0: // any finite bits
		for range n {
			xs = append(xs, anyBits())
		}
	case 1: // subnormals and the smallest normals
		for range n {
			xs = append(xs, math.Float64frombits(r.Uint64()&(1<<53-1)|r.Uint64()&(1<<63)))
		}
	case 2: // huge and tiny mixed
		for range n {
			e := []int{1023, 1000, -1074, -1022, -1000, 0, 52}[r.IntN(7)]
			xs = append(xs, math.Ldexp(1+r.Float64(), e)*float64(1-2*r.IntN(2)))
		}
	case 3: // cancellation: x, −x and a tiny remainder
		for range n / 3 {
			x := anyBits()
			xs = append(xs, x, math.Ldexp(r.Float64(), -1070-r.IntN(4)), -x)
		}
		r.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	case 4: // many equal values, at the top of the range
		x := math.MaxFloat64 * (0.5 + r.Float64()/2)
		for range n {
			xs = append(xs, x)
		}
	case 5: // ties to even: 1 and halves of its ulp
		xs = append(xs, 1)
		for range r.IntN(4) {
			xs = append(xs, 0x1p-53, -0x1p-54)
		}
		xs = append(xs, math.Ldexp(float64(r.IntN(3)), -120))
	default: // Gaussian tail of losses, as on the check path
		for range n {
			xs = append(xs, 1000+math.Abs(r.NormFloat64())*300)
		}
	}
	return xs
}

func TestExactSumRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	var s exactSum
	for it := range 20000 / raceDiv {
		xs := genSumCase(r)
		want := bigSum(xs)
		got := accSum(&s, xs, it%2 == 0)
		if it%3 == 0 && len(xs) > 0 {
			// addBracket: the same sum, and compactBracket's output.
			lo, hi := xs[r.IntN(len(xs))], xs[r.IntN(len(xs))]
			lo, hi = min(lo, hi), max(lo, hi)
			d1, d2 := make([]float64, len(xs)), make([]float64, len(xs))
			s.reset()
			c1, g1 := s.addBracket(xs, d1, lo, hi)
			got = s.result()
			c2, g2 := compactBracket(d2, xs, lo, hi)
			if c1 != c2 || g1 != g2 || !slices.Equal(d1[:c1], d2[:c2]) {
				t.Fatalf("case %d: addBracket (%d, %d), compactBracket (%d, %d)", it, c1, g1, c2, g2)
			}
		}
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("case %d (%d values): got %v (%#x) want %v (%#x)", it, len(xs), got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}

// TestExactSumLong sums long runs whose significands land at the top of a
// 64-bit window (values in [2, 4) and their negatives), which fill the
// high halves of addRun's registers fastest.
func TestExactSumLong(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	var s exactSum
	for _, n := range []int{1023, 1024, 1025, 5000, 40000} {
		for _, sign := range []float64{1, -1, 0} {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = math.Nextafter(4, 0) - r.Float64()*0x1p-40
				if sign != 0 {
					xs[i] *= sign
				} else if i%2 == 1 {
					xs[i] = -xs[i] * (1 - 0x1p-50)
				}
			}
			want := bigSum(xs)
			for _, slice := range []bool{false, true} {
				if got := accSum(&s, xs, slice); math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("n=%d sign %v slice %v: got %v want %v", n, sign, slice, got, want)
				}
			}
		}
	}
}

func TestExactSumEdges(t *testing.T) {
	neg0 := math.Copysign(0, -1)
	tiny := math.SmallestNonzeroFloat64
	inf := math.Inf(1)
	cases := []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{neg0}, 0},
		{[]float64{neg0, neg0}, 0},
		{[]float64{1, -1}, 0},
		{[]float64{tiny}, tiny},
		{[]float64{tiny, tiny, -tiny}, tiny},
		{[]float64{-tiny}, -tiny},
		{[]float64{0x1p-1022, -tiny}, 0x1p-1022 - tiny},
		{[]float64{1, 0x1p-53}, 1},                     // tie, to even (down)
		{[]float64{1 + 0x1p-52, 0x1p-53}, 1 + 0x1p-51}, // tie, to even (up)
		{[]float64{1, 0x1p-53, tiny}, 1 + 0x1p-52},     // above the tie
		{[]float64{math.MaxFloat64, math.MaxFloat64}, inf},
		{[]float64{math.MaxFloat64, math.MaxFloat64, -math.MaxFloat64}, math.MaxFloat64},
		{[]float64{-math.MaxFloat64, -math.MaxFloat64}, -inf},
		{[]float64{math.MaxFloat64, 0x1p970}, inf}, // exactly half an ulp above: to even is Inf
		{[]float64{math.MaxFloat64, 0x1p969}, math.MaxFloat64},
		{[]float64{inf, 1}, inf},
		{[]float64{-inf, 1}, -inf},
		{[]float64{inf, -inf}, math.NaN()},
		{[]float64{1e300, 1, -1e300}, 1},
	}
	var s exactSum
	for _, c := range cases {
		got := accSum(&s, c.xs, false)
		if g2 := accSum(&s, c.xs, true); math.Float64bits(g2) != math.Float64bits(got) && !math.IsNaN(got) {
			t.Errorf("addSlice %v = %v, addBits gives %v", c.xs, g2, got)
		}
		if math.Float64bits(got) != math.Float64bits(c.want) && !(math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("sum %v = %v, want %v", c.xs, got, c.want)
		}
		if want := bigSum(c.xs); math.Float64bits(got) != math.Float64bits(want) && !math.IsNaN(want) {
			t.Errorf("sum %v = %v, math/big says %v", c.xs, got, want)
		}
	}
}

// TestExactSumSubAddN checks sub and addN against the plain additions, and
// the normalisation that lazy carries need after sumCountMax additions.
func TestExactSumSubAddN(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	var s exactSum
	for range 3000 / raceDiv {
		xs := genSumCase(r)
		ys := genSumCase(r)
		c := r.IntN(1000)
		v := 1.5
		if len(ys) > 0 {
			v = ys[0]
		}
		// Σxs + Σys − Σys + c·v.
		all := append([]float64(nil), xs...)
		for range c {
			all = append(all, v)
		}
		s.reset()
		s.addSlice(xs)
		for _, y := range ys {
			s.addBits(math.Float64bits(y))
		}
		s.addN(v, c)
		for _, y := range ys {
			s.sub(y)
		}
		if got, want := s.result(), bigSum(all); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("got %v want %v", got, want)
		}
	}
	// Near-overflowing words: sumCountMax−1 additions of the largest
	// digits in one go, then more, with cancellation and a tiny term.
	s.reset()
	m := math.Float64frombits(0x7fefffffffffffff >> 20 << 20) // digits 2^32−1
	s.addN(m, sumCountMax-1)
	s.addN(m, 5)
	s.addBits(math.Float64bits(math.SmallestNonzeroFloat64))
	s.addN(-m, sumCountMax)
	s.addN(-m, 4)
	if got := s.result(); got != math.SmallestNonzeroFloat64 {
		t.Fatalf("lazy carries: got %v", got)
	}
	s.reset()
	s.addBits(math.Float64bits(math.Inf(1)))
	s.sub(math.Inf(1))
	s.addBits(math.Float64bits(2))
	s.addN(math.Inf(-1), 3)
	s.sub(math.Inf(-1))
	if got := s.result(); !math.IsInf(got, -1) {
		t.Fatalf("infinity counts: got %v", got)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("addN with a negative count did not panic")
			}
		}()
		s.addN(1, -1)
	}()
}

// decodeSum turns fuzz bytes into float64 values, 8 bytes each, NaN
// replaced by a subnormal and a trailing byte as a count of repeats.
func decodeSum(data []byte) []float64 {
	var xs []float64
	for len(data) >= 8 {
		x := math.Float64frombits(binary.LittleEndian.Uint64(data))
		if math.IsNaN(x) {
			x = math.Float64frombits(binary.LittleEndian.Uint64(data) & (1<<52 - 1))
		}
		xs = append(xs, x)
		data = data[8:]
	}
	if len(data) > 0 && len(xs) > 0 {
		for range int(data[0]) {
			xs = append(xs, xs[len(xs)-1])
		}
	}
	return xs
}

func FuzzExactSum(f *testing.F) {
	le := func(xs ...float64) []byte {
		b := make([]byte, 0, 8*len(xs))
		for _, x := range xs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
		return b
	}
	f.Add(le(1, 0x1p-53))
	f.Add(le(math.MaxFloat64, math.MaxFloat64, -math.MaxFloat64))
	f.Add(le(math.SmallestNonzeroFloat64, -0x1p-1022, 1e300, -1e300))
	f.Add(append(le(1.5, math.Inf(1), 3), 7))
	f.Add(append(le(0.1, -0.3), 200))
	var s exactSum
	f.Fuzz(func(t *testing.T, data []byte) {
		xs := decodeSum(data)
		got, want := accSum(&s, xs, false), bigSum(xs)
		if g2 := accSum(&s, xs, true); math.Float64bits(g2) != math.Float64bits(got) && !(math.IsNaN(got) && math.IsNaN(g2)) {
			t.Fatalf("addSlice of %v: %v, addBits gives %v", xs, g2, got)
		}
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("sum of %v: got %v want %v", xs, got, want)
		}
		// Order independence: the reverse order gives the same bits.
		s.reset()
		for i := len(xs) - 1; i >= 0; i-- {
			s.addBits(math.Float64bits(xs[i]))
		}
		if r := s.result(); math.Float64bits(r) != math.Float64bits(got) && !(math.IsNaN(r) && math.IsNaN(got)) {
			t.Fatalf("reverse order: %v, forward %v", r, got)
		}
	})
}

// BenchmarkExactSum: adding 250 Gaussian-tail losses and rounding, as finish
// does per check.
func BenchmarkExactSum(b *testing.B) {
	r := rand.New(rand.NewPCG(45, 46))
	xs := make([]float64, 250)
	for i := range xs {
		xs[i] = 1e5 + math.Abs(r.NormFloat64())*3e4
	}
	var s exactSum
	s.reset()
	for b.Loop() {
		accSum(&s, xs, true)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/value")
}
