package fxp

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ballast-risk/ballast/engine/scenario"
)

// invNormErr returns |InvNorm(w) − scenario.InvNorm(Uniform(w))|.
func invNormErr(w uint32) float64 {
	got := float64(InvNorm(w)) * 0x1p-28
	return math.Abs(got - scenario.InvNorm(scenario.Uniform(w)))
}

// InvNorm against the float64 reference: a strided sweep of all 2^32
// inputs (every 1021st word, 4.2 million points) plus both ends of every
// table segment and every directly tabulated word, in both halves.
func TestInvNormAccuracy(t *testing.T) {
	worst, at := 0.0, uint32(0)
	check := func(w uint32) {
		if e := invNormErr(w); e > worst {
			worst, at = e, w
		}
		if e := invNormErr(^w); e > worst {
			worst, at = e, ^w
		}
	}
	stride := uint64(1021)
	if testing.Short() {
		stride = 65521
	}
	for w := uint64(0); w < 1<<32; w += stride {
		check(uint32(w))
	}
	for v := uint32(0); v < invNormDirect; v++ {
		check(v)
	}
	for k := uint32(invNormSubBits); k <= 30; k++ {
		lo := k - invNormSubBits
		for sub := uint32(0); sub < 1<<invNormSubBits; sub++ {
			first := 1<<k | sub<<lo
			check(first)
			check(first + (1<<lo - 1))
		}
	}
	t.Logf("InvNorm: max |error| %.3g at w = %#08x (bound 1e-6)", worst, at)
	if worst > 1e-6 {
		t.Fatalf("InvNorm error %.3g at w = %#08x exceeds 1e-6", worst, at)
	}
}

func TestInvNormExactValues(t *testing.T) {
	// Symmetry is exact: InvNorm(^w) = −InvNorm(w).
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		w := r.Uint32()
		if InvNorm(^w) != -InvNorm(w) {
			t.Fatalf("InvNorm(^%#x) = %d, want %d", w, InvNorm(^w), -InvNorm(w))
		}
	}
	// The extremes: u = 2^-33 and 1 − 2^-33 give ∓6.33795775455…
	want := int32(math.Floor(scenario.InvNorm(0x1p-33)*0x1p28 + 0.5))
	if got := InvNorm(0); got != want || InvNorm(math.MaxUint32) != -want {
		t.Errorf("InvNorm(0) = %d, InvNorm(2^32−1) = %d, want ∓%d", got, InvNorm(math.MaxUint32), -want)
	}
	// The centre: u = ½ ∓ 2^-33 round to 0.
	if InvNorm(1<<31-1) != 0 || InvNorm(1<<31) != 0 {
		t.Errorf("InvNorm at the centre: %d, %d, want 0", InvNorm(1<<31-1), InvNorm(1<<31))
	}
	// Monotone across every segment boundary.
	for k := uint32(invNormSubBits); k <= 30; k++ {
		lo := k - invNormSubBits
		for sub := uint32(0); sub < 1<<invNormSubBits; sub++ {
			first := 1<<k | sub<<lo
			if InvNorm(first-1) > InvNorm(first) {
				t.Fatalf("InvNorm decreases at w = %#x", first)
			}
		}
	}
}

func TestExpAccuracy(t *testing.T) {
	worst := 0.0
	check := func(x int32) {
		xc := min(max(int64(x), -XMax), XMax)
		want := math.Exp(float64(xc) * 0x1p-27)
		got := Exp(x)
		if got.M < 1<<30 || int64(got.M) >= 1<<31 {
			t.Fatalf("Exp(%d) mantissa %d not normalised", x, got.M)
		}
		if e := math.Abs(got.Float()/want - 1); e > worst {
			worst = e
		}
	}
	for x := int64(-XMax - 1000); x <= XMax+1000; x += 9973 {
		check(int32(x))
	}
	for _, x := range []int32{0, 1, -1, XMax, -XMax, math.MaxInt32, math.MinInt32} {
		check(x)
	}
	t.Logf("Exp: max relative error %.3g", worst)
	if worst > 1e-9 {
		t.Errorf("Exp relative error %.3g exceeds 1e-9", worst)
	}
	// Exact values: e^0 = 1; the clamp.
	if got := Exp(0); got != (Scaled{M: 1 << 30, E: -30}) {
		t.Errorf("Exp(0) = %+v, want exactly 1", got)
	}
	if Exp(math.MaxInt32) != Exp(XMax) || Exp(math.MinInt32) != Exp(-XMax) {
		t.Errorf("Exp does not clamp to ±XMax")
	}
}

func TestRecipRsqrtAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	worstR, worstS := 0.0, 0.0
	check := func(a Scaled) {
		v := a.Float()
		rc := Recip(a)
		rs := Rsqrt(a)
		if rc.M < 1<<30 || rs.M < 1<<30 {
			t.Fatalf("Recip/Rsqrt(%+v) not normalised: %+v %+v", a, rc, rs)
		}
		worstR = max(worstR, math.Abs(rc.Float()*v-1))
		worstS = max(worstS, math.Abs(rs.Float()*math.Sqrt(v)-1))
	}
	for range 200000 {
		check(Scaled{M: int32(1<<30 + r.Uint32N(1<<30)), E: int32(r.IntN(80) - 40)})
	}
	for m := int64(1 << 30); m < 1<<31; m += 1 << 21 { // every segment start and end
		for _, e := range []int32{-31, -30, -29, 0, 1} {
			check(Scaled{M: int32(m), E: e})
			check(Scaled{M: int32(m + 1<<21 - 1), E: e})
		}
	}
	t.Logf("Recip: max relative error %.3g; Rsqrt: %.3g", worstR, worstS)
	if worstR > 1e-9 || worstS > 1e-9 {
		t.Errorf("relative errors %.3g, %.3g exceed 1e-9", worstR, worstS)
	}
	// Exact values.
	one := Scaled{M: 1 << 30, E: -30}
	if Recip(one) != one || Rsqrt(one) != one {
		t.Errorf("Recip(1) = %+v, Rsqrt(1) = %+v, want 1", Recip(one), Rsqrt(one))
	}
	four := Scaled{M: 1 << 30, E: -28}
	if got := Rsqrt(four); got.Float() != 0.5 {
		t.Errorf("Rsqrt(4) = %v", got.Float())
	}
	if Recip(Scaled{}) != (Scaled{}) || Rsqrt(Scaled{M: -1 << 30}) != (Scaled{}) {
		t.Errorf("Recip/Rsqrt of a non-positive value must be zero")
	}
}

func TestNormCDFPDFAccuracy(t *testing.T) {
	worstC, worstP := 0.0, 0.0
	for d := int64(-9 << 28); d <= 9<<28; d += 7919 {
		x := float64(min(max(d, -(1<<31-1)), 1<<31-1)) * 0x1p-28
		c := float64(NormCDF(d)) * 0x1p-31
		p := NormPDF(d).Float()
		worstC = max(worstC, math.Abs(c-0.5*math.Erfc(-x/math.Sqrt2)))
		worstP = max(worstP, math.Abs(p/(math.Exp(-x*x/2)/math.Sqrt(2*math.Pi))-1))
	}
	t.Logf("NormCDF: max |error| %.3g; NormPDF: max relative error %.3g", worstC, worstP)
	if worstC > 1e-9 || worstP > 1e-8 {
		t.Errorf("errors %.3g, %.3g exceed 1e-9", worstC, worstP)
	}
	// Exact values and the clamp.
	if NormCDF(0) != POne/2 || NormCDF(math.MaxInt64) != POne || NormCDF(math.MinInt64) != 0 {
		t.Errorf("NormCDF(0, +∞, −∞) = %d, %d, %d", NormCDF(0), NormCDF(math.MaxInt64), NormCDF(math.MinInt64))
	}
	if NormCDF(8<<28) != POne || NormCDF(-8<<28) != 0 || NormPDF(8<<28) != NormPDF(1<<31-1) {
		t.Errorf("at the clamp: N(8) = %d, N(−8) = %d, φ(8) = %v", NormCDF(8<<28), NormCDF(-8<<28), NormPDF(8<<28))
	}
	if got := NormPDF(0).Float(); math.Abs(got*math.Sqrt(2*math.Pi)-1) > 1e-9 {
		t.Errorf("φ(0) = %v", got)
	}
	for d := int64(1); d < 1<<31; d = d*3 + 1 {
		if NormCDF(d)+NormCDF(-d) != POne || NormPDF(d) != NormPDF(-d) {
			t.Fatalf("symmetry fails at d = %d", d)
		}
	}
}

func TestArithmetic(t *testing.T) {
	for _, c := range []struct {
		x    int64
		n    uint
		want int64
	}{{5, 1, 3}, {-5, 1, -2}, {4, 1, 2}, {-3, 1, -1}, {7, 0, 7}, {math.MaxInt64, 1, 1 << 62}, {math.MinInt64, 63, -1}, {-1, 63, 0}} {
		if got := Rshr(c.x, c.n); got != c.want {
			t.Errorf("Rshr(%d, %d) = %d, want %d", c.x, c.n, got, c.want)
		}
	}
	if got := Norm(1<<32-1, 0); got != (Scaled{M: 1 << 30, E: 2}) {
		t.Errorf("Norm rounding to 2^31 must renormalise: %+v", got)
	}
	if got := Norm(-3, 0); got != (Scaled{M: -3 << 29, E: -29}) {
		t.Errorf("Norm(−3) = %+v", got)
	}
	if got := Norm(math.MinInt64, 0); got.Float() != -0x1p63 {
		t.Errorf("Norm(MinInt64) = %+v", got)
	}
	if got := Mul(ScaledFromFloat(1.5), ScaledFromFloat(-2.25)); got.Float() != -3.375 {
		t.Errorf("1.5·−2.25 = %v", got.Float())
	}
	if got := ScaledFromFloat(3).Fixed(62); got != math.MaxInt64 {
		t.Errorf("Fixed must saturate: %d", got)
	}
	if got := ScaledFromFloat(-0.75).Fixed(2); got != -3 {
		t.Errorf("Fixed(−0.75, 2) = %d", got)
	}
	if got := ScaledFromFloat(-0.375).Fixed(2); got != -1 {
		t.Errorf("Fixed(−0.375, 2) = %d (round half up)", got)
	}
}

func TestHostLog(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		x := math.Exp(r.Float64()*40 - 20)
		if e := math.Abs(hostLog(x) - math.Log(x)); e > 4e-16*max(1, math.Abs(math.Log(x))) {
			t.Fatalf("hostLog(%v) = %v, math.Log %v", x, hostLog(x), math.Log(x))
		}
	}
	if hostLog(1) != 0 {
		t.Errorf("hostLog(1) = %v", hostLog(1))
	}
}
