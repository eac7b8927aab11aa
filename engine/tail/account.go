package tail

import (
	"fmt"
	"math"
	"sync"
)

// blockSize is the number of scenarios summarised per block; one bitmap
// word covers one block.
const blockSize = 64

// prefixDepth returns how many of the largest pre-trade losses an Account
// keeps in order for n scenarios and tail rank kmax.
func prefixDepth(n, kmax int) int { return min(n, 4*kmax+64) }

// blocks returns the number of blocks covering n scenarios.
func blocks(n int) int { return (n + blockSize - 1) / blockSize }

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
// global and per-block extremes. It keeps a reference to the vector, which
// must not change while the Instrument is in use (risk epochs are
// immutable). It is read-only after Reset and safe for concurrent readers.
type Instrument struct {
	p          []float64
	maxP, minP float64
	blockMax   []float64
	blockMin   []float64
}

// NewInstrument returns the Instrument of the per-unit loss vector p.
func NewInstrument(p []float64) (*Instrument, error) {
	in := &Instrument{}
	if err := in.Reset(p); err != nil {
		return nil, err
	}
	return in, nil
}

// Reset rebuilds the Instrument for p, reusing its memory. On error the
// Instrument is left empty (and unusable) rather than half built.
func (in *Instrument) Reset(p []float64) error {
	in.p = nil
	if err := checkValues(p); err != nil {
		return err
	}
	nb := blocks(len(p))
	in.blockMax = resize(in.blockMax, nb)
	in.blockMin = resize(in.blockMin, nb)
	in.maxP, in.minP = p[0], p[0]
	for b := range nb {
		blk := p[b*blockSize : min(len(p), (b+1)*blockSize)]
		hi, lo := blk[0], blk[0]
		for _, x := range blk[1:] {
			if x > hi {
				hi = x
			}
			if x < lo {
				lo = x
			}
		}
		in.blockMax[b], in.blockMin[b] = hi, lo
		if hi > in.maxP {
			in.maxP = hi
		}
		if lo < in.minP {
			in.minP = lo
		}
	}
	in.p = p
	return nil
}

// Len returns the number of scenarios (0 for an unusable Instrument).
func (in *Instrument) Len() int { return len(in.p) }

// Account is an account's scenario loss vector L with the summary the
// incremental kernel needs: its spec, the indices and losses of its
// D = min(N, 4·Kmax+64) largest losses in descending order (ties by index),
// a bitmap of those indices, per block an upper bound of the losses outside
// them, and the pre-trade Result. It keeps a reference to L, which must not
// change while the Account is in use. It is read-only after Reset and safe
// for concurrent readers.
type Account struct {
	l        []float64
	spec     Spec
	order    []int32   // prefix scenario indices, L descending
	ls       []float64 // L[order[j]]
	inPrefix []uint64  // bit s%64 of word s/64: s is in the prefix
	restMax  []float64 // per block: >= every L outside the prefix (-Inf: none)
	pre      Result
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

	nb := blocks(n)
	a.order = resize(a.order, d)
	a.ls = resize(a.ls, d)
	a.inPrefix = resize(a.inPrefix, nb)
	clear(a.inPrefix)
	order, ls := a.order[:d], a.ls[:d]
	for j, e := range keys[:d] {
		s := e.i
		order[j], ls[j] = s, losses[s]
		a.inPrefix[uint32(s)/blockSize] |= 1 << (uint32(s) % blockSize)
	}
	// Losses outside the prefix are the candidates ranked beyond d and the
	// losses below t.
	a.restMax = resize(a.restMax, nb)
	for b := range a.restMax {
		a.restMax[b] = t
	}
	for _, e := range keys[d:c] {
		if v, b := losses[e.i], uint32(e.i)/blockSize; v > a.restMax[b] {
			a.restMax[b] = v
		}
	}
	a.spec = spec
	a.pre = finish(ls, spec)
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
	kmax := a.spec.Kmax()
	p := in.p[:n]
	l := a.l[:n]
	cand := sc.cand[:n]
	order := a.order
	ls := a.ls[:len(order)]

	u, blk := in.maxP, in.blockMax
	if q < 0 {
		u, blk = in.minP, in.blockMin
	}
	u = float64(q * u)

	// Phase 1: the pre-trade top kmax; t is a lower bound of the
	// post-trade kmax-th largest.
	t := math.Inf(1)
	for j, s := range order[:kmax] {
		v := postLoss(ls[j], q, p[s])
		cand[j] = v
		if v < t {
			t = v
		}
	}
	// Phase 2: down the prefix until no later scenario can reach t.
	c := kmax
	j := kmax
	for ; j < len(order); j++ {
		lj := ls[j]
		if lj+u < t {
			break
		}
		v := postLoss(lj, q, p[order[j]])
		cand[c] = v
		if v >= t {
			c++
		}
	}
	// Phase 3: the prefix did not bound the rest; scan the blocks that may
	// hold a value >= t outside the prefix.
	if j == len(order) && j < n {
		c, t = tighten(cand[:c], kmax, t)
		for b, rm := range a.restMax {
			if rm+float64(q*blk[b]) < t {
				continue
			}
			lo := b * blockSize
			hi := min(n, lo+blockSize)
			out := ^a.inPrefix[b]
			for s := lo; s < hi; s++ {
				v := postLoss(l[s], q, p[s])
				if v >= t && out>>(s-lo)&1 != 0 {
					cand[c] = v
					c++
				}
			}
		}
	}
	top := cand[:c]
	topSorted(top, kmax)
	return finish(top, a.spec)
}

