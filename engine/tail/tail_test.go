package tail

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// brute is the reference, independent of the package's selection and
// summation: a full sort, VaR the KVaR-th largest (+0 for −0), ES the exact
// sum of the KES largest (math/big) rounded once, divided by KES.
func brute(v []float64, spec Spec) Result {
	s := slices.Clone(v)
	slices.Sort(s)
	slices.Reverse(s)
	r := Result{VaR: s[spec.KVaR-1]}
	if r.VaR == 0 {
		r.VaR = 0
	}
	r.ES = bigSum(s[:spec.KES]) / float64(spec.KES)
	return r
}

// bigSum returns the exact sum of xs (no NaN) rounded to nearest even,
// computed with math/big; +0 for an exact zero, the IEEE result when xs
// holds infinities.
func bigSum(xs []float64) float64 {
	pinf, ninf := false, false
	z := new(big.Float).SetPrec(4096).SetMode(big.ToNearestEven)
	var x big.Float
	for _, v := range xs {
		switch {
		case math.IsInf(v, 1):
			pinf = true
		case math.IsInf(v, -1):
			ninf = true
		default:
			z.Add(z, x.SetFloat64(v))
		}
	}
	switch {
	case pinf && ninf:
		return math.NaN()
	case pinf:
		return math.Inf(1)
	case ninf:
		return math.Inf(-1)
	}
	f, _ := z.Float64()
	return f + 0 // +0 for an exact zero
}

// materialise returns L[s] + Σ_j float64(q_j·P_j[s]) in leg order.
func materialise(l []float64, legs []Leg) []float64 {
	out := slices.Clone(l)
	for _, lg := range legs {
		for s := range out {
			out[s] = postLoss(out[s], lg.Q, lg.In.p[s])
		}
	}
	return out
}

func sameBits(a, b Result) bool {
	return math.Float64bits(a.VaR) == math.Float64bits(b.VaR) &&
		math.Float64bits(a.ES) == math.Float64bits(b.ES)
}

func TestK(t *testing.T) {
	cases := []struct {
		n     int
		alpha float64
		want  int
	}{
		{10000, 0.99, 100},
		{10000, 0.975, 250},
		{10000, 0.95, 500},
		{10000, 0.999, 10},
		{10000, 0.9999, 1},
		{10000, 0.99999, 1},
		{1, 0.5, 1},
		{1, 0.999, 1},
		{1, 1e-12, 1},
		{10, 1e-12, 10},
		{3, 0.5, 2},
		{7, 0.9, 1},
		{1000, 0.9995, 1},
		{1001, 0.99, 11},
		{ScenariosMax, 0.99, 10486},
	}
	for _, c := range cases {
		got, err := K(c.n, c.alpha)
		if err != nil || got != c.want {
			t.Errorf("K(%d, %v) = %d, %v; want %d", c.n, c.alpha, got, err, c.want)
		}
	}
	for _, n := range []int{0, -1, ScenariosMax + 1} {
		if _, err := K(n, 0.99); !errors.Is(err, ErrScenarios) {
			t.Errorf("K(%d) err %v, want ErrScenarios", n, err)
		}
	}
	for _, a := range []float64{0, 1, -0.5, 1.5, math.NaN(), math.Inf(1)} {
		if _, err := K(100, a); !errors.Is(err, ErrAlpha) {
			t.Errorf("K(100, %v) err %v, want ErrAlpha", a, err)
		}
	}
}

// TestKDecimal checks K against exact integer arithmetic for confidences
// written with up to four decimals, where float rounding of N·(1−α) would
// otherwise push exact integers up by one.
func TestKDecimal(t *testing.T) {
	ns := []int{1, 2, 3, 7, 10, 99, 100, 250, 1000, 4096, 9999, 10000, 12345, 100000, 1000000, ScenariosMax}
	for _, n := range ns {
		for a := 1; a < 10000; a += 7 {
			alpha := float64(a) / 10000
			// k = ceil(n·(10000−a)/10000) exactly.
			num := n * (10000 - a)
			want := (num + 9999) / 10000
			want = min(max(want, 1), n)
			got, err := K(n, alpha)
			if err != nil || got != want {
				t.Fatalf("K(%d, %v) = %d, %v; want %d", n, alpha, got, err, want)
			}
		}
	}
}

