package scenario

import (
	"math"
	"testing"
)

// Quantiles computed with mpmath at 60 digits (root of log Φ(x) = log p).
var knownQuantiles = []struct{ p, z float64 }{
	{0.5, 0},
	{0.6, 0.2533471031357997988},
	{0.975, 1.9599639845400542355},
	{0.025, -1.9599639845400542355},
	{0.995, 2.575829303548900761},
	{0.999, 3.0902323061678135415},
	{0.9999, 3.7190164854556805644},
	{0.075, -1.4395314709384559153},
	{0.925, 1.4395314709384559153},
	{1e-10, -6.3613409024040562047},
	{1e-20, -9.2623400897984075737},
	{1e-300, -37.047096299361199237},
}

func TestInvNormKnownQuantiles(t *testing.T) {
	for _, c := range knownQuantiles {
		got := InvNorm(c.p)
		// The decimal p of the table and its float64 differ by up to half an ulp of
		// p, which moves z by ulp(p)/(2φ(z)); allow that plus 4e-16 relative.
		phi := math.Exp(-c.z*c.z/2) / math.Sqrt(2*math.Pi)
		tol := 4e-16*math.Abs(c.z) + (math.Nextafter(c.p, 2)-c.p)/(2*phi)
		if math.Abs(got-c.z) > tol {
			t.Errorf("InvNorm(%g) = %.17g, want %.17g (±%.2g)", c.p, got, c.z, tol)
		}
	}
}

// Φ(InvNorm(u)) = u to within the accuracy of the round trip, over the whole range
// Uniform produces and far into the tails.
func TestInvNormRoundTrip(t *testing.T) {
	cdf := func(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
	check := func(u float64) {
		z := InvNorm(u)
		back := cdf(z)
		if u > 0.5 {
			// Compare upper tails to keep relative precision.
			back, u = 0.5*math.Erfc(z/math.Sqrt2), 1-u
		}
		// A relative error e in z moves the tail probability by about z²·e relative.
		tol := 2e-14 * math.Max(1, z*z) * u
		if math.Abs(back-u) > tol {
			t.Errorf("Φ(InvNorm(%g)) = %.17g (z = %.17g), off by %.3g > %.3g", u, back, z, math.Abs(back-u), tol)
		}
	}
	for i := 1; i < 20000; i++ {
		check(float64(i) / 20000)
	}
	for e := -300.0; e <= -1; e += 0.37 {
		check(math.Pow(10, e))
	}
	check(Uniform(0))
	check(Uniform(math.MaxUint32))
	check(0.075)
	check(0.075 + 1e-17)
}

func TestInvNormSymmetryMonotonicity(t *testing.T) {
	prev := math.Inf(-1)
	for x := uint32(0); x < 1<<16; x++ {
		w := x << 16
		u := Uniform(w)
		z := InvNorm(u)
		if !(z > prev) {
			t.Fatalf("not increasing at u = %g: %g after %g", u, z, prev)
		}
		prev = z
		// Uniform is exactly symmetric, so z must be too.
		if m := InvNorm(Uniform(math.MaxUint32 - w)); m != -z {
			t.Fatalf("InvNorm(1-u) = %.17g, want %.17g", m, -z)
		}
	}
	// Across the seams of the central and intermediate approximations (u = 0.075,
	// 0.925) InvNorm is monotone on Uniform's grid, every 32-bit word checked in a
	// window around each seam. (Between adjacent float64 values at a seam the two
	// approximations may disagree by an ulp; Uniform never produces such pairs. The
	// far-tail seam, u = e^-25 ≈ 1.4e-11, lies beyond Uniform's range.)
	if Uniform(0) < math.Exp(-25) {
		t.Fatal("Uniform reaches the far-tail approximation")
	}
	for _, seam := range []float64{0.075, 0.925} {
		mid := uint32(seam * 0x1p32)
		prev := InvNorm(Uniform(mid - 5000))
		for w := mid - 4999; w < mid+5000; w++ {
			z := InvNorm(Uniform(w))
			if !(z > prev) {
				t.Errorf("not increasing at word %d (u = %g): %.17g after %.17g", w, Uniform(w), z, prev)
			}
			prev = z
		}
	}
}

func TestInvNormSpecial(t *testing.T) {
	if !math.IsInf(InvNorm(0), -1) || !math.IsInf(InvNorm(1), 1) {
		t.Error("InvNorm(0), InvNorm(1) must be ∓Inf")
	}
	for _, u := range []float64{-0.1, 1.1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		if !math.IsNaN(InvNorm(u)) {
			t.Errorf("InvNorm(%g) = %g, want NaN", u, InvNorm(u))
		}
	}
	if z := InvNorm(0.5); z != 0 {
		t.Errorf("InvNorm(0.5) = %g", z)
	}
}

func TestDetMathWithinOneUlp(t *testing.T) {
	ulps := func(a, b float64) float64 {
		if a == b {
			return 0
		}
		return math.Abs(a-b) / math.Abs(math.Nextafter(b, math.Inf(1))-b)
	}
	for x := -40.0; x <= 40; x += 0.0137 {
		if d := ulps(expRef(x), math.Exp(x)); d > 1 {
			t.Errorf("expRef(%g) = %.17g, math.Exp = %.17g (%g ulp)", x, expRef(x), math.Exp(x), d)
		}
	}
	for _, x := range []float64{0, 1e-30, -1e-30, 710, -746, math.NaN()} {
		a, b := expRef(x), math.Exp(x)
		if a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
			t.Errorf("expRef(%g) = %g, want %g", x, a, b)
		}
	}
	for e := -300.0; e <= 300; e += 0.173 { // normal range: amd64 math.Log mishandles subnormals
		x := math.Pow(10, e)
		if d := ulps(logRef(x), math.Log(x)); d > 1 {
			t.Errorf("logRef(%g) = %.17g, math.Log = %.17g (%g ulp)", x, logRef(x), math.Log(x), d)
		}
	}
	for _, x := range []float64{0, -1, 1, math.Inf(1), math.NaN()} {
		a, b := logRef(x), math.Log(x)
		if a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
			t.Errorf("logRef(%g) = %g, want %g", x, a, b)
		}
	}
}

var sinkFloat float64

func BenchmarkInvNorm(b *testing.B) {
	var acc float64
	for i := 0; b.Loop(); i++ {
		acc += InvNorm(Uniform(uint32(i) * 2654435761))
	}
	sinkFloat = acc
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "normals/s")
}

// BenchmarkInvNormTail measures the logarithm branch alone (|u−0.5| > 0.425).
func BenchmarkInvNormTail(b *testing.B) {
	var acc float64
	for i := 0; b.Loop(); i++ {
		acc += InvNorm(Uniform(uint32(i) % (1 << 28)))
	}
	sinkFloat = acc
}
