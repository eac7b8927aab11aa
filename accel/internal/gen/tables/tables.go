// Package tables generates every function table of Ballast's fixed-point
// risk kernel (docs/accel-numerics.md) from one description, for the Go
// kernel (accel/fxp/tables_gen.go), for the RTL ($readmemh images under
// hdl/mem/ and the SystemVerilog package hdl/rtl/ballast_tables_pkg.sv): a
// single source of truth, so that the CPU kernel and the device compute with
// the same bits.
//
// Every table is a piecewise quadratic: entry i holds three integer
// coefficients (c0, c1, c2) and the kernel evaluates, for a segment offset t
// with TFrac fraction bits (0 ≤ t < 1),
//
//	y   = c0 + rshr((c1 + rshr(c2·t, TFrac))·t, TFrac)
//	out = rshr(y, Guard)
//
// with rshr(x, n) = (x + 2^(n−1)) >> n, arithmetic (round half up). The
// coefficients carry Guard extra fraction bits beyond the output format.
// They interpolate the function at the three Chebyshev nodes of the segment
// and are rounded half up. The generator checks every table's error and the
// widths of every product before it emits anything.
//
// The output is deterministic: function values come from math/big (exp,
// erfc), from correctly rounded float64 operations (division, square root)
// and from engine/scenario.InvNorm (itself bit-reproducible), and every
// float64 product in the fit is rounded explicitly so that no compiler may
// fuse it into an FMA. Files returns the same bytes on every platform.
package tables

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/ballast-risk/ballast/engine/scenario"
)

// File is one generated file, its path relative to the repository root.
type File struct {
	Path string
	Data []byte
}

// Table is one generated function table.
type Table struct {
	// Name is the table's identifier ("exp2"); the Go array is Name+"Tab",
	// the $readmemh images are hdl/mem/Name_c0.memh etc.
	Name string
	// Doc describes the function and the segment layout in one line.
	Doc string
	// TFrac is the number of fraction bits of the segment offset t.
	TFrac int
	// Guard is the number of fraction bits the coefficients carry beyond
	// the output format.
	Guard int
	// OutFrac is the number of fraction bits of the output.
	OutFrac int
	// C holds the coefficients (c0, c1, c2) of every segment.
	C [][3]int64
	// Width is the two's-complement width in bits of each coefficient
	// column.
	Width [3]int
	// MaxErrULP is the largest error measured by the generator against the
	// float64 function, in units of the output's last place.
	MaxErrULP float64
}

// AddrBits is the address width of the table: ceil(log2(entries)).
func (t *Table) AddrBits() int { return bits.Len(uint(len(t.C) - 1)) }

// Constant is one number-format constant shared by the Go kernel and the RTL.
type Constant struct {
	// GoName is the exported Go name, SVName the SystemVerilog localparam.
	GoName, SVName string
	// Value is the constant.
	Value int64
	// Doc completes the sentence that begins with the name.
	Doc string
}

