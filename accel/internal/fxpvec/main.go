// Command fxpvec writes the test vectors of the fixed-point unit testbenches
// (hdl/tb/fxp) from the Go golden functions of accel/fxp: every expected
// output comes from the code the CPU backend runs, never from a
// re-implementation.
//
// Usage:
//
//	go run ./accel/internal/fxpvec -out hdl/build/vectors/fxp [-random 4096] [-seed 1]
//
// One $readmemh image per unit, <unit>.memh: word 0 is the vector count,
// word i ≥ 1 is {in[127:0], out[63:0]} (48 hex digits; in[127:64] is zero
// except for smul):
//
//	invnorm  in = w (uint32)          out = z (int32, sign-extended)
//	exp      in = x (int32, sign-ext) out = {M, E}
//	normcdf  in = d (int64)           out = N(d) (uint32)
//	normpdf  in = d (int64)           out = {M, E}
//	recip    in = {M, E}              out = {M, E}
//	rsqrt    in = {M, E}              out = {M, E}
//	smul     in = {a.M, a.E, b.M, b.E} out = Mul(a, b) as {M, E}
//
// The inputs are every table-segment boundary ±1 (where the segment is a
// function of the input), the clamps, special values and pseudo-random
// inputs from a fixed seed. The files are build outputs (hdl/build/ is
// git-ignored).
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/ballast-risk/ballast/accel/fxp"
)

// vectorsMax bounds the vectors of one file (the testbenches' array depth).
const vectorsMax = 1<<16 - 1

// randomMax bounds -random.
const randomMax = 20000

// vec is one test vector: a 64-bit input and a 64-bit expected output.
type vec struct{ inHi, in, out uint64 }

// errRandom reports an out-of-range -random.
var errRandom = errors.New("fxpvec: -random out of range")

