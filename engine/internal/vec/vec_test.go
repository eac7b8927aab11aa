package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randVec(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		switch rng.IntN(20) {
		case 0:
			v[i] = 0
		case 1:
			v[i] = math.Copysign(0, -1)
		case 2:
			v[i] = 1e-310 // subnormal
		default:
			v[i] = (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(12)-6))
		}
	}
	return v
}

func same(a, b []float64) bool {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

func TestAddScaledMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 100, 1000} {
		for range 20 {
			src := randVec(rng, n+3)
			dst := randVec(rng, n)
			want := append([]float64(nil), dst...)
			q := (rng.Float64() - 0.5) * 1e3
			addScaledGo(want, q, src)
			AddScaled(dst, q, src)
			if !same(dst, want) {
				t.Fatalf("n=%d: kernel %s differs from the Go version", n, Kernel)
			}
		}
	}
}

func TestAccumulateMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const rows, stride = 50, 100
	base := randVec(rng, rows*stride)
	for _, n := range []int{0, 1, 2, 7, 20, 64} {
		for range 50 {
			idx := make([]uint32, n)
			qty := make([]float64, n)
			for j := range idx {
				idx[j] = uint32(rng.IntN(rows))
				qty[j] = float64(rng.IntN(2001) - 1000)
			}
			off := rng.IntN(stride - Block + 1)
			var got, want [Block]float64
			got[3] = 99 // must be overwritten
			Accumulate(got[:], base, stride, off, idx, qty)
			accumulateGo(want[:], base, stride, off, idx, qty)
			if !same(got[:], want[:]) {
				t.Fatalf("n=%d: kernel %s differs from the Go version", n, Kernel)
			}
			// And both equal the AddScaled definition.
			var ref [Block]float64
			for j := range idx {
				addScaledGo(ref[:], qty[j], base[int(idx[j])*stride+off:])
			}
			if !same(got[:], ref[:]) {
				t.Fatal("Accumulate is not the sum of AddScaled")
			}
		}
	}
}

func TestAccumulateBounds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a row past the matrix did not panic")
		}
	}()
	var dst [Block]float64
	Accumulate(dst[:], make([]float64, 100), 50, 20, []uint32{1}, []float64{1})
}

func TestNoAllocs(t *testing.T) {
	var dst [Block]float64
	base := make([]float64, 64*Block)
	idx := []uint32{1, 5, 9}
	qty := []float64{1, 2, 3}
	v := make([]float64, 100)
	if n := testing.AllocsPerRun(100, func() {
		Accumulate(dst[:], base, Block, 0, idx, qty)
		AddScaled(v, 2, v)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// BenchmarkAccumulate compares the selected kernel with the Go loop that
// specifies it.
func BenchmarkAccumulate(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	const rows = 2000
	base := randVec(rng, rows*Block)
	idx := make([]uint32, 20)
	qty := make([]float64, 20)
	for j := range idx {
		idx[j] = uint32(rng.IntN(rows))
		qty[j] = float64(j + 1)
	}
	var dst [Block]float64
	for _, k := range []struct {
		name string
		fn   func(dst []float64, base []float64, stride, off int, idx []uint32, qty []float64)
	}{{Kernel, Accumulate}, {"go", accumulateGo}} {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				k.fn(dst[:], base, Block, 0, idx, qty)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*20*Block), "ns/madd")
		})
	}
}

func BenchmarkAddScaled(b *testing.B) {
	dst := make([]float64, 10000)
	src := make([]float64, 10000)
	for b.Loop() {
		AddScaled(dst, 1.5, src)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(dst)), "ns/elem")
}

func TestAddScaledToMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 100, 1000} {
		for range 20 {
			l := randVec(rng, n+2)
			p := randVec(rng, n+5)
			q := (rng.Float64() - 0.5) * 1e3
			want := make([]float64, n)
			got := randVec(rng, n) // every element must be overwritten
			addScaledToGo(want, l, q, p)
			AddScaledTo(got, l, q, p)
			if !same(got, want) {
				t.Fatalf("n=%d: kernel %s differs from the Go version", n, Kernel)
			}
			// In place (dst = l) gives the same.
			in := append([]float64(nil), l[:n]...)
			AddScaledTo(in, in, q, p)
			if !same(in, want) {
				t.Fatalf("n=%d: in place differs", n)
			}
		}
	}
}

