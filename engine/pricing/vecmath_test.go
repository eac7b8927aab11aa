package pricing

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sameOrNaN reports whether a and b are the same float64 bit for bit, or
// both NaN (NaN payloads are not part of the contract).
func sameOrNaN(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
}

// TestSliceKernelsMatchScalar: expSlice, logSlice and millsAbsSlice give
// the scalar functions' results bit for bit, special values included.
func TestSliceKernelsMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	special := []float64{0, math.Copysign(0, -1), 1, -1, expArgMin, expArgMax, math.Nextafter(expArgMin, 0), math.Nextafter(expArgMax, 0),
		-745, -746, 709.8, 710, minNormal, 5e-324, 1e-310, math.MaxFloat64, -math.MaxFloat64, millsTableZMax, -millsTableZMax,
		math.Nextafter(millsTableZMax, 0), 40, 1e300, math.Inf(1), math.Inf(-1), math.NaN()}
	v := append([]float64(nil), special...)
	for range 200000 {
		switch rng.IntN(4) {
		case 0:
			v = append(v, (rng.Float64()-0.5)*1500)
		case 1:
			v = append(v, (rng.Float64()-0.5)*40)
		case 2:
			v = append(v, math.Exp((rng.Float64()-0.5)*1400))
		default:
			v = append(v, (rng.Float64()-0.5)*math.Pow(10, 8*rng.Float64()-4))
		}
	}
	e := make([]float64, len(v))
	expSlice(e, v)
	l := make([]float64, len(v))
	logSlice(l, v)
	m := make([]float64, len(v))
	millsAbsSlice(m, v)
	for i, x := range v {
		if !sameOrNaN(e[i], expFast(x)) {
			t.Fatalf("expSlice(%v) = %v, expFast %v", x, e[i], expFast(x))
		}
		if !sameOrNaN(l[i], logFast(x)) {
			t.Fatalf("logSlice(%v) = %v, logFast %v", x, l[i], logFast(x))
		}
		if !sameOrNaN(m[i], mills(math.Abs(x))) {
			t.Fatalf("millsAbsSlice(%v) = %v, mills %v", x, m[i], mills(math.Abs(x)))
		}
	}
}