func main() {
	out := flag.String("out", "hdl/build/vectors/fxp", "output directory")
	random := flag.Int("random", 4096, "pseudo-random inputs per unit")
	seed := flag.Uint64("seed", 1, "seed of the pseudo-random inputs")
	flag.Parse()
	if err := run(*out, *random, *seed); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(dir string, random int, seed uint64) error {
	if random < 0 || random > randomMax {
		return fmt.Errorf("%w: %d (0..%d)", errRandom, random, randomMax)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	units := []struct {
		name string
		vs   []vec
	}{
		{"invnorm", invNormVectors(r, random)},
		{"exp", expVectors(r, random)},
		{"normcdf", dVectors(r, random, normCDF)},
		{"normpdf", dVectors(r, random, normPDF)},
		{"recip", scaledVectors(r, random, 512, recip)},
		{"rsqrt", scaledVectors(r, random, 512, rsqrt)},
		{"smul", mulVectors(r, random)},
	}
	for _, u := range units {
		if err := writeFile(filepath.Join(dir, u.name+".memh"), u.vs); err != nil {
			return err
		}
	}
	return nil
}

func packScaled(s fxp.Scaled) uint64 { return uint64(uint32(s.M))<<32 | uint64(uint32(s.E)) }

func unpackScaled(v uint64) fxp.Scaled {
	return fxp.Scaled{M: int32(uint32(v >> 32)), E: int32(uint32(v))}
}

func invNorm(w uint32) vec {
	return vec{in: uint64(w), out: uint64(int64(fxp.InvNorm(w)))}
}

// invNormVectors: every directly tabulated word, every segment start ±1 in
// both halves, and random words.
func invNormVectors(r *rand.Rand, random int) []vec {
	var vs []vec
	add := func(v uint32) { vs = append(vs, invNorm(v), invNorm(^v)) }
	for v := uint32(0); v < 130; v++ {
		add(v)
	}
	for k := uint(7); k <= 30; k++ {
		for s := uint32(0); s < 128; s++ {
			start := (128 + s) << (k - 7)
			add(start - 1)
			add(start)
			add(start + 1)
		}
	}
	add(1<<31 - 1)
	for range random {
		vs = append(vs, invNorm(r.Uint32()))
	}
	return vs
}

func expVec(x int32) vec { return vec{in: uint64(int64(x)), out: packScaled(fxp.Exp(x))} }

// expVectors: the clamps, the x nearest to every exp2 segment boundary
// (x·log2 e = k + i/256) ±2, and random x over the full int32 range and
// within the clamp.
func expVectors(r *rand.Rand, random int) []vec {
	var vs []vec
	for _, x := range []int32{0, 1, -1, fxp.XMax, fxp.XMax - 1, fxp.XMax + 1, -fxp.XMax, -fxp.XMax - 1,
		-fxp.XMax + 1, math.MaxInt32, math.MinInt32} {
		vs = append(vs, expVec(x))
	}
	const seg = 256
	for k := -12; k < 12; k++ {
		for i := range seg {
			xf := (float64(k) + float64(i)/seg) / math.Log2E * (1 << fxp.XFrac)
			if math.Abs(xf) > fxp.XMax+2 {
				continue
			}
			x := int32(math.Round(xf))
			for d := int32(-2); d <= 2; d++ {
				vs = append(vs, expVec(x+d))
			}
		}
	}
	for i := range random {
		if i%4 == 0 {
			vs = append(vs, expVec(int32(r.Uint32())))
		} else {
			vs = append(vs, expVec(int32(r.Int64N(2*fxp.XMax+1)-fxp.XMax)))
		}
	}
	return vs
}

func normCDF(d int64) uint64 { return uint64(fxp.NormCDF(d)) }
func normPDF(d int64) uint64 { return packScaled(fxp.NormPDF(d)) }

// dVectors: every normcdf segment boundary ±1 in both signs, the clamp of
// |d| at 2^31−1, the int64 extremes and random d (mostly within ±8).
func dVectors(r *rand.Rand, random int, f func(int64) uint64) []vec {
	var vs []vec
	add := func(d int64) { vs = append(vs, vec{in: uint64(d), out: f(d)}, vec{in: uint64(-d), out: f(-d)}) }
	for i := int64(0); i <= 2048; i++ {
		a := i << 20
		add(a - 1)
		add(a)
		add(a + 1)
	}
	for _, d := range []int64{1<<31 - 2, 1<<31 - 1, 1 << 31, 1<<31 + 1, 1 << 40, math.MaxInt64, 1 << 62} {
		add(d)
	}
	vs = append(vs, vec{in: 1 << 63, out: f(math.MinInt64)})
	for i := range random {
		var d int64
		switch i % 8 {
		case 0:
			d = int64(r.Uint64())
		case 1:
			d = r.Int64N(1<<34) - 1<<33
		default:
			d = r.Int64N(1<<32) - 1<<31
		}
		vs = append(vs, vec{in: uint64(d), out: f(d)})
	}
	return vs
}

func recip(a fxp.Scaled) fxp.Scaled { return fxp.Recip(a) }
func rsqrt(a fxp.Scaled) fxp.Scaled { return fxp.Rsqrt(a) }

// scaledVectors: every table segment boundary ±1 of the normalised mantissa
// with even and odd exponents, M = 2^30 and 2^31−1, zero and negative
// mantissas, the int32 exponent extremes (the exponent arithmetic wraps as in
// Go), and random Scaled inputs (mostly normalised, some any int32 mantissa).
func scaledVectors(r *rand.Rand, random, segs int, f func(fxp.Scaled) fxp.Scaled) []vec {
	var vs []vec
	add := func(a fxp.Scaled) { vs = append(vs, vec{in: packScaled(a), out: packScaled(f(a))}) }
	for i := range segs {
		start := int64(segs+i) << 21
		for _, m := range []int64{start - 1, start, start + 1} {
			if m < 1<<30 || m >= 1<<31 {
				continue
			}
			for _, e := range []int32{-30, -31, 0, 1, 17, -44} {
				add(fxp.Scaled{M: int32(m), E: e})
			}
		}
	}
	for _, m := range []int32{1 << 30, math.MaxInt32, 0, -1 << 30, math.MinInt32, -1, 1, 12345} {
		for _, e := range []int32{0, 1, -1, math.MaxInt32, math.MinInt32, math.MaxInt32 - 1, math.MinInt32 + 1} {
			add(fxp.Scaled{M: m, E: e})
		}
	}
	for i := range random {
		var a fxp.Scaled
		switch i % 8 {
		case 0:
			a = unpackScaled(r.Uint64())
		case 1:
			a = fxp.Scaled{M: int32(r.Uint32()), E: int32(r.IntN(400) - 200)}
		default:
			a = fxp.Scaled{M: int32(1<<30 + r.Int64N(1<<30)), E: int32(r.IntN(400) - 200)}
		}
		add(a)
	}
	return vs
}

func writeFile(path string, vs []vec) error {
	if len(vs) > vectorsMax {
		return fmt.Errorf("fxpvec: %s: %d vectors (max %d)", path, len(vs), vectorsMax)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "%048x\n", len(vs))
	for _, v := range vs {
		fmt.Fprintf(w, "%016x%016x%016x\n", v.inHi, v.in, v.out)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// mulVectors: products of the extreme mantissas (±2^30, ±(2^31−1), −2^31,
// 0, small), products whose rounding reaches 2^31 or is a negative half, the
// int32 exponent extremes (the exponent sum wraps as in Go), and random
// normalised operands of both signs.
func mulVectors(r *rand.Rand, random int) []vec {
	var vs []vec
	add := func(a, b fxp.Scaled) {
		vs = append(vs, vec{inHi: packScaled(a), in: packScaled(b), out: packScaled(fxp.Mul(a, b))})
	}
	ms := []int32{1 << 30, -1 << 30, math.MaxInt32, -math.MaxInt32, math.MinInt32, 0, 1, -1, 3,
		1<<30 + 1, -(1<<30 + 1), 0x5a827999, -0x5a827999, 0x7ffffffe}
	es := []int32{0, -31, 5, math.MaxInt32, math.MinInt32}
	for _, ma := range ms {
		for _, mb := range ms {
			for _, e := range es {
				add(fxp.Scaled{M: ma, E: e}, fxp.Scaled{M: mb, E: -3})
			}
		}
	}
	norm := func() int32 {
		m := int32(1<<30 + r.Int64N(1<<30))
		if r.IntN(2) == 0 {
			m = -m
		}
		return m
	}
	for range random {
		a := fxp.Scaled{M: norm(), E: int32(r.IntN(400) - 200)}
		b := fxp.Scaled{M: norm(), E: int32(r.IntN(400) - 200)}
		if r.IntN(16) == 0 {
			b.M = int32(r.Uint32())
		}
		add(a, b)
	}
	return vs
}