func TestSpec(t *testing.T) {
	s, err := NewSpec(10000, 0.975, 0.99)
	if err != nil || s != (Spec{KVaR: 100, KES: 250}) || s.Kmax() != 250 {
		t.Fatalf("NewSpec = %+v, %v", s, err)
	}
	if _, err := NewSpec(10000, 1, 0.99); !errors.Is(err, ErrAlpha) {
		t.Fatalf("bad alphaES: %v", err)
	}
	if _, err := NewSpec(10000, 0.9, 0); !errors.Is(err, ErrAlpha) {
		t.Fatalf("bad alphaVaR: %v", err)
	}
	for _, c := range []struct {
		s Spec
		n int
	}{{Spec{0, 1}, 5}, {Spec{1, 0}, 5}, {Spec{6, 1}, 5}, {Spec{1, 6}, 5}, {Spec{1, 1}, 0}} {
		if err := c.s.Validate(c.n); err == nil {
			t.Errorf("Validate(%+v, %d) accepted", c.s, c.n)
		}
	}
	if err := (Spec{5, 5}).Validate(5); err != nil {
		t.Errorf("Validate K=N: %v", err)
	}
}

// genVector draws a loss vector of length n from one of several shapes
// that stress ties, zeros of both signs, negative values and outliers.
func genVector(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	switch r.IntN(8) {
	case 0: // Gaussian
		for i := range v {
			v[i] = r.NormFloat64() * 1000
		}
	case 1: // small integers: many ties
		for i := range v {
			v[i] = float64(r.IntN(7) - 3)
		}
	case 2: // all equal
		c := r.NormFloat64()
		for i := range v {
			v[i] = c
		}
	case 3: // zeros of both signs and a few values
		for i := range v {
			switch r.IntN(4) {
			case 0:
				v[i] = math.Copysign(0, -1)
			case 1:
				v[i] = 0
			default:
				v[i] = float64(r.IntN(5) - 2)
			}
		}
	case 4: // all negative
		for i := range v {
			v[i] = -math.Abs(r.NormFloat64()) - 1
		}
	case 5: // heavy tail
		for i := range v {
			v[i] = math.Pow(r.Float64()+1e-9, -1.5) * float64(1-2*r.IntN(2))
		}
	case 6: // sorted ascending (adversarial order)
		for i := range v {
			v[i] = float64(i) * 0.5
		}
	default: // sorted descending with duplicates
		for i := range v {
			v[i] = float64((n - i) / 3)
		}
	}
	return v
}

func genSpec(r *rand.Rand, n int) Spec {
	switch r.IntN(4) {
	case 0:
		return Spec{KVaR: n, KES: n}
	case 1:
		return Spec{KVaR: 1 + r.IntN(n), KES: 1 + r.IntN(n)}
	default:
		s, err := NewSpec(n, 0.9+0.0999*r.Float64(), 0.9+0.0999*r.Float64())
		if err != nil {
			panic(err)
		}
		return s
	}
}

func genN(r *rand.Rand) int {
	switch r.IntN(6) {
	case 0:
		return 1 + r.IntN(4)
	case 1:
		return 64 * (1 + r.IntN(40))
	case 2:
		return 4096 + r.IntN(9000)
	default:
		return 1 + r.IntN(3000)
	}
}

func TestComputeRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sc := &Scratch{}
	for it := range 3000 / raceDiv {
		n := genN(r)
		v := genVector(r, n)
		spec := genSpec(r, n)
		got := Compute(v, spec, sc)
		want := brute(v, spec)
		if !sameBits(got, want) {
			t.Fatalf("case %d n=%d spec=%+v: got %+v want %+v", it, n, spec, got, want)
		}
	}
}