// Constants are the number formats of the numeric contract.
func Constants() []Constant {
	return []Constant{
		{"ZFrac", "Z_FRAC", 28, "is the number of fraction bits of normal deviates and of d1, d2 (Z: sQ3.28 in an int32)."},
		{"XFrac", "X_FRAC", 27, "is the number of fraction bits of log-returns (X: sQ4.27 in an int32)."},
		{"XMax", "X_MAX", 8 << 27, "is the clamp of log-returns: x lies in [-XMax, XMax] (±8.0)."},
		{"MFrac", "M_FRAC", 24, "is the number of fraction bits of vol multipliers (M: uQ8.24 in a uint32)."},
		{"MOne", "M_ONE", 1 << 24, "is the vol multiplier 1.0."},
		{"MMin", "M_MIN", 1 << 16, "is the smallest vol multiplier (2^-8); multipliers are clamped to [MMin, MMax]."},
		{"MMax", "M_MAX", 1<<32 - 1, "is the largest vol multiplier (256 - 2^-24)."},
		{"SFrac", "S_FRAC", 28, "is the number of fraction bits of the total vol σ√T (uQ4.28 in a uint32)."},
		{"SMin", "S_MIN", 1 << 12, "is the intrinsic threshold (2^-16): a shocked total vol below it is priced at its σ→0 limit."},
		{"SMax", "S_MAX", 1<<32 - 1, "is the saturation of the shocked total vol (16 - 2^-28)."},
		{"SHostMax", "S_HOST_MAX", 8 << 28, "is the largest unshocked total vol an instrument may have (8.0)."},
		{"PFrac", "P_FRAC", 31, "is the number of fraction bits of probabilities and densities (P: uQ1.31 in a uint32)."},
		{"POne", "P_ONE", 1 << 31, "is the probability 1.0."},
		{"VFrac", "V_FRAC", 32, "is the number of fraction bits of values and Greeks normalised by the spot mark (V: sQ31.32 in an int64)."},
		{"VMax", "V_MAX", 1 << 46, "bounds |value| and |value change| (2^14 spot marks)."},
		{"CFrac", "C_FRAC", 30, "is the number of fraction bits of Cholesky entries, ρ and √(1-ρ²) (C: sQ1.30 in an int32)."},
		{"ZAccFrac", "Z_ACC_FRAC", 40, "is the number of fraction bits of the rounded Cholesky products and of their int64 sum."},
		{"WFrac", "W_FRAC", 32, "is the number of fraction bits of the chi-square sum W (uQ12.32 in an int64)."},
		{"ScaleFrac", "SCALE_FRAC", 24, "is the number of fraction bits of the Student-t scale (uQ8.24 in a uint32)."},
		{"TZFrac", "TZ_FRAC", 27, "is the number of fraction bits of the scaled normal s·ẑ (sQ8.27: 36 bits in an int64)."},
		{"TZMax", "TZ_MAX", 1<<35 - 1, "is the saturation of s·ẑ: it lies in [-TZMax, TZMax]."},
		{"MantBits", "MANT_BITS", 31, "is the width of a Scaled mantissa: 2^30 ≤ |M| < 2^31, or M = 0."},
		{"HostMantBits", "HOST_MANT_BITS", 28, "is the width of the host mantissas of σ√h and η√h, which lie in [2^27, 2^28)."},
		{"LossMantBits", "LOSS_MANT_BITS", 24, "is the width of loss-scale mantissas, which lie in [2^23, 2^24)."},
		{"LossPreShift", "LOSS_PRE_SHIFT", 8, "is the rounding of value changes to 24 fraction bits before the loss scale."},
		{"MoneyFrac", "MONEY_FRAC", 12, "is the number of fraction bits of money on the device (int64 units of 2^-12 currency)."},
		{"Log2EM1Q34", "LOG2E_M1_Q34", log2EM1Q34(), "is round((log2(e) − 1)·2^34), the Exp range-reduction constant (uQ0.34, 33 bits)."},
		{"Log2EHalfQ32", "LOG2E_HALF_Q32", log2EHalfQ32(), "is round(log2(e)/2·2^32), the NormPDF exponent constant (uQ0.32)."},
		{"Log2Sqrt2PiQ32", "LOG2_SQRT_2PI_Q32", log2Sqrt2PiQ32(), "is round(log2(√(2π))·2^32), the NormPDF normalisation (uQ1.32)."},
	}
}

// spec describes one table before fitting.
type spec struct {
	name, doc             string
	entries               int
	tFrac, guard, outFrac int
	// f returns the function on segment i at offset t in [0, 1]: the
	// values the coefficients are fitted to.
	f func(i int, t float64) float64
	// ref, when not nil, is a faster float64 evaluation of f used only to
	// measure the error (it does not influence the output).
	ref func(i int, t float64) float64
	// exactT, when not nil, lists the offsets (raw, TFrac fraction bits)
	// at which the kernel evaluates entry i; the error is measured there
	// instead of on a uniform grid.
	exactT func(i int) []int64
	// maxULP bounds the error the generator accepts, in output ulps.
	maxULP float64
}

