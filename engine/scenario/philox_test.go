package scenario

import (
	"math"
	"math/bits"
	"testing"
)

// Known-answer vectors of Random123 (D. E. Shaw Research), tests/kat_vectors, the
// three "philox4x32 10" lines: counter (4 words), key (2 words), expected (4 words).
//
//	philox4x32 10 00000000 00000000 00000000 00000000 00000000 00000000   6627e8d5 e169c58d bc57ac4c 9b00dbd8
//	philox4x32 10 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff   408f276d 41c83b0e a20bc7c6 6d5451fd
//	philox4x32 10 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0   d16cfe09 94fdcceb 5001e420 24126ea1
func TestPhilox4x32KnownAnswers(t *testing.T) {
	cases := []struct {
		name string
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{"zeros", [4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{"ones", [4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff}, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{"pi", [4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, c := range cases {
		if got := Philox4x32(c.ctr, c.key); got != c.want {
			t.Errorf("%s: Philox4x32(%08x, %08x) = %08x, want %08x", c.name, c.ctr, c.key, got, c.want)
		}
	}
}

// Flipping any one bit of the counter or key must change about half of the 128
// output bits (avalanche): consecutive counters give unrelated outputs.
func TestPhilox4x32CounterIndependence(t *testing.T) {
	key := SeedKey(0x0123456789abcdef)
	var flips, trials int
	for base := uint32(0); base < 64; base++ {
		ctr := Counter(base, StreamMarket, uint64(base)*0x9e3779b97f4a7c15)
		ref := Philox4x32(ctr, key)
		for w := 0; w < 6; w++ {
			for b := 0; b < 32; b++ {
				c, k := ctr, key
				if w < 4 {
					c[w] ^= 1 << b
				} else {
					k[w-4] ^= 1 << b
				}
				out := Philox4x32(c, k)
				if out == ref {
					t.Fatalf("flipping word %d bit %d left the output unchanged", w, b)
				}
				for i := range out {
					flips += bits.OnesCount32(out[i] ^ ref[i])
				}
				trials++
			}
		}
	}
	// Each trial is Binomial(128, 1/2): mean 64, sd sqrt(32); over n trials the mean
	// flip count has sd sqrt(32/n). Allow 6 sd.
	mean := float64(flips) / float64(trials)
	if tol := 6 * math.Sqrt(32/float64(trials)); math.Abs(mean-64) > tol {
		t.Errorf("mean output bits flipped per input bit = %.3f, want 64 ± %.3f", mean, tol)
	}
	// Consecutive block counters in one stream: among 4·4096 output words, random
	// 32-bit words would collide about (16384²/2)/2^32 ≈ 0.03 times; allow 3.
	seen := make(map[uint32]bool)
	for b := uint32(0); b < 4096; b++ {
		for _, x := range Philox4x32(Counter(b, StreamMarket, 7), key) {
			seen[x] = true
		}
	}
	if len(seen) < 4*4096-3 {
		t.Errorf("%d distinct words among %d", len(seen), 4*4096)
	}
}

func TestSeedKeyCounterLayout(t *testing.T) {
	if k := SeedKey(0x1122334455667788); k != [2]uint32{0x55667788, 0x11223344} {
		t.Errorf("SeedKey = %08x", k)
	}
	if c := Counter(3, StreamVolShock, 0xaabbccdd00112233); c != [4]uint32{3, 2, 0x00112233, 0xaabbccdd} {
		t.Errorf("Counter = %08x", c)
	}
}

func TestUniform(t *testing.T) {
	if got, want := Uniform(0), 0x1p-33; got != want {
		t.Errorf("Uniform(0) = %g, want %g", got, want)
	}
	if got, want := Uniform(math.MaxUint32), 1-0x1p-33; got != want {
		t.Errorf("Uniform(max) = %g, want %g", got, want)
	}
	for _, x := range []uint32{0, 1, 2, 1 << 31, 1<<31 - 1, 12345, math.MaxUint32 - 1, math.MaxUint32} {
		u := Uniform(x)
		if !(u > 0 && u < 1) || u == 0.5 {
			t.Errorf("Uniform(%d) = %g, want in (0,1) and not 1/2", x, u)
		}
		if u+Uniform(math.MaxUint32-x) != 1 {
			t.Errorf("Uniform(%d) + Uniform(%d) != 1", x, math.MaxUint32-x)
		}
		// Exact: (x+0.5)·2^32 recovers 2x+1 exactly.
		if uint64(u*0x1p33) != 2*uint64(x)+1 {
			t.Errorf("Uniform(%d) is not exact", x)
		}
	}
}

func TestNormalMatchesDefinition(t *testing.T) {
	key := SeedKey(42)
	for k := uint32(0); k < 9; k++ {
		w := Philox4x32([4]uint32{k / 4, StreamChiSquare, 5, 0}, key)
		if got, want := Normal(key, StreamChiSquare, 5, k), InvNorm(Uniform(w[k%4])); got != want {
			t.Errorf("Normal(k=%d) = %v, want %v", k, got, want)
		}
	}
}

var sinkWords [4]uint32

func BenchmarkPhilox4x32(b *testing.B) {
	key := SeedKey(1)
	var acc [4]uint32
	for i := 0; b.Loop(); i++ {
		out := Philox4x32(Counter(uint32(i), StreamMarket, 9), key)
		acc[0] ^= out[0]
		acc[1] ^= out[1]
		acc[2] ^= out[2]
		acc[3] ^= out[3]
	}
	sinkWords = acc
	b.ReportMetric(float64(b.N)*4/b.Elapsed().Seconds(), "words/s")
}
