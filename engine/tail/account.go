package tail

import (
	"fmt"
	"math"
	"sync"

	"github.com/ballast-risk/ballast/engine/internal/vec"
)

// prefixDepth returns how many of the largest pre-trade losses an Account
// keeps in order for n scenarios and tail rank kmax.
func prefixDepth(n, kmax int) int { return min(n, 4*kmax+64) }

// checkValues validates a loss vector: length in 1..ScenariosMax, every
// value finite with magnitude at most ValueAbsMax.
func checkValues(v []float64) error {
	if len(v) < 1 || len(v) > ScenariosMax {
		return fmt.Errorf("%w: %d", ErrScenarios, len(v))
	}
	for i, x := range v {
		if !(math.Abs(x) <= ValueAbsMax) {
			return fmt.Errorf("%w: index %d value %v", ErrValue, i, x)
		}
	}
	return nil
}

// Instrument is an instrument's per-unit scenario loss vector with its
// extremes. It keeps a reference to the vector, which must not change while
// the Instrument is in use (risk epochs are immutable). It is read-only
// after Reset and safe for concurrent readers.
type Instrument struct {
	p          []float64
	maxP, minP float64
}

// NewInstrument returns the Instrument of the per-unit loss vector p.
func NewInstrument(p []float64) (*Instrument, error) {
	in := &Instrument{}
	if err := in.Reset(p); err != nil {
		return nil, err
	}
	return in, nil
}

// Reset rebuilds the Instrument for p. On error the Instrument is left
// empty (and unusable) rather than half built.
func (in *Instrument) Reset(p []float64) error {
	in.p = nil
	if err := checkValues(p); err != nil {
		return err
	}
	in.maxP, in.minP = p[0], p[0]
	for _, x := range p[1:] {
		in.maxP = max(in.maxP, x)
		in.minP = min(in.minP, x)
	}
	in.p = p
	return nil
}

// Len returns the number of scenarios (0 for an unusable Instrument).
func (in *Instrument) Len() int { return len(in.p) }

// Account is an account's scenario loss vector L with the summary the
// incremental kernel needs: its spec, the indices and losses of its
// D = min(N, 4·Kmax+64) largest losses in descending order (ties by index),
// and the pre-trade Result. It keeps a reference to L, which must not
// change while the Account is in use. It is read-only after Reset and safe
// for concurrent readers.
type Account struct {
	l     []float64
	spec  Spec
	order []int32   // prefix scenario indices, L descending
	ls    []float64 // L[order[j]]
	pre   Result
}

// NewAccount returns the Account of loss vector losses under spec.
func NewAccount(losses []float64, spec Spec) (*Account, error) {
	a := &Account{}
	if err := a.Reset(losses, spec); err != nil {
		return nil, err
	}
	return a, nil
}

// resetPool holds the working memory of Reset.
var resetPool = sync.Pool{New: func() any { return new(Scratch) }}

// Reset rebuilds the Account for losses and spec, reusing its memory. On
// error the Account is left empty (and unusable) rather than half built.
// Its working memory comes from a pool; ResetWith takes it from the
// caller's Scratch instead.
func (a *Account) Reset(losses []float64, spec Spec) error {
	sc := resetPool.Get().(*Scratch)
	_, err := a.ResetWith(losses, spec, sc)
	resetPool.Put(sc)
	return err
}