// filterCase draws a vector with many ties at the threshold, ±0 and
// subnormals around a zero threshold, and a quantity that may be ±0.
func filterCase(rng *rand.Rand, n int) (l, p []float64, q, t float64) {
	l, p = randVec(rng, n), randVec(rng, n)
	switch rng.IntN(5) {
	case 0:
		q = 0
	case 1:
		q = math.Copysign(0, -1)
	case 2:
		q = float64(rng.IntN(7) - 3)
	default:
		q = (rng.Float64() - 0.5) * 100
	}
	switch rng.IntN(4) {
	case 0:
		t = 0 // ±0 results tie with it
	case 1:
		t = math.Copysign(0, -1)
	case 2:
		t = math.Inf(-1) // everything passes
	default:
		// A value that occurs: exact ties.
		if n > 0 {
			k := rng.IntN(n)
			t = l[k] + float64(q*p[k])
		}
	}
	for k := range l {
		if rng.IntN(8) == 0 { // many elements equal to the threshold
			l[k], p[k] = t, 0
		}
	}
	return l, p, q, t
}

func TestAddScaledFilterMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{0, 1, 3, 15, 16, 17, 31, 32, 47, 64, 100, 1000, 10000} {
		for range 40 {
			l, p, q, th := filterCase(rng, n)
			want := make([]float64, n)
			got := make([]float64, n)
			for k := range got {
				got[k] = 12345 // sentinel beyond the count
			}
			cw := addScaledFilterGo(want, l, q, p, th)
			cg := AddScaledFilter(got, l, q, p, th)
			if cg != cw || !same(got[:cg], want[:cw]) {
				t.Fatalf("n=%d q=%v t=%v: kernel %s kept %d, Go %d, or values differ", n, q, th, Kernel, cg, cw)
			}
			// The definition: the values of AddScaledTo that are >= t.
			all := make([]float64, n)
			addScaledToGo(all, l, q, p)
			// Filter on the materialised vector gives the same.
			fg := make([]float64, n)
			if cf := Filter(fg, all, th); cf != cg || !same(fg[:cf], got[:cg]) {
				t.Fatalf("n=%d: Filter (kernel %s) differs from AddScaledFilter", n, Kernel)
			}
			if cf := filterGo(fg, all, th); cf != cg || !same(fg[:cf], got[:cg]) {
				t.Fatalf("n=%d: filterGo differs from AddScaledFilter", n)
			}
			c := 0
			for _, v := range all {
				if v >= th {
					if math.Float64bits(v) != math.Float64bits(got[c]) {
						t.Fatalf("n=%d: survivor %d differs from the definition", n, c)
					}
					c++
				}
			}
			if c != cg {
				t.Fatalf("n=%d: %d survivors, definition %d", n, cg, c)
			}
		}
	}
}

// TestAddScaledFilterStoresInBounds checks that the kernel never writes at
// or beyond out[len(l)] even when every value passes.
func TestAddScaledFilterStoresInBounds(t *testing.T) {
	const n = 64
	buf := make([]float64, n+8)
	for k := range buf {
		buf[k] = -7
	}
	l := make([]float64, n)
	p := make([]float64, n)
	for k := range l {
		l[k] = float64(k)
	}
	if c := AddScaledFilter(buf[:n], l, 1, p, math.Inf(-1)); c != n {
		t.Fatalf("%d survivors, want %d", c, n)
	}
	for k := n; k < len(buf); k++ {
		if buf[k] != -7 {
			t.Fatalf("write beyond out at %d", k)
		}
	}
	for k := range n {
		if buf[k] != float64(k) {
			t.Fatalf("out[%d] = %v", k, buf[k])
		}
	}
}

func TestCompactPerm(t *testing.T) {
	for m, row := range compactPerm {
		k := 0
		for i := range 4 {
			if m>>i&1 != 0 {
				if row[2*k] != uint32(2*i) || row[2*k+1] != uint32(2*i+1) {
					t.Fatalf("mask %04b: lane %d not moved to %d", m, i, k)
				}
				k++
			}
		}
	}
}