// InvNorm layout: v < invNormDirect are tabulated exactly; octave k (v in
// [2^k, 2^(k+1)), k = 6..30) is split into 2^invNormSubBits sub-segments.
const (
	invNormSubBits = 7
	invNormDirect  = 1 << invNormSubBits
	invNormOctLo   = invNormSubBits
	invNormOctHi   = 30
	invNormTFrac   = 31 - invNormSubBits
)

func specs() []spec {
	return []spec{
		{
			name:    "invnorm",
			doc:     "Φ⁻¹((v+0.5)·2^-32) for v < 2^31: v < 128 direct; else octave k = 7..30 (v in [2^k, 2^(k+1))), 128 sub-segments, t = (r+0.5)/2^(k-7)",
			entries: invNormDirect + (invNormOctHi-invNormOctLo+1)<<invNormSubBits,
			tFrac:   invNormTFrac, guard: 4, outFrac: 28, maxULP: 1.5,
			f: func(i int, t float64) float64 {
				if i < invNormDirect {
					return scenario.InvNorm((float64(i) + 0.5) * 0x1p-32)
				}
				j := i - invNormDirect
				k := invNormOctLo + j>>invNormSubBits
				sub := j & (1<<invNormSubBits - 1)
				w := math.Ldexp(1, k-invNormSubBits)
				v := math.Ldexp(1, k) + float64((float64(sub)+t)*w)
				return scenario.InvNorm(v * 0x1p-32)
			},
			exactT: func(i int) []int64 {
				if i < invNormDirect {
					return []int64{0}
				}
				k := invNormOctLo + (i-invNormDirect)>>invNormSubBits
				n := int64(1) << (k - invNormSubBits) // values in the segment
				step := max(n/64, 1)
				var ts []int64
				for r := int64(0); r < n; r += step {
					ts = append(ts, (2*r+1)<<(invNormTFrac-1-k+invNormSubBits))
				}
				return append(ts, (2*(n-1)+1)<<(invNormTFrac-1-k+invNormSubBits))
			},
		},
		{
			name: "exp2", doc: "2^f mantissa for f = (i+t)/256 in [0, 1)",
			entries: 256, tFrac: 24, guard: 4, outFrac: 30, maxULP: 1,
			f:   func(i int, t float64) float64 { return exp2((float64(i) + t) / 256) },
			ref: func(i int, t float64) float64 { return math.Exp2((float64(i) + t) / 256) },
		},
		{
			name: "recip", doc: "1/m for m = 1+(i+t)/512 in [1, 2)",
			entries: 512, tFrac: 21, guard: 4, outFrac: 31, maxULP: 1,
			f: func(i int, t float64) float64 { return 1 / (1 + (float64(i)+t)/512) },
		},
		{
			name: "rsqrt", doc: "1/√m for m = 1+(i+t)/512 in [1, 2) (i < 512) and m = 2·(1+(i-512+t)/512) in [2, 4)",
			entries: 1024, tFrac: 21, guard: 4, outFrac: 31, maxULP: 1,
			f: func(i int, t float64) float64 {
				m := 1 + (float64(i&511)+t)/512
				if i >= 512 {
					m *= 2
				}
				return 1 / math.Sqrt(m)
			},
		},
		{
			name: "normcdf", doc: "N(-a) for a = (i+t)/256 in [0, 8)",
			entries: 2048, tFrac: 20, guard: 4, outFrac: 31, maxULP: 1,
			f:   func(i int, t float64) float64 { return normTail((float64(i) + t) / 256) },
			ref: func(i int, t float64) float64 { return 0.5 * math.Erfc((float64(i)+t)/256/math.Sqrt2) },
		},
	}
}

// rshr is the contract's one rounding rule: x/2^n rounded half up,
// (x + 2^(n−1)) >> n, written so that it cannot overflow.
func rshr(x int64, n uint) int64 {
	if n == 0 {
		return x
	}
	return x>>n + (x>>(n-1))&1
}