// ResetWith is Reset with the caller's Scratch as working memory, and it
// returns the pre-trade Result (the same as Result and as Compute on
// losses). Once the Account and the Scratch have grown to the vector's
// size, it does not allocate.
func (a *Account) ResetWith(losses []float64, spec Spec, sc *Scratch) (Result, error) {
	a.l = nil
	n := len(losses)
	if n < 1 || n > ScenariosMax {
		return Result{}, fmt.Errorf("%w: %d", ErrScenarios, n)
	}
	if err := spec.Validate(n); err != nil {
		return Result{}, err
	}
	kmax := spec.Kmax()
	d := prefixDepth(n, kmax)
	idx := grown(&sc.idx, n)

	// Collect the scenarios at or above a threshold that at least d
	// losses reach (the guess from a sample is dropped if fewer do), and
	// validate every loss in the same pass.
	t := math.Inf(-1)
	if n >= 4*d {
		t = prefixThreshold(losses, d, sc)
	}
	c, mag := collect(losses, t, idx)
	if mag > magKeyMax {
		if err := checkValues(losses); err != nil {
			return Result{}, err
		}
		panic("tail: collect and checkValues disagree")
	}
	if c < d {
		t = math.Inf(-1)
		c, _ = collect(losses, t, idx)
	}

	// Sort the candidates by (loss descending, index ascending) as far as
	// the prefix reaches.
	keys := grown(&sc.keys, c)
	lo, hi := uint64(math.MaxUint64), uint64(0)
	for j, s := range idx[:c] {
		k := descKey(losses[s])
		keys[j] = keyIdx{k, s}
		lo = min(lo, k)
		hi = max(hi, k)
	}
	keys = sortKeys(keys, grown(&sc.tmp, c), d, lo, hi, sc.counts())

	a.order = resize(a.order, d)
	a.ls = resize(a.ls, d)
	order, ls := a.order[:d], a.ls[:d]
	for j, e := range keys[:d] {
		s := e.i
		order[j], ls[j] = s, losses[s]
	}
	a.spec = spec
	a.pre = finish(ls[:kmax], spec, sc)
	a.l = losses
	return a.pre, nil
}

// magKeyMax is the largest Float64bits(x)<<1 of a valid loss: the shift
// drops the sign, and NaN and ±Inf lie above it.
var magKeyMax = math.Float64bits(ValueAbsMax) << 1

// collect writes to idx, in increasing order, the indices s with
// !(l[s] < t) — the losses at or above t, and NaN — and returns their
// count together with the largest Float64bits(l[s])<<1, which exceeds
// magKeyMax if and only if a loss is invalid. The loop has no
// data-dependent branch: a candidate costs as much as any other loss.
func collect(l []float64, t float64, idx []int32) (int, uint64) {
	idx = idx[:len(l)]
	c := 0
	var m0, m1 uint64
	i := 0
	for ; i+4 <= len(l); i += 4 {
		g := l[i : i+4 : i+4]
		x0, x1, x2, x3 := g[0], g[1], g[2], g[3]
		idx[c] = int32(i)
		if !(x0 < t) {
			c++
		}
		idx[c] = int32(i + 1)
		if !(x1 < t) {
			c++
		}
		idx[c] = int32(i + 2)
		if !(x2 < t) {
			c++
		}
		idx[c] = int32(i + 3)
		if !(x3 < t) {
			c++
		}
		m0 = max(m0, math.Float64bits(x0)<<1, math.Float64bits(x1)<<1)
		m1 = max(m1, math.Float64bits(x2)<<1, math.Float64bits(x3)<<1)
	}
	for ; i < len(l); i++ {
		x := l[i]
		idx[c] = int32(i)
		if !(x < t) {
			c++
		}
		m0 = max(m0, math.Float64bits(x)<<1)
	}
	return c, max(m0, m1)
}

// prefixSample is the largest sample prefixThreshold draws.
const prefixSample = 512

// prefixThreshold guesses from a strided sample a value that at least d
// losses reach: the sample rank is set four standard deviations above the
// expected rank of the d-th largest loss, so that the guess is rarely too
// high (which costs a second pass, never a wrong result). It returns −Inf
// if the sample holds a NaN.
func prefixThreshold(losses []float64, d int, sc *Scratch) float64 {
	n := len(losses)
	m := min(prefixSample, n/4)
	stride := n / m
	smp := grown(&sc.sample, m)
	for i := range smp {
		v := losses[i*stride+stride/2]
		if v != v {
			return math.Inf(-1)
		}
		smp[i] = v
	}
	e := float64(d) * float64(m) / float64(n)
	r := min(m, int(math.Ceil(e+4*math.Sqrt(e)))+4)
	selectTop(smp, r)
	t := smp[0]
	for _, v := range smp[1:r] {
		t = min(t, v)
	}
	return t
}

// Len returns the number of scenarios (0 for an unusable Account).
func (a *Account) Len() int { return len(a.l) }

// Spec returns the Account's spec.
func (a *Account) Spec() Spec { return a.spec }

