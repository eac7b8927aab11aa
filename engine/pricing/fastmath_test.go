package pricing

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulps returns |a−b| in units of the spacing of float64 at b.
func ulps(a, b float64) float64 {
	if a == b {
		return 0
	}
	sp := math.Nextafter(math.Abs(b), math.Inf(1)) - math.Abs(b)
	return math.Abs(a-b) / sp
}

func TestExpFastAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	worst, at := 0.0, 0.0
	check := func(x float64) {
		if u := ulps(expFast(x), math.Exp(x)); u > worst {
			worst, at = u, x
		}
	}
	for i := 0; i < 400000; i++ {
		check(-745 + 1455*rng.Float64())
		check((rng.Float64() - 0.5) * 2)
		check((rng.Float64() - 0.5) * 1e-6)
	}
	for _, x := range []float64{0, -0.0, 1, -1, expArgMin, expArgMax, 709.7, 710, -745, -746, -1e300, 1e300} {
		check(x)
	}
	// math.Exp is itself within 1 ulp; allow the sum.
	if worst > 2 {
		t.Fatalf("expFast error %.2f ulp at x=%g", worst, at)
	}
	t.Logf("expFast worst %.2f ulp vs math.Exp at %g", worst, at)
	if !math.IsNaN(expFast(math.NaN())) || expFast(math.Inf(-1)) != 0 || !math.IsInf(expFast(math.Inf(1)), 1) {
		t.Fatal("expFast special values")
	}
}

func TestLogFastAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	worst, at := 0.0, 0.0
	check := func(x float64) {
		if u := ulps(logFast(x), math.Log(x)); u > worst {
			worst, at = u, x
		}
	}
	for i := 0; i < 400000; i++ {
		check(math.Exp(-700 + 1400*rng.Float64()))
		check(1 + (rng.Float64()-0.5)*0.1)
		check(1 + (rng.Float64()-0.5)*1e-9)
	}
	for _, x := range []float64{1, 2, 0.5, math.Sqrt2, math.Sqrt2 / 2, math.MaxFloat64, minNormal, 5e-324, 1e-310} {
		check(x)
	}
	if worst > 2 {
		t.Fatalf("logFast error %.2f ulp at x=%g", worst, at)
	}
	t.Logf("logFast worst %.2f ulp vs math.Log at %g", worst, at)
	if !math.IsInf(logFast(0), -1) || !math.IsNaN(logFast(-1)) || !math.IsInf(logFast(math.Inf(1)), 1) {
		t.Fatal("logFast special values")
	}
}

// refCDF is N(x) through math.Erfc (accurate in the lower tail).
func refCDF(x float64) float64 {
	if x > 0 {
		return 1 - 0.5*math.Erfc(x/math.Sqrt2)
	}
	return 0.5 * math.Erfc(-x/math.Sqrt2)
}

func TestNormCDFTails(t *testing.T) {
	worst, at := 0.0, 0.0
	for x := -37.0; x <= 8; x += 0.001 { // N(−37.5) is subnormal; checked below
		got, want := normCDF(x), refCDF(x)
		// Relative error in the lower tail (N(x) for x ≤ 0); above 0, N is
		// near 1 and known to an absolute ulp or two. Both the reference and
		// normCDF lose ~x²·ε in exp(−x²/2), so the tolerance grows with x².
		e := math.Abs(got-want) / want
		tol := (8 + 2*x*x) * 0x1p-52
		if x > 0 {
			e, tol = math.Abs(got-want), 3*0x1p-52
		}
		if e > tol {
			t.Fatalf("normCDF(%g) = %.17g, want %.17g (err %g > %g)", x, got, want, e, tol)
		}
		if e/tol > worst {
			worst, at = e/tol, x
		}
	}
	t.Logf("normCDF worst %.2f of tolerance at %g", worst, at)
	for x := -38.5; x <= -37; x += 0.01 { // subnormal results: absolute accuracy
		if got, want := normCDF(x), refCDF(x); math.Abs(got-want) > 1e-9*math.Max(want, 0x1p-1022) {
			t.Errorf("normCDF(%g) = %g, want %g", x, got, want)
		}
	}
	if math.Abs(normCDF(0)-0.5) > 0x1p-53 || normCDF(-40) != 0 || normCDF(40) != 1 {
		t.Fatalf("normCDF(0)=%v normCDF(-40)=%v normCDF(40)=%v", normCDF(0), normCDF(-40), normCDF(40))
	}
}

func TestMillsLargeArgument(t *testing.T) {
	for _, z := range []float64{16, 40, 1e3, 1e10, 1e200, math.MaxFloat64} {
		m := mills(z)
		if !(m > 0) || math.Abs(m*z-1) > 1/(z*z)+1e-15 {
			t.Errorf("mills(%g) = %g, want ≈ 1/z", z, m)
		}
	}
	if mills(math.Inf(1)) != 0 || !math.IsNaN(mills(math.NaN())) {
		t.Error("mills special values")
	}
	if math.Abs(mills(0)-math.Sqrt(math.Pi/2)) > 3e-16 {
		t.Errorf("mills(0) = %v, want √(π/2)", mills(0))
	}
}

var sinkF float64

func BenchmarkExpFast(b *testing.B) {
	xs := benchArgs(-20, 20)
	s := 0.0
	for i := 0; i < b.N; i++ {
		s += expFast(xs[i&1023])
	}
	sinkF = s
}

func BenchmarkLogFast(b *testing.B) {
	xs := benchArgs(0.01, 100)
	s := 0.0
	for i := 0; i < b.N; i++ {
		s += logFast(xs[i&1023])
	}
	sinkF = s
}

func BenchmarkNormCDF(b *testing.B) {
	xs := benchArgs(-6, 6)
	s := 0.0
	for i := 0; i < b.N; i++ {
		s += normCDF(xs[i&1023])
	}
	sinkF = s
}

func benchArgs(lo, hi float64) []float64 {
	rng := rand.New(rand.NewPCG(9, 9))
	v := make([]float64, 1024)
	for i := range v {
		v[i] = lo + (hi-lo)*rng.Float64()
	}
	return v
}