func TestPostKernelsNoAllocs(t *testing.T) {
	l := make([]float64, 1000)
	p := make([]float64, 1000)
	out := make([]float64, 1000)
	idx := make([]int32, 300)
	for j := range idx {
		idx[j] = int32(j * 3)
	}
	if n := testing.AllocsPerRun(100, func() {
		AddScaledTo(out, l, 2, p)
		AddScaledFilter(out, l, 2, p, 0)
		Filter(out, l, 0)
		GatherAddScaled(out[:300], l, 2, p, idx)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func benchPost(b *testing.B, f func(l, p, out []float64) int) {
	rng := rand.New(rand.NewPCG(6, 6))
	const n = 10000
	l, p := make([]float64, n), make([]float64, n)
	for k := range l {
		l[k], p[k] = rng.NormFloat64(), rng.NormFloat64()
	}
	out := make([]float64, n)
	for b.Loop() {
		f(l, p, out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
}

// BenchmarkAddScaledFilter: one post-trade pass over 10,000 scenarios of
// which about 2.5 % survive (warm caches).
func BenchmarkAddScaledFilter(b *testing.B) {
	benchPost(b, func(l, p, out []float64) int { return AddScaledFilter(out, l, 0.5, p, 2.2) })
}

func BenchmarkAddScaledFilterGo(b *testing.B) {
	benchPost(b, func(l, p, out []float64) int { return addScaledFilterGo(out, l, 0.5, p, 2.2) })
}

func BenchmarkAddScaledTo(b *testing.B) {
	benchPost(b, func(l, p, out []float64) int { AddScaledTo(out, l, 0.5, p); return 0 })
}

func BenchmarkFilter(b *testing.B) {
	benchPost(b, func(l, p, out []float64) int { return Filter(out, l, 1.96) })
}

func TestGatherAddScaledMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 100, 1064} {
		for range 20 {
			np := 1 + rng.IntN(3000)
			p := randVec(rng, np)
			l := randVec(rng, n+2)
			idx := make([]int32, n+2)
			for j := range idx {
				idx[j] = int32(rng.IntN(np))
			}
			idx[rng.IntN(len(idx))] = int32(np - 1) // the largest valid index
			q := (rng.Float64() - 0.5) * 1e3
			want := make([]float64, n)
			gatherAddScaledGo(want, l, q, p, idx)
			for j := range want { // the definition, element by element
				if v := l[j] + float64(q*p[idx[j]]); math.Float64bits(v) != math.Float64bits(want[j]) {
					t.Fatal("gatherAddScaledGo differs from its definition")
				}
			}
			got := randVec(rng, n)
			GatherAddScaled(got, l, q, p, idx)
			if !same(got, want) {
				t.Fatalf("n=%d: kernel %s differs from the Go version", n, Kernel)
			}
			// In place: dst is l.
			inPlace := append([]float64(nil), l[:n]...)
			GatherAddScaled(inPlace, inPlace, q, p, idx)
			if !same(inPlace, want) {
				t.Fatalf("n=%d: in-place kernel %s differs from the Go version", n, Kernel)
			}
		}
	}
}

func TestGatherAddScaledBounds(t *testing.T) {
	for _, n := range []int{3, 8, 16, 21} {
		for _, bad := range []int32{-1, 50, math.MaxInt32, math.MinInt32} {
			for _, at := range []int{0, n - 1} {
				idx := make([]int32, n)
				idx[at] = bad
				dst := make([]float64, n)
				func() {
					defer func() {
						if recover() == nil {
							t.Fatalf("n=%d: index %d at %d did not panic", n, bad, at)
						}
					}()
					GatherAddScaled(dst, make([]float64, n), 1, make([]float64, 50), idx)
				}()
			}
		}
	}
}

func TestFilterInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{0, 5, 16, 33, 1000} {
		for range 20 {
			v := randVec(rng, n)
			th := (rng.Float64() - 0.5) * 1e-3
			want := make([]float64, n)
			c := filterGo(want, v, th)
			got := append([]float64(nil), v...)
			if k := Filter(got, got, th); k != c || !same(got[:c], want[:c]) {
				t.Fatalf("n=%d: in-place Filter differs", n)
			}
		}
	}
}

// benchGather: 350 scenarios of an account's tail gathered from a
// 10,000-scenario instrument vector, warm (all in cache) or cold (a
// different one of 2,000 instrument vectors, 160 MB, every call).
func benchGather(b *testing.B, cold bool, f func(dst, l []float64, p []float64, idx []int32)) {
	rng := rand.New(rand.NewPCG(9, 9))
	const n, m = 10000, 350
	rows := 1
	if cold {
		rows = 2000
	}
	ps := make([][]float64, rows)
	for i := range ps {
		ps[i] = make([]float64, n)
		for k := range ps[i] {
			ps[i][k] = rng.NormFloat64()
		}
	}
	idx := make([]int32, m)
	for j := range idx {
		idx[j] = int32(rng.IntN(n))
	}
	l, dst := make([]float64, m), make([]float64, m)
	i := 0
	for b.Loop() {
		f(dst, l, ps[i%rows], idx)
		i = (i + 1) % rows
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*m), "ns/elem")
}

func BenchmarkGatherAddScaled(b *testing.B) {
	for _, cold := range []bool{false, true} {
		name := "warm"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			benchGather(b, cold, func(dst, l, p []float64, idx []int32) { GatherAddScaled(dst, l, 0.5, p, idx) })
		})
		b.Run(name+"-go", func(b *testing.B) {
			benchGather(b, cold, func(dst, l, p []float64, idx []int32) { gatherAddScaledGo(dst, l, 0.5, p, idx) })
		})
	}
}
