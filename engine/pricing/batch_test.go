package pricing

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// batchCases is a large book for the bit-identity tests: the grid, a
// random book over wide ranges (deep in and out of the money, tiny and
// huge total volatilities, negative rates), extreme inputs, the σ→0 and
// T = 0 limits, and invalid inputs.
func batchCases() []Inputs {
	var ins []Inputs
	grid(func(in Inputs) { ins = append(ins, in) })
	ins = append(ins, benchMix(2000)...)
	rng := rand.New(rand.NewPCG(51, 52))
	for range 20000 {
		in := Inputs{Model: Model(1 + rng.IntN(2)), Kind: Kind(1 + rng.IntN(2))}
		in.S = math.Exp(rng.NormFloat64() * 3)
		in.K = in.S * math.Exp(rng.NormFloat64()*math.Pow(10, 2*rng.Float64()-2))
		in.T = math.Pow(10, 5*rng.Float64()-4)
		in.Sigma = math.Pow(10, 4*rng.Float64()-3)
		in.R = rng.NormFloat64() * 0.1
		if rng.IntN(3) == 0 {
			in.Q = rng.NormFloat64() * 0.1
		}
		if rng.IntN(5) == 0 {
			in.R = 0
		}
		ins = append(ins, in)
	}
	vals := struct{ S, K, T, sig, r []float64 }{
		S:   []float64{1e-300, 1e-10, 1, 1e10, 1e300},
		K:   []float64{1e-300, 1e-10, 1, 1e10, 1e300},
		T:   []float64{0, 1e-300, 1e-12, 1, 1e3},
		sig: []float64{0, 1e-300, 1e-8, 0.3, 50},
		r:   []float64{-0.5, 0, 0.05, 0.5},
	}
	for _, m := range []Model{ModelBSM, ModelBlack76} {
		for _, k := range []Kind{Call, Put} {
			for _, S := range vals.S {
				for _, K := range vals.K {
					for _, T := range vals.T {
						for _, sig := range vals.sig {
							for _, r := range vals.r {
								ins = append(ins, Inputs{Model: m, Kind: k, S: S, K: K, T: T, R: r, Q: r / 2, Sigma: sig})
							}
						}
					}
				}
			}
		}
	}
	nan, inf := math.NaN(), math.Inf(1)
	good := bs(Call, 100, 100, 1, 0.05, 0, 0.2)
	for _, mut := range []func(*Inputs){
		func(in *Inputs) { in.S = 0 }, func(in *Inputs) { in.S = nan }, func(in *Inputs) { in.K = -1 },
		func(in *Inputs) { in.T = -1 }, func(in *Inputs) { in.T = inf }, func(in *Inputs) { in.Sigma = nan },
		func(in *Inputs) { in.R = inf }, func(in *Inputs) { in.Q = nan }, func(in *Inputs) { in.Model = 0 },
		func(in *Inputs) { in.Kind = 9 },
	} {
		bad := good
		mut(&bad)
		ins = append(ins, bad)
	}
	// Shuffle, so that every chunk mixes models, kinds, limits and
	// failures.
	rng.Shuffle(len(ins), func(i, j int) { ins[i], ins[j] = ins[j], ins[i] })
	return ins
}

func sameGreeks(a, b Greeks) bool {
	return same(a.Price, b.Price) && same(a.Delta, b.Delta) && same(a.Gamma, b.Gamma) && same(a.Vega, b.Vega) &&
		same(a.Theta, b.Theta) && same(a.Rho, b.Rho) && same(a.Vanna, b.Vanna) && same(a.Volga, b.Volga)
}

// TestComputeBatchBitIdentical: every output is Compute's, bit for bit, and
// the error names the first failure and counts them, for batch lengths
// that exercise full chunks, partial chunks and single options.
func TestComputeBatchBitIdentical(t *testing.T) {
	ins := batchCases()
	want := make([]Greeks, len(ins))
	wantErr := make([]error, len(ins))
	for i, in := range ins {
		want[i], wantErr[i] = Compute(in)
	}
	out := make([]Greeks, len(ins))
	for _, size := range []int{len(ins), 1, 3, batchChunk - 1, batchChunk, batchChunk + 1, 100} {
		for i0 := 0; i0 < len(ins); i0 += size {
			i1 := min(i0+size, len(ins))
			for i := range out[i0:i1] {
				out[i0+i] = Greeks{Price: -7} // must be overwritten
			}
			err := ComputeBatch(ins[i0:i1], out[i0:i1])
			first, failed := -1, 0
			for i := i0; i < i1; i++ {
				if !sameGreeks(out[i], want[i]) {
					t.Fatalf("size %d: %+v: ComputeBatch %+v, Compute %+v", size, ins[i], out[i], want[i])
				}
				if wantErr[i] != nil {
					if first < 0 {
						first = i
					}
					failed++
				}
			}
			if failed == 0 {
				if err != nil {
					t.Fatalf("size %d, options %d–%d: unexpected error %v", size, i0, i1, err)
				}
				continue
			}
			var be *BatchError
			if !errors.As(err, &be) || be.Index != first-i0 || be.Failed != failed || be.Err.Error() != wantErr[first].Error() {
				t.Fatalf("size %d, options %d–%d: error %v, want option %d of %d failures: %v", size, i0, i1, err, first-i0, failed, wantErr[first])
			}
			if errors.Is(wantErr[first], ErrRange) != errors.Is(err, ErrRange) || errors.Is(wantErr[first], ErrInvalid) != errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap like %v", err, wantErr[first])
			}
		}
	}
	t.Logf("%d options compared", len(ins))
}

func TestComputeBatchLengths(t *testing.T) {
	if err := ComputeBatch(nil, nil); err != nil {
		t.Fatal(err)
	}
	in := []Inputs{bs(Call, 100, 100, 1, 0.05, 0, 0.2)}
	out := []Greeks{{Price: 3}, {Price: 4}}
	if err := ComputeBatch(in, out); !errors.Is(err, ErrInvalid) || out[0].Price != 3 {
		t.Fatalf("mismatched lengths: %v, %+v", err, out)
	}
}

func TestComputeBatchDoesNotAllocate(t *testing.T) {
	mix := benchMix(100)
	out := make([]Greeks, len(mix))
	if n := testing.AllocsPerRun(100, func() {
		if err := ComputeBatch(mix, out); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("ComputeBatch allocates %v times per call", n)
	}
}