// Eval evaluates entry c of a table at offset t (the kernel's arithmetic).
func Eval(c [3]int64, t int64, tFrac, guard int) int64 {
	p := rshr(c[2]*t, uint(tFrac))
	p = rshr((c[1]+p)*t, uint(tFrac))
	return rshr(c[0]+p, uint(guard))
}

// chebyshev nodes of [0, 1] for a quadratic.
var nodes = func() [3]float64 {
	h := math.Sqrt(3) / 4
	return [3]float64{0.5 - h, 0.5, 0.5 + h}
}()

// fit returns the rounded coefficients of the quadratic through (t_i, y_i)
// at the Chebyshev nodes, for values already scaled to coefficient units.
func fit(y [3]float64) [3]int64 {
	t0, t1, t2 := nodes[0], nodes[1], nodes[2]
	d01 := (y[1] - y[0]) / (t1 - t0)
	d12 := (y[2] - y[1]) / (t2 - t1)
	d012 := (d12 - d01) / (t2 - t0)
	// p(t) = y0 + d01·(t−t0) + d012·(t−t0)(t−t1)
	c2 := d012
	c1 := d01 - float64(d012*(t0+t1))
	c0 := y[0] - float64(d01*t0) + float64(d012*float64(t0*t1))
	return [3]int64{roundHalfUp(c0), roundHalfUp(c1), roundHalfUp(c2)}
}

// widthOf returns the two's-complement width that holds v.
func widthOf(v int64) int {
	if v < 0 {
		v = ^v
	}
	return bits.Len64(uint64(v)) + 1
}

// build fits, checks and measures one table.
func build(s spec) (*Table, error) {
	tab := &Table{Name: s.name, Doc: s.doc, TFrac: s.tFrac, Guard: s.guard, OutFrac: s.outFrac, C: make([][3]int64, s.entries)}
	scale := math.Ldexp(1, s.outFrac+s.guard)
	for i := range tab.C {
		var y [3]float64
		for j, t := range nodes {
			y[j] = float64(s.f(i, t) * scale)
		}
		tab.C[i] = fit(y)
	}
	for j := 0; j < 3; j++ {
		for _, c := range tab.C {
			tab.Width[j] = max(tab.Width[j], widthOf(c[j]))
		}
	}
	// Products must fit an int64 exactly: c2·t, and (c1 + p)·t with
	// |p| ≤ |c2|.
	tb := s.tFrac
	if tab.Width[2]-1+tb > 62 || max(tab.Width[1], tab.Width[2])+tb > 62 {
		return nil, fmt.Errorf("table %s: coefficient widths %v with %d offset bits overflow a 64-bit product", s.name, tab.Width, tb)
	}
	// Measure the error on a grid of offsets (and the exact offsets the
	// kernel uses, where given) against the float64 function.
	ulp := 1.0
	outScale := math.Ldexp(1, s.outFrac)
	one := int64(1) << tb
	worst := 0
	for i, c := range tab.C {
		var ts []int64
		if s.exactT != nil {
			ts = s.exactT(i)
		} else {
			ts = []int64{0, one / 4, one / 2, 3 * one / 4, one - 1}
		}
		for _, t := range ts {
			got := float64(Eval(c, t, tb, s.guard))
			ref := s.f
			if s.ref != nil {
				ref = s.ref
			}
			want := float64(ref(i, math.Ldexp(float64(t), -tb)) * outScale)
			if e := math.Abs(got-want) / ulp; e > tab.MaxErrULP {
				tab.MaxErrULP = e
				worst = i
			}
		}
	}
	if tab.MaxErrULP > s.maxULP {
		return nil, fmt.Errorf("table %s: error %.3g ulp at entry %d exceeds %g ulp", s.name, tab.MaxErrULP, worst, s.maxULP)
	}
	return tab, nil
}

// Tables builds every table, in the canonical order.
func Tables() ([]*Table, error) {
	var out []*Table
	for _, s := range specs() {
		t, err := build(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
