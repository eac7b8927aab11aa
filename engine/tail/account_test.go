package tail

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func genQ(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return 1e12 * float64(1-2*r.IntN(2)) // huge: flips the tail
	case 3:
		return QuantityAbsMax * float64(1-2*r.IntN(2)) // at the bound
	case 4:
		return float64(r.IntN(2001) - 1000) // integer, may tie
	case 5:
		return r.NormFloat64() * 1e-3 // tiny
	default:
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(6)-2))
	}
}

// genInstrument draws a per-unit loss vector loosely related to l (so that
// it may hedge or add to the tail) or unrelated.
func genInstrument(r *rand.Rand, l []float64) []float64 {
	p := make([]float64, len(l))
	switch r.IntN(5) {
	case 0:
		for i := range p {
			p[i] = l[i]*0.5 + r.NormFloat64()
		}
	case 1:
		for i := range p {
			p[i] = -l[i]
		}
	case 2:
		copy(p, genVector(r, len(l)))
	case 3: // sparse
		for i := range p {
			if r.IntN(20) == 0 {
				p[i] = r.NormFloat64() * 100
			}
		}
	default:
		for i := range p {
			p[i] = r.NormFloat64()
		}
	}
	return p
}

func TestPostTradeRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	sc := &Scratch{}
	for it := range 3000 / raceDiv {
		n := genN(r)
		l := genVector(r, n)
		spec := genSpec(r, n)
		a, err := NewAccount(l, spec)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := a.Result(), brute(l, spec); !sameBits(got, want) {
			t.Fatalf("case %d pre-trade: got %+v want %+v", it, got, want)
		}
		in, err := NewInstrument(genInstrument(r, l))
		if err != nil {
			t.Fatal(err)
		}
		q := genQ(r)
		want := brute(materialise(l, []Leg{{in, q}}), spec)
		if got := PostTrade(a, in, q, sc); !sameBits(got, want) {
			t.Fatalf("case %d n=%d spec=%+v q=%v: got %+v want %+v", it, n, spec, q, got, want)
		}
		if got := PostTradeMulti(a, []Leg{{in, q}}, sc); !sameBits(got, want) {
			t.Fatalf("case %d multi(1): got %+v want %+v", it, got, want)
		}
		legs := make([]Leg, 1+r.IntN(4))
		for i := range legs {
			legs[i].Q = genQ(r)
			if legs[i].In, err = NewInstrument(genInstrument(r, l)); err != nil {
				t.Fatal(err)
			}
		}
		want = brute(materialise(l, legs), spec)
		if got := PostTradeMulti(a, legs, sc); !sameBits(got, want) {
			t.Fatalf("case %d multi(%d): got %+v want %+v", it, len(legs), got, want)
		}
	}
}

// TestPostTradeRealistic covers the benchmark's setting: small and large
// orders on a correlated portfolio, every path of the kernel.
func TestPostTradeRealistic(t *testing.T) {
	m := newMarket(2, 10000)
	sc := NewScratch(m.n)
	r := rand.New(rand.NewPCG(13, 14))
	for range 300 {
		in, q := m.order(r, 0.01+r.Float64()*2)
		want := brute(materialise(m.acct.l, []Leg{{in, q}}), m.spec)
		if got := PostTrade(m.acct, in, q, sc); !sameBits(got, want) {
			t.Fatalf("q=%v: got %+v want %+v", q, got, want)
		}
	}
}

func TestPostTradeZeroQ(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	sc := &Scratch{}
	for range 200 {
		n := genN(r)
		l := genVector(r, n)
		spec := genSpec(r, n)
		a, _ := NewAccount(l, spec)
		in, _ := NewInstrument(genInstrument(r, l))
		if got := PostTrade(a, in, 0, sc); !sameBits(got, a.Result()) {
			t.Fatalf("q=0 changed the result: %+v vs %+v", got, a.Result())
		}
		if got := PostTradeMulti(a, nil, sc); !sameBits(got, a.Result()) {
			t.Fatalf("no legs changed the result")
		}
	}
}

