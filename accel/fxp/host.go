package fxp

import (
	"errors"
	"fmt"
	"math"
)

// ErrRange reports a host input that lies outside the fixed-point ranges of
// the contract; every error of this package's constructors and conversions
// wraps it (a *RangeError names the field).
var ErrRange = errors.New("fxp: outside the fixed-point range")

// RangeError names the input that is outside its fixed-point range. It wraps
// ErrRange.
type RangeError struct {
	Field  string  // the input: "S", "sigma", "Cholesky[3][1]", "account 7" …
	Value  float64 // the offending value (NaN when not numeric)
	Reason string  // the range it must lie in
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("fxp: %s = %g: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrRange.
func (e *RangeError) Unwrap() error { return ErrRange }

func rangeErr(field string, v float64, reason string, args ...any) error {
	return &RangeError{Field: field, Value: v, Reason: fmt.Sprintf(reason, args...)}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// fixedFromFloat rounds v·2^frac half up: floor(v·2^frac + 0.5). The
// scaling is exact; callers keep |v·2^frac| below 2^52.
func fixedFromFloat(v float64, frac int) int64 {
	return int64(math.Floor(math.Ldexp(v, frac) + 0.5))
}

// ScaledFromFloat converts a finite float64 to scaled form: v = f·2^e with
// 0.5 ≤ |f| < 1 (math.Frexp), M = floor(f·2^31 + 0.5), renormalised if |M|
// reaches 2^31, E = e − 31. The result is within 2^-31 relative of v.
// Values beyond ±2^100 or NaN give the zero Scaled (host constants are
// range-checked before conversion).
func ScaledFromFloat(v float64) Scaled {
	if v == 0 || !finite(v) || math.Abs(v) > 0x1p100 || math.Abs(v) < 0x1p-100 {
		return Scaled{}
	}
	f, e := math.Frexp(v)
	m := int64(math.Floor(math.Ldexp(f, MantBits) + 0.5))
	if m == 1<<MantBits || m == -(1<<MantBits) {
		m /= 2
		e++
	}
	return Scaled{M: int32(m), E: int32(e - MantBits)}
}

// hostMant converts v ≥ 0 to a mantissa-shift pair with bits-bit mantissa:
// v ≈ m·2^-sh, 2^(bits−1) ≤ m < 2^bits, m = floor(f·2^bits + 0.5) for
// v = f·2^e (0.5 ≤ f < 1), sh = bits − e. Values below 2^-(shMax−bits+1)
// (too small for a shift of at most shMax) give (0, 0).
func hostMant(v float64, bits, shMax int) (uint32, uint8) {
	if !(v > 0) {
		return 0, 0
	}
	f, e := math.Frexp(v)
	m := int64(math.Floor(math.Ldexp(f, bits) + 0.5))
	if m == 1<<bits {
		m >>= 1
		e++
	}
	sh := bits - e
	if sh > shMax {
		return 0, 0
	}
	return uint32(m), uint8(sh)
}

// XFromFloat converts a float64 log-return to X (sQ4.27): clamped to
// [−8, 8], then rounded half up, floor(x·2^27 + 0.5). NaN and ±Inf are a
// *RangeError.
func XFromFloat(x float64) (int32, error) {
	if !finite(x) {
		return 0, rangeErr("x", x, "log-return must be finite")
	}
	x = min(max(x, -8), 8)
	return int32(fixedFromFloat(x, XFrac)), nil
}

// MFromFloat converts a float64 vol multiplier to M (uQ8.24): rounded half
// up, floor(m·2^24 + 0.5), then clamped to [MMin, MMax] (2^-8 .. 256−2^-24).
// NaN, ±Inf and negative values are a *RangeError.
func MFromFloat(m float64) (uint32, error) {
	if !finite(m) || m < 0 {
		return 0, rangeErr("volMul", m, "vol multiplier must be finite and non-negative")
	}
	m = min(m, 512)
	return uint32(min(max(fixedFromFloat(m, MFrac), MMin), MMax)), nil
}

// ConvertX converts float64 log-returns (historical rows, stress points)
// with XFromFloat into dst, which must have src's length.
func ConvertX(dst []int32, src []float64) error {
	if len(dst) != len(src) {
		return rangeErr("len(dst)", float64(len(dst)), "want %d", len(src))
	}
	for i, v := range src {
		x, err := XFromFloat(v)
		if err != nil {
			return rangeErr(fmt.Sprintf("x[%d]", i), v, "log-return must be finite")
		}
		dst[i] = x
	}
	return nil
}

// ConvertM converts float64 vol multipliers (stress points) with
// MFromFloat into dst, which must have src's length.
func ConvertM(dst []uint32, src []float64) error {
	if len(dst) != len(src) {
		return rangeErr("len(dst)", float64(len(dst)), "want %d", len(src))
	}
	for i, v := range src {
		m, err := MFromFloat(v)
		if err != nil {
			return rangeErr(fmt.Sprintf("volMul[%d]", i), v, "vol multiplier must be finite and non-negative")
		}
		dst[i] = m
	}
	return nil
}

// hostLog returns ln x for a positive finite x, deterministically: every
// product is rounded before it is added (no fused multiply-add), so the
// result is the same on every platform. With x = 2^k·f, f in [√½, √2),
// s = (f−1)/(f+1) and ln f = 2·atanh s = 2s·(1 + s²/3 + … + s^20/21)
// (|s| ≤ 0.1716: the omitted terms are below 1e-17 relative), and
// ln x = k·ln2_hi + (k·ln2_lo + ln f) with ln2_hi holding 32 significant
// bits so that k·ln2_hi is exact. It is within a few ulp of math.Log.
func hostLog(x float64) float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01 // 32 significant bits
		ln2Lo = 1.90821492927058770002e-10
	)
	f, k := math.Frexp(x) // x = f·2^k, f in [0.5, 1)
	if f < math.Sqrt2/2 {
		f *= 2
		k--
	}
	s := (f - 1) / (f + 1)
	s2 := float64(s * s)
	// Horner from the top: 1/21, 1/19, …, 1/3, 1.
	poly := 1.0 / 21
	for j := 19; j >= 1; j -= 2 {
		poly = float64(poly*s2) + 1/float64(j)
	}
	lnf := float64(2 * float64(s*poly))
	kf := float64(k)
	return float64(kf*ln2Hi) + (float64(kf*ln2Lo) + lnf)
}
