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
	for b.Loop() {
		Accumulate(dst[:], base, Block, 0, idx, qty)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*20*Block), "ns/madd")
}

func BenchmarkAccumulateGo(b *testing.B) {
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
	for b.Loop() {
		accumulateGo(dst[:], base, Block, 0, idx, qty)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*20*Block), "ns/madd")
}

func BenchmarkAddScaled(b *testing.B) {
	dst := make([]float64, 10000)
	src := make([]float64, 10000)
	for b.Loop() {
		AddScaled(dst, 1.5, src)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(dst)), "ns/elem")
}