// Leg is one order of a basket: Q units of instrument In.
type Leg struct {
	In *Instrument
	Q  float64
}

// leg is a Leg prepared for the kernel.
type leg struct {
	p   []float64
	q   float64
	u   float64   // float64(q·maxP) or float64(q·minP)
	blk []float64 // blockMax or blockMin
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
	dumpCall(a, legs)
	sc.grow(n)
	if cap(sc.legs) < LegsMax {
		sc.legs = make([]leg, 0, LegsMax)
	}
	lgs := sc.legs[:len(legs)]
	for i, lg := range legs {
		u, blk := lg.In.maxP, lg.In.blockMax
		if lg.Q < 0 {
			u, blk = lg.In.minP, lg.In.blockMin
		}
		lgs[i] = leg{p: lg.In.p[:n], q: lg.Q, u: float64(lg.Q * u), blk: blk}
	}
	kmax := a.spec.Kmax()
	l := a.l[:n]
	cand := sc.cand[:n]
	order := a.order
	ls := a.ls[:len(order)]

	t := math.Inf(1)
	for j, s := range order[:kmax] {
		v := ls[j]
		for k := range lgs {
			v = postLoss(v, lgs[k].q, lgs[k].p[s])
		}
		cand[j] = v
		if v < t {
			t = v
		}
	}
	c := kmax
	j := kmax
	for ; j < len(order); j++ {
		ub := ls[j]
		for k := range lgs {
			ub += lgs[k].u
		}
		if ub < t {
			break
		}
		s := order[j]
		v := ls[j]
		for k := range lgs {
			v = postLoss(v, lgs[k].q, lgs[k].p[s])
		}
		cand[c] = v
		if v >= t {
			c++
		}
	}
	if j == len(order) && j < n {
		c, t = tighten(cand[:c], kmax, t)
		for b, rm := range a.restMax {
			ub := rm
			for k := range lgs {
				ub += float64(lgs[k].q * lgs[k].blk[b])
			}
			if ub < t {
				continue
			}
			lo := b * blockSize
			hi := min(n, lo+blockSize)
			out := ^a.inPrefix[b]
			for s := lo; s < hi; s++ {
				v := l[s]
				for k := range lgs {
					v = postLoss(v, lgs[k].q, lgs[k].p[s])
				}
				if v >= t && out>>(s-lo)&1 != 0 {
					cand[c] = v
					c++
				}
			}
		}
	}
	top := cand[:c]
	topSorted(top, kmax)
	return finish(top, a.spec)
}

// tighten is called when the prefix scan did not bound the rest of the
// vector, which happens for orders large enough to reshape the tail: it
// keeps only the kmax largest prefix candidates and raises the threshold to
// their minimum. That is still a lower bound of the post-trade kmax-th
// largest value (kmax actual values reach it), and a dropped candidate is
// no larger than every kept one, so the top-kmax multiset of the kept
// candidates and those found later equals that of all of them.
func tighten(cand []float64, kmax int, t float64) (int, float64) {
	if len(cand) <= kmax {
		return len(cand), t
	}
	selectTop(cand, kmax)
	t = cand[0]
	for _, v := range cand[1:kmax] {
		if v < t {
			t = v
		}
	}
	return kmax, t
}