func TestPostTradeBadQuantity(t *testing.T) {
	l := []float64{1, 2, 3}
	a, _ := NewAccount(l, Spec{1, 2})
	in, _ := NewInstrument([]float64{1, 1, 1})
	sc := &Scratch{}
	for _, q := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), QuantityAbsMax * 2} {
		if got := PostTrade(a, in, q, sc); !math.IsNaN(got.VaR) || !math.IsNaN(got.ES) {
			t.Errorf("q=%v: %+v, want NaN", q, got)
		}
		if got := PostTradeMulti(a, []Leg{{in, 1}, {in, q}}, sc); !math.IsNaN(got.ES) {
			t.Errorf("multi q=%v: %+v, want NaN", q, got)
		}
	}
	legs := make([]Leg, LegsMax+1)
	for i := range legs {
		legs[i] = Leg{in, 1}
	}
	if got := PostTradeMulti(a, legs, sc); !math.IsNaN(got.ES) {
		t.Errorf("too many legs: %+v", got)
	}
	if got := PostTradeMulti(a, legs[:LegsMax], sc); got != (Result{VaR: 3 + LegsMax, ES: 2.5 + LegsMax}) {
		t.Errorf("LegsMax legs: %+v", got)
	}
	short, _ := NewInstrument([]float64{1, 2})
	for _, f := range []func(){
		func() { PostTrade(a, short, 1, sc) },
		func() { PostTradeMulti(a, []Leg{{short, 1}}, sc) },
		func() { PostTrade(&Account{}, in, 1, sc) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("length mismatch did not panic")
				}
			}()
			f()
		}()
	}
}

func TestAccountInstrumentValidation(t *testing.T) {
	for _, v := range [][]float64{nil, {math.NaN()}, {1, math.Inf(1)}, {-2 * ValueAbsMax}} {
		if _, err := NewAccount(v, Spec{1, 1}); err == nil {
			t.Errorf("NewAccount(%v) accepted", v)
		}
		if _, err := NewInstrument(v); err == nil {
			t.Errorf("NewInstrument(%v) accepted", v)
		}
	}
	if _, err := NewAccount([]float64{1, 2}, Spec{3, 1}); !errors.Is(err, ErrSpec) {
		t.Errorf("spec beyond N: %v", err)
	}
	var a Account
	if err := a.Reset([]float64{1}, Spec{1, 1}); err != nil || a.Len() != 1 {
		t.Fatal(err)
	}
	if err := a.Reset([]float64{math.NaN()}, Spec{1, 1}); err == nil || a.Len() != 0 {
		t.Fatal("failed Reset left the account usable")
	}
	var in Instrument
	if err := in.Reset([]float64{math.NaN()}); err == nil || in.Len() != 0 {
		t.Fatal("failed Reset left the instrument usable")
	}
}

