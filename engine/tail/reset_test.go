package tail

import (
	"cmp"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refPrefix is the reference prefix: the indices of the d largest losses
// by (loss descending, index ascending), −0 and +0 being equal.
func refPrefix(l []float64, d int) []int32 {
	idx := make([]int32, len(l))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(x, y int32) int {
		if c := cmp.Compare(l[y], l[x]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	return idx[:d]
}

// checkAccount verifies every field of the summary against the reference.
func checkAccount(t *testing.T, a *Account, l []float64, spec Spec) {
	t.Helper()
	n := len(l)
	d := prefixDepth(n, spec.Kmax())
	want := refPrefix(l, d)
	if !slices.Equal(a.order, want) {
		t.Fatalf("n=%d %+v: prefix order differs", n, spec)
	}
	for j, s := range a.order {
		if math.Float64bits(a.ls[j]) != math.Float64bits(l[s]) {
			t.Fatalf("ls[%d] = %v, want L[%d] = %v", j, a.ls[j], s, l[s])
		}
	}
	if got, want := a.Result(), brute(l, spec); !sameBits(got, want) {
		t.Fatalf("Result %+v, want %+v", got, want)
	}
}

func TestAccountSummary(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	var a Account
	sc := &Scratch{}
	for it := range 600 / raceDiv {
		n := genN(r)
		if it%3 == 0 {
			n = 4096 + r.IntN(12000) // the sampled path
		}
		l := genVector(r, n)
		spec := genSpec(r, n)
		if r.IntN(2) == 0 {
			spec = Spec{KVaR: max(1, n/100), KES: max(1, n/40)}
		}
		res, err := a.ResetWith(l, spec, sc)
		if err != nil {
			t.Fatal(err)
		}
		if !sameBits(res, a.Result()) {
			t.Fatalf("ResetWith returned %+v, Result %+v", res, a.Result())
		}
		checkAccount(t, &a, l, spec)
	}
}

// TestAccountSignedZeros: −0 and +0 are ties, ordered by index, and ls
// keeps each loss's own sign.
func TestAccountSignedZeros(t *testing.T) {
	neg0 := math.Copysign(0, -1)
	l := []float64{neg0, 0, neg0, 1, 0, -1}
	a, err := NewAccount(l, Spec{KVaR: 5, KES: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.TailIndices(); !slices.Equal(got, []int32{3, 0, 1, 2, 4}) {
		t.Fatalf("TailIndices = %v", got)
	}
	checkAccount(t, a, l, a.Spec())
	if !math.Signbit(a.ls[1]) || math.Signbit(a.ls[2]) {
		t.Fatalf("signs of zeros lost: %v", a.ls)
	}
}

// TestAccountSampleMiss defeats the sampled threshold: every sampled
// scenario holds the maximum, so too few losses reach it and Reset takes
// the second pass.
func TestAccountSampleMiss(t *testing.T) {
	const n = 20000
	spec := Spec{KVaR: 100, KES: 250}
	m := min(prefixSample, n/4)
	stride := n / m
	r := rand.New(rand.NewPCG(23, 24))
	l := make([]float64, n)
	for i := range l {
		l[i] = r.Float64() * 99
	}
	for i := range m {
		l[i*stride+stride/2] = 100
	}
	a, err := NewAccount(l, spec)
	if err != nil {
		t.Fatal(err)
	}
	checkAccount(t, a, l, spec)
}

// TestAccountBuckets covers key distributions that defeat one bucket pass:
// outliers far above a dense bulk (recursion), many ties, and a prefix
// boundary inside a large bucket.
func TestAccountBuckets(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	spec := Spec{KVaR: 100, KES: 250}
	const n = 10000
	shapes := map[string]func(i int) float64{
		"outliers": func(i int) float64 {
			if i%997 == 0 {
				return 1e90 * r.Float64()
			}
			return r.NormFloat64()
		},
		"ties":  func(int) float64 { return float64(r.IntN(50)) },
		"dense": func(int) float64 { return 1 + float64(r.IntN(3))*0x1p-52 },
		"both signs": func(int) float64 {
			return math.Copysign(math.Pow(10, r.Float64()*200-100), r.NormFloat64())
		},
		"subnormal": func(int) float64 { return float64(r.IntN(1000)) * 0x1p-1070 },
	}
	for name, f := range shapes {
		l := make([]float64, n)
		for i := range l {
			l[i] = f(i)
		}
		a, err := NewAccount(l, spec)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkAccount(t, a, l, spec)
	}
}

// TestAccountInvalid puts one invalid loss at positions the sample does
// and does not read, in vectors on both the sampled and the full path.
func TestAccountInvalid(t *testing.T) {
	bad := []float64{math.NaN(), -math.NaN(), math.Inf(1), math.Inf(-1), 2 * ValueAbsMax, -2 * ValueAbsMax}
	for _, n := range []int{1, 3, 7, 64, 1001, 10000, 10003} {
		r := rand.New(rand.NewPCG(uint64(n), 27))
		base := make([]float64, n)
		for i := range base {
			base[i] = r.NormFloat64()
		}
		spec := Spec{KVaR: max(1, n/100), KES: max(1, n/40)}
		var a Account
		for _, v := range bad {
			for _, at := range []int{0, n / 2, n - 1, min(n-1, 10)} {
				l := slices.Clone(base)
				l[at] = v
				if err := a.Reset(l, spec); !errors.Is(err, ErrValue) || a.Len() != 0 {
					t.Fatalf("n=%d value %v at %d: err %v, Len %d", n, v, at, err, a.Len())
				}
			}
		}
		edge := slices.Clone(base)
		edge[0], edge[n-1] = ValueAbsMax, -ValueAbsMax
		if err := a.Reset(edge, spec); err != nil {
			t.Fatalf("n=%d: ±ValueAbsMax rejected: %v", n, err)
		}
		checkAccount(t, &a, edge, spec)
	}
}

func TestAccountResetAllocs(t *testing.T) {
	m := newMarket(5, 10000)
	sc := NewScratch(m.n)
	var a Account
	if _, err := a.ResetWith(m.acct.l, m.spec, sc); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(50, func() { a.ResetWith(m.acct.l, m.spec, sc) }); n != 0 {
		t.Errorf("ResetWith: %v allocations", n)
	}
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(50, func() { a.Reset(m.acct.l, m.spec) }); n != 0 {
		t.Errorf("Reset: %v allocations", n)
	}
}

// TestDescKey checks the key order on values around every kind of float.
func TestDescKey(t *testing.T) {
	vals := []float64{math.Inf(-1), -math.MaxFloat64, -1e100, -2, -1, -math.SmallestNonzeroFloat64,
		math.Copysign(0, -1), 0, math.SmallestNonzeroFloat64, 0x1p-1022, 1, 2, 1e100, math.MaxFloat64, math.Inf(1)}
	r := rand.New(rand.NewPCG(28, 29))
	for range 2000 {
		vals = append(vals, math.Float64frombits(r.Uint64()&^(0x7ff<<52)|uint64(r.IntN(0x7ff))<<52))
	}
	for _, x := range vals {
		for _, y := range vals {
			kx, ky := descKey(x), descKey(y)
			if (x > y) != (kx < ky) || (x == y) != (kx == ky) {
				t.Fatalf("keys of %v and %v out of order", x, y)
			}
		}
	}
}

// TestSortKeys compares sortKeys with a stable sort, for every need.
func TestSortKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(30, 31))
	var cnt radixCounts
	for it := range 3000 / raceDiv {
		n := 1 + r.IntN(3000)
		a := make([]keyIdx, n)
		for i := range a {
			switch it % 4 {
			case 0:
				a[i].k = r.Uint64()
			case 1:
				a[i].k = uint64(r.IntN(10))
			case 2:
				a[i].k = r.Uint64() >> r.IntN(64)
			default:
				a[i].k = descKey(genVector(r, 1)[0])
			}
			a[i].i = int32(i)
		}
		want := slices.Clone(a)
		slices.SortStableFunc(want, func(x, y keyIdx) int { return cmp.Compare(x.k, y.k) })
		need := 1 + r.IntN(n)
		lo, hi := keyRange(a)
		if it%5 == 0 {
			lo, hi = 0, math.MaxUint64 // a loose range is allowed
		}
		got := sortKeys(slices.Clone(a), make([]keyIdx, n), need, lo, hi, &cnt)
		if !slices.Equal(got[:need], want[:need]) {
			t.Fatalf("case %d n=%d need=%d: prefix differs", it, n, need)
		}
		rest := slices.Clone(got[need:])
		slices.SortStableFunc(rest, func(x, y keyIdx) int {
			if c := cmp.Compare(x.k, y.k); c != 0 {
				return c
			}
			return cmp.Compare(x.i, y.i)
		})
		if !slices.Equal(rest, want[need:]) {
			t.Fatalf("case %d n=%d need=%d: remainder is not a permutation", it, n, need)
		}
	}
}