func TestComputeEdges(t *testing.T) {
	sc := NewScratch(16)
	neg0 := math.Copysign(0, -1)
	if got := Compute([]float64{neg0}, Spec{1, 1}, sc); math.Signbit(got.VaR) || math.Signbit(got.ES) {
		t.Fatalf("-0 not reported as +0: %+v", got)
	}
	if got := Compute([]float64{3}, Spec{1, 1}, sc); got != (Result{3, 3}) {
		t.Fatalf("N=1: %+v", got)
	}
	if got := Compute([]float64{1, 2, 3, 4}, Spec{4, 4}, sc); got != (Result{1, 2.5}) {
		t.Fatalf("K=N: %+v", got)
	}
	inf := math.Inf(1)
	if got := Compute([]float64{1, inf, 3}, Spec{1, 2}, sc); got.VaR != inf || got.ES != inf {
		t.Fatalf("Inf: %+v", got)
	}
	big := make([]float64, 20000)
	for i := range big {
		big[i] = float64(i % 97)
	}
	for _, at := range []int{0, 5, 19999, 10000} {
		v := slices.Clone(big)
		v[at] = math.NaN()
		got := Compute(v, Spec{100, 250}, sc)
		if !math.IsNaN(got.VaR) || !math.IsNaN(got.ES) {
			t.Fatalf("NaN at %d: %+v", at, got)
		}
		got = Compute(v[:50], Spec{10, 10}, sc)
		if at < 50 && !math.IsNaN(got.VaR) {
			t.Fatalf("NaN at %d short: %+v", at, got)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Compute with a spec beyond N did not panic")
			}
		}()
		Compute([]float64{1, 2}, Spec{3, 1}, sc)
	}()
}

// TestESAtLeastVaR: with KES <= KVaR, ES >= VaR. Integer losses sum
// exactly, so there it holds exactly; for general values the exact sum is
// at least KES·VaR, and its rounding and the division each lose at most
// half an ulp, so ES may fall at most about one ulp of VaR below it.
func TestESAtLeastVaR(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sc := &Scratch{}
	for range 2000 / raceDiv {
		n := genN(r)
		kvar := 1 + r.IntN(n)
		spec := Spec{KVaR: kvar, KES: 1 + r.IntN(kvar)}
		ints := make([]float64, n)
		gauss := make([]float64, n)
		for i := range ints {
			ints[i] = float64(r.IntN(2001) - 1000)
			gauss[i] = r.NormFloat64() * 1e6
		}
		if res := Compute(ints, spec, sc); res.ES < res.VaR {
			t.Fatalf("integers n=%d %+v: ES %v < VaR %v", n, spec, res.ES, res.VaR)
		}
		res := Compute(gauss, spec, sc)
		slack := math.Abs(res.VaR) * 0x1p-51
		if res.ES < res.VaR-slack {
			t.Fatalf("gauss n=%d %+v: ES %v < VaR %v", n, spec, res.ES, res.VaR)
		}
	}
}

func TestSelectAndSort(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 / raceDiv {
		n := 1 + r.IntN(600)
		v := genVector(r, n)
		k := 1 + r.IntN(n)
		want := slices.Clone(v)
		slices.Sort(want)
		slices.Reverse(want)

		a := slices.Clone(v)
		selectTop(a, k)
		top := slices.Clone(a[:k])
		slices.Sort(top)
		slices.Reverse(top)
		if !slices.Equal(top, want[:k]) {
			t.Fatalf("selectTop n=%d k=%d wrong", n, k)
		}
		b := slices.Clone(v)
		tmp := make([]float64, 2*n)
		if got := kthLargest(b, k, tmp); got != want[k-1] || !slices.Equal(b, v) {
			t.Fatalf("kthLargest n=%d k=%d: %v, want %v (or input modified)", n, k, got, want[k-1])
		}
		c := slices.Clone(v)
		if insertionDesc(c, 3) && !slices.IsSortedFunc(c, func(x, y float64) int { return -cmpF(x, y) }) {
			t.Fatalf("insertionDesc reported sorted but is not")
		}
		slices.Sort(c)
		s := slices.Clone(v)
		slices.Sort(s)
		if !slices.Equal(c, s) {
			t.Fatalf("insertionDesc lost values")
		}
	}
}

func cmpF(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func TestMean(t *testing.T) {
	if got := Mean([]float64{1, 2, 3, 4}); got != 2.5 {
		t.Fatalf("Mean = %v", got)
	}
	if !math.IsNaN(Mean(nil)) {
		t.Fatal("Mean(nil) not NaN")
	}
}

func TestComputeAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	v := make([]float64, 10000)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	spec := Spec{KVaR: 100, KES: 250}
	sc := NewScratch(len(v))
	if n := testing.AllocsPerRun(100, func() { Compute(v, spec, sc) }); n != 0 {
		t.Fatalf("Compute allocates %v times", n)
	}
}