func TestTailIndices(t *testing.T) {
	l := []float64{5, 1, 9, 9, 3, 7}
	a, err := NewAccount(l, Spec{KVaR: 2, KES: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.TailIndices(); !slices.Equal(got, []int32{2, 3, 5, 0}) {
		t.Fatalf("TailIndices = %v", got)
	}
	if a.Spec() != (Spec{2, 4}) {
		t.Fatal("Spec")
	}
}

// TestAccountReset reuses one Account and one Instrument across sizes.
func TestAccountReset(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	var a Account
	var in Instrument
	sc := &Scratch{}
	for range 200 {
		n := genN(r)
		l := genVector(r, n)
		spec := genSpec(r, n)
		if err := a.Reset(l, spec); err != nil {
			t.Fatal(err)
		}
		p := genInstrument(r, l)
		if err := in.Reset(p); err != nil {
			t.Fatal(err)
		}
		q := genQ(r)
		if got, want := PostTrade(&a, &in, q, sc), brute(materialise(l, []Leg{{&in, q}}), spec); !sameBits(got, want) {
			t.Fatalf("after Reset: got %+v want %+v", got, want)
		}
	}
}

func TestPostTradeAllocs(t *testing.T) {
	m := newMarket(3, 10000)
	sc := NewScratch(m.n)
	r := rand.New(rand.NewPCG(19, 20))
	small, qs := m.order(r, 0.05)
	large, ql := m.order(r, 1)
	legs := []Leg{{small, qs}, {large, ql}}
	for name, f := range map[string]func(){
		"small": func() { PostTrade(m.acct, small, qs, sc) },
		"large": func() { PostTrade(m.acct, large, ql*20, sc) },
		"multi": func() { PostTradeMulti(m.acct, legs, sc) },
	} {
		if n := testing.AllocsPerRun(50, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}

// TestConcurrentReaders shares one Account and Instrument between
// goroutines, each with its own Scratch (run under -race).
func TestConcurrentReaders(t *testing.T) {
	m := newMarket(4, 4096)
	in, q := m.order(rand.New(rand.NewPCG(1, 1)), 0.5)
	want := PostTrade(m.acct, in, q, NewScratch(m.n))
	done := make(chan Result)
	for range 4 {
		go func() {
			sc := NewScratch(m.n)
			var res Result
			for range 50 {
				res = PostTrade(m.acct, in, q, sc)
			}
			done <- res
		}()
	}
	for range 4 {
		if got := <-done; !sameBits(got, want) {
			t.Fatalf("concurrent result %+v, want %+v", got, want)
		}
	}
}

// fullPassTaken reports whether postTrade goes to the full pass for legs.
func fullPassTaken(a *Account, legs []Leg) bool {
	n := len(a.l)
	lgs := make([]leg, len(legs))
	for i, lg := range legs {
		lgs[i] = newLeg(lg.In, lg.Q, n)
	}
	t := math.Inf(1)
	for j, s := range a.order[:a.spec.Kmax()] {
		t = min(t, post(a.ls[j], lgs, s))
	}
	return len(a.order) < n && postBound(a.ls[len(a.order)-1], lgs) >= t
}

// TestPostTradeFullPass drives the full pass, including a sample threshold
// that too few values reach (the retry with the prefix bound): the
// account's largest losses sit exactly at the sampled scenarios.
func TestPostTradeFullPass(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	sc := NewScratch(10000)
	retries, full := 0, 0
	for it := range 40 {
		n := 4096 + r.IntN(6000)
		spec, _ := NewSpec(n, 0.975, 0.99)
		l := genVector(r, n)
		trap := it%2 == 0
		if trap {
			stride := n / sampleSize
			for i := range sampleSize {
				l[i*stride+stride/2] = 1e6 + float64(r.IntN(3))
			}
		}
		a, err := NewAccount(l, spec)
		if err != nil {
			t.Fatal(err)
		}
		in, _ := NewInstrument(genInstrument(r, l))
		in2, _ := NewInstrument(genInstrument(r, l))
		q := float64(1 + r.IntN(1000))
		if r.IntN(2) == 0 {
			q = -q
		}
		for _, legs := range [][]Leg{{{in, q}}, {{in, q}, {in2, -q / 3}, {in, 0.5}}} {
			if !fullPassTaken(a, legs) {
				continue
			}
			full++
			want := brute(materialise(l, legs), spec)
			got := PostTradeMulti(a, legs, sc)
			if len(legs) == 1 {
				if g1 := PostTrade(a, legs[0].In, legs[0].Q, sc); !sameBits(g1, got) {
					t.Fatalf("PostTrade %+v differs from PostTradeMulti %+v", g1, got)
				}
			}
			if !sameBits(got, want) {
				t.Fatalf("case %d n=%d legs=%d: got %+v want %+v", it, n, len(legs), got, want)
			}
			if trap {
				// Count whether the sample guess was too high.
				pv := materialise(l, legs)
				stride := n / sampleSize
				smp := make([]float64, sampleSize)
				for i := range smp {
					smp[i] = pv[i*stride+stride/2]
				}
				g := sampleThreshold(smp, spec.Kmax(), n)
				c := 0
				for _, v := range pv {
					if v >= g {
						c++
					}
				}
				if c < spec.Kmax() {
					retries++
				}
			}
		}
	}
	if full < 10 || retries == 0 {
		t.Fatalf("%d full passes, %d retries after a too-high sample threshold: the test misses the paths", full, retries)
	}
}

func TestRthLargest(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for range 300 {
		m := 1 + r.IntN(600)
		v := make([]float64, m)
		for i := range v {
			v[i] = float64(r.IntN(20)) // ties
			if r.IntN(9) == 0 {
				v[i] = math.Copysign(0, -1)
			}
		}
		k := 1 + r.IntN(m)
		s := slices.Clone(v)
		slices.Sort(s)
		if got, want := rthLargest(slices.Clone(v), k), s[m-k]; got != want {
			t.Fatalf("m=%d r=%d: %v, want %v", m, k, got, want)
		}
	}
}

// TestPrefixEnd compares prefixEnd with a binary search over the
// non-increasing bounds, for every start and thresholds at, between and
// beyond the bounds.
func TestPrefixEnd(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for it := range 3000 / raceDiv {
		n := 1 + r.IntN(1200)
		ls := make([]float64, n)
		for i := range ls {
			ls[i] = float64(r.IntN(n/3+1)) * 0.5 // ties
		}
		slices.Sort(ls)
		slices.Reverse(ls)
		lgs := make([]leg, 1+r.IntN(3))
		for i := range lgs {
			lgs[i].u = r.NormFloat64()
		}
		th := postBound(ls[r.IntN(n)], lgs)
		switch it % 4 {
		case 1:
			th = math.Nextafter(th, math.Inf(1))
		case 2:
			th = postBound(ls[0], lgs) + 1
		case 3:
			th = postBound(ls[n-1], lgs) - 1
		}
		from := r.IntN(n + 1)
		want := from + sort.Search(n-from, func(j int) bool { return postBound(ls[from+j], lgs) < th })
		if got := prefixEnd(ls, from, lgs, th); got != want {
			t.Fatalf("case %d n=%d from=%d: %d, want %d", it, n, from, got, want)
		}
	}
}