// Result returns the pre-trade VaR and ES, equal to Compute on the loss
// vector.
func (a *Account) Result() Result { return a.pre }

// TailIndices returns the scenario indices of the Kmax largest pre-trade
// losses in descending order of loss (ties by index). The slice is the
// Account's own; it must not be modified.
func (a *Account) TailIndices() []int32 { return a.order[:a.spec.Kmax():a.spec.Kmax()] }

// resize returns s with length n, reallocated only when too small.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// grown resizes *s to length n (see resize) and returns it.
func grown[T any](s *[]T, n int) []T {
	*s = resize(*s, n)
	return *s
}

// PostTrade returns VaR and ES of the account's loss vector after an order
// of q units of the instrument: exactly Compute of the vector whose element
// s is L[s] + float64(q·P[s]). q must be finite with |q| <= QuantityAbsMax,
// otherwise both results are NaN. It panics if the Account and the
// Instrument differ in length or either is unusable (a programming error:
// both come from the same risk epoch). With a Scratch from NewScratch it
// does not allocate.
func PostTrade(a *Account, in *Instrument, q float64, sc *Scratch) Result {
	n := len(a.l)
	if n == 0 || len(in.p) != n {
		panic(fmt.Errorf("%w: account %d, instrument %d", ErrLength, n, len(in.p)))
	}
	if !(math.Abs(q) <= QuantityAbsMax) {
		return nanResult
	}
	sc.grow(n)
	lgs := sc.legs[:1]
	lgs[0] = newLeg(in, q, n)
	return postTrade(a, lgs, sc)
}

// Leg is one order of a basket: Q units of instrument In.
type Leg struct {
	In *Instrument
	Q  float64
}

// leg is a Leg prepared for the kernel.
type leg struct {
	p []float64
	q float64
	u float64 // float64(q·maxP) or float64(q·minP): >= float64(q·P[s])
}

func newLeg(in *Instrument, q float64, n int) leg {
	u := in.maxP
	if q < 0 {
		u = in.minP
	}
	return leg{p: in.p[:n], q: q, u: float64(q * u)}
}

// PostTradeMulti returns VaR and ES of the account's loss vector after all
// legs at once: exactly Compute of the vector whose element s is
// L[s] + float64(q_1·P_1[s]) + float64(q_2·P_2[s]) + … added from left to
// right in leg order. With no legs it returns the pre-trade Result. If a
// quantity is not finite or beyond QuantityAbsMax, or there are more than
// LegsMax legs, both results are NaN. It panics if a leg's instrument
// differs in length from the Account or either is unusable. With a Scratch
// from NewScratch it does not allocate.
func PostTradeMulti(a *Account, legs []Leg, sc *Scratch) Result {
	n := len(a.l)
	for _, lg := range legs {
		if n == 0 || len(lg.In.p) != n {
			panic(fmt.Errorf("%w: account %d, instrument %d", ErrLength, n, len(lg.In.p)))
		}
	}
	if n == 0 {
		panic(fmt.Errorf("%w: unusable account", ErrLength))
	}
	if len(legs) > LegsMax {
		return nanResult
	}
	for _, lg := range legs {
		if !(math.Abs(lg.Q) <= QuantityAbsMax) {
			return nanResult
		}
	}
	if len(legs) == 0 {
		return a.pre
	}
	sc.grow(n)
	lgs := sc.legs[:len(legs)]
	for i, lg := range legs {
		lgs[i] = newLeg(lg.In, lg.Q, n)
	}
	return postTrade(a, lgs, sc)
}

// post returns the post-trade loss of scenario s with pre-trade loss l.
func post(l float64, lgs []leg, s int32) float64 {
	for k := range lgs {
		l = postLoss(l, lgs[k].q, lgs[k].p[s])
	}
	return l
}

// postBound returns an upper bound of post(l', lgs, s) for every scenario s
// and every l' <= l.
func postBound(l float64, lgs []leg) float64 {
	for k := range lgs {
		l += lgs[k].u
	}
	return l
}