// TestComputeSampleMiss defeats the sampled threshold (every sampled value
// is the maximum, too few to fill the tail), forcing the retries and the
// full copy.
func TestComputeSampleMiss(t *testing.T) {
	const n = 20000
	stride := n / sampleSize
	r := rand.New(rand.NewPCG(9, 10))
	v := make([]float64, n)
	for i := range v {
		v[i] = r.Float64() * 99
	}
	for i := range sampleSize {
		v[i*stride+stride/2] = 100
	}
	spec := Spec{KVaR: 900, KES: 1000}
	if got, want := Compute(v, spec, &Scratch{}), brute(v, spec); !sameBits(got, want) {
		t.Fatalf("got %+v want %+v", got, want)
	}
}

// TestFinish drives both paths of finish (few values beyond KES: the
// insertion buffer; many: the selection), in random, descending and
// nearly descending order, with ties, signed zeros and infinities, and
// checks that it leaves its input alone.
func TestFinish(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	sc := &Scratch{}
	paths := [2]int{}
	for it := range 4000 / raceDiv {
		k := 1 + r.IntN(300)
		spec := Spec{KES: k, KVaR: 1 + r.IntN(k)}
		if it%5 == 0 {
			spec.KVaR = k + r.IntN(20) // KVaR > KES
		}
		extra := r.IntN(bottomMax + 2)
		if it%2 == 0 {
			extra = r.IntN(400)
		}
		n := spec.Kmax() + extra
		v := genVector(r, n)
		if it%7 == 0 {
			v[r.IntN(n)] = math.Inf(1 - 2*r.IntN(2))
			v[r.IntN(n)] = math.Inf(1 - 2*r.IntN(2))
		}
		switch it % 3 {
		case 0: // descending
			slices.Sort(v)
			slices.Reverse(v)
		case 1: // nearly descending
			slices.Sort(v)
			slices.Reverse(v)
			for range n / 10 {
				i := r.IntN(n)
				j := min(n-1, i+r.IntN(8))
				v[i], v[j] = v[j], v[i]
			}
		default:
			r.Shuffle(n, func(i, j int) { v[i], v[j] = v[j], v[i] })
		}
		in := slices.Clone(v)
		got, want := finish(v, spec, sc), brute(in, spec)
		if !sameBits(got, want) && !(math.IsNaN(got.ES) && math.IsNaN(want.ES) && got.VaR == want.VaR) {
			t.Fatalf("case %d n=%d %+v: got %+v want %+v", it, n, spec, got, want)
		}
		if !slices.Equal(v, in) && !slices.ContainsFunc(in, math.IsNaN) {
			t.Fatalf("case %d: finish modified its input", it)
		}
		paths[b2i(n-spec.KES > bottomMax)]++
	}
	if paths[0] < 100 || paths[1] < 100 {
		t.Fatalf("paths taken %v: a path is missed", paths)
	}
}

// TestKthLargestAdversarial: orders and value sets that defeat the pivot
// sampling (all equal, two values, sorted either way, organ pipe), so
// that the misses and the introselect fallback run.
func TestKthLargestAdversarial(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	for _, n := range []int{33, 100, 257, 1000, 5000} {
		shapes := map[string]func(i int) float64{
			"equal":     func(int) float64 { return 7 },
			"two":       func(i int) float64 { return float64(i % 2) },
			"ascending": func(i int) float64 { return float64(i) },
			"organ":     func(i int) float64 { return float64(min(i, n-i)) },
			"few":       func(int) float64 { return float64(r.IntN(3)) },
			"spike": func(i int) float64 {
				if i%97 == 0 {
					return 1e300
				}
				return float64(i % 5)
			},
		}
		for name, f := range shapes {
			v := make([]float64, n)
			for i := range v {
				v[i] = f(i)
			}
			s := slices.Clone(v)
			slices.Sort(s)
			tmp := make([]float64, 2*n)
			for _, k := range []int{1, 2, n / 3, n / 2, n - 1, n} {
				if got := kthLargest(v, k, tmp); got != s[n-k] {
					t.Fatalf("%s n=%d k=%d: %v, want %v", name, n, k, got, s[n-k])
				}
			}
		}
	}
}