// postTrade is the kernel of PostTrade and PostTradeMulti (see the package
// doc): lgs holds at least one leg, sc has grown to the vector length.
func postTrade(a *Account, lgs []leg, sc *Scratch) Result {
	n := len(a.l)
	kmax := a.spec.Kmax()
	cand := sc.cand[:n]
	order := a.order
	ls := a.ls[:len(order)]

	// Phase 1: the pre-trade top kmax; t is a lower bound of the
	// post-trade kmax-th largest.
	gatherPost(cand[:kmax], ls, lgs, order)
	t := math.Inf(1)
	for _, v := range cand[:kmax] {
		t = min(t, v)
	}
	// Phase 2 visits the prefix down to the first j whose bound falls
	// below t (postBound is non-increasing in j, as ls is): no later
	// scenario can reach t. If the prefix cannot bound the rest (its last
	// bound still reaches t), a full pass is cheaper than walking it.
	lo := prefixEnd(ls, kmax, lgs, t)
	if lo == len(order) && len(order) < n {
		return fullPass(a, lgs, t, sc)
	}
	w := cand[kmax:lo]
	gatherPost(w, ls[kmax:lo], lgs, order[kmax:lo])
	c := kmax + vec.Filter(w, w, t)
	return finish(cand[:c], a.spec, sc)
}

// prefixLinear is the number of cache lines of ls (8 losses each) that
// prefixEnd scans one by one before it gallops.
const prefixLinear = 4

// prefixEnd returns the first j >= from with postBound(ls[j], lgs) < t,
// len(ls) if there is none: the result of a binary search over the
// non-increasing bounds, found in a cheaper order for ls cold in cache. The
// last bound is tested first, which alone decides a full pass; then the
// search moves forward from from, one cache line per step for the first
// prefixLinear lines and by doubling steps after that, so that the
// hardware prefetcher serves the nearby, sequential lines; a binary search
// finishes inside the last step.
func prefixEnd(ls []float64, from int, lgs []leg, t float64) int {
	n := len(ls)
	if from >= n || postBound(ls[n-1], lgs) >= t {
		return n
	}
	// Every j in [from, lo) has a bound >= t; ls[hi] has one below t.
	lo, hi := from, n-1
	step := 8
	for lines := 0; ; lines++ {
		p := lo + step - 1
		if p >= hi {
			break
		}
		if postBound(ls[p], lgs) < t {
			hi = p
			break
		}
		lo = p + 1
		if lines >= prefixLinear {
			step *= 2
		}
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if postBound(ls[m], lgs) < t {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// gatherPost sets dst[j] to the post-trade loss of scenario idx[j], whose
// pre-trade loss is l[j], leg by leg in order.
func gatherPost(dst, l []float64, lgs []leg, idx []int32) {
	vec.GatherAddScaled(dst, l, lgs[0].q, lgs[0].p, idx)
	for _, lg := range lgs[1:] {
		vec.GatherAddScaled(dst, dst, lg.q, lg.p, idx)
	}
}

// fullPass finishes postTrade when the prefix cannot bound the rest: t is a
// lower bound of the post-trade kmax-th largest value. The post-trade
// vector is materialised in one vectorised streaming pass (the scenarios'
// losses are usually cold in cache, and a stream is the cheapest way to
// read them); a threshold guessed from a strided sample of it, kept only if
// at least kmax values reach it (which then makes it a lower bound too),
// usually cuts the candidates to a few more than kmax.
func fullPass(a *Account, lgs []leg, t float64, sc *Scratch) Result {
	n := len(a.l)
	kmax := a.spec.Kmax()
	pv := sc.post[:n]
	vec.AddScaledTo(pv, a.l, lgs[0].q, lgs[0].p)
	for _, lg := range lgs[1:] {
		vec.AddScaled(pv, lg.q, lg.p)
	}
	g := t
	if m := sampleSize; n >= 8*m && kmax*16 <= n {
		stride := n / m
		smp := sc.sample[:m]
		for i := range smp {
			smp[i] = pv[i*stride+stride/2]
		}
		g = max(g, sampleThreshold(smp, kmax, n))
	}
	c := vec.Filter(sc.cand[:n], pv, g)
	if c < kmax {
		c = vec.Filter(sc.cand[:n], pv, t)
	}
	return finish(sc.cand[:c], a.spec, sc)
}
