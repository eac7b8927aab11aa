package tail

import (
	"errors"
	"fmt"
	"math"
)

// Bounds on inputs.
const (
	// ScenariosMax is the largest scenario count (loss vector length).
	ScenariosMax = 1 << 20
	// ValueAbsMax bounds the magnitude of account and instrument losses;
	// with QuantityAbsMax and LegsMax it keeps every post-trade sum finite.
	ValueAbsMax = 1e100
	// QuantityAbsMax bounds the magnitude of an order quantity.
	QuantityAbsMax = 1e100
	// LegsMax is the largest number of legs PostTradeMulti accepts.
	LegsMax = 64

	// kTolerance is the distance to the nearest integer under which
	// N·(1−α) is taken to be that integer (see K).
	kTolerance = 1e-9
)

// Errors returned for invalid parameters and inputs.
var (
	// ErrScenarios reports a scenario count outside 1..ScenariosMax.
	ErrScenarios = errors.New("tail: scenario count out of range")
	// ErrAlpha reports a confidence level not strictly between 0 and 1.
	ErrAlpha = errors.New("tail: confidence level not in (0, 1)")
	// ErrSpec reports tail ranks that do not fit the vector length.
	ErrSpec = errors.New("tail: tail rank out of range")
	// ErrValue reports a loss that is NaN, infinite or beyond ValueAbsMax.
	ErrValue = errors.New("tail: loss not finite or beyond ValueAbsMax")
	// ErrLength reports vectors of different lengths.
	ErrLength = errors.New("tail: vector length mismatch")
)

// K returns the tail rank k = ceil(n·(1−α)) clamped to [1, n], for n
// scenarios and a confidence α with 0 < α < 1.
//
// The product is computed in float64, where decimal confidences are not
// exact: for α = 0.99 and n = 10,000 it is 100.00000000000001, whose plain
// ceiling would be 101. A product within 1e-9 of an integer is therefore
// taken to be that integer before the ceiling. The error of the product is
// below n·2^-52 ≈ 2.4e-10 for n ≤ ScenariosMax, so every product that is an
// integer in exact decimal arithmetic is recognised; only an α given with
// more than about nine significant digits could be shifted by the
// tolerance.
func K(n int, alpha float64) (int, error) {
	if n < 1 || n > ScenariosMax {
		return 0, fmt.Errorf("%w: %d", ErrScenarios, n)
	}
	if !(alpha > 0 && alpha < 1) {
		return 0, fmt.Errorf("%w: %v", ErrAlpha, alpha)
	}
	x := float64(n) * (1 - alpha)
	k := math.Ceil(x)
	if r := math.Round(x); math.Abs(x-r) <= kTolerance {
		k = r
	}
	return min(max(int(k), 1), n), nil
}

// Spec holds the two tail ranks of a computation: KVaR for VaR, KES for ES.
type Spec struct {
	KVaR, KES int
}

// NewSpec returns the Spec for n scenarios, ES at confidence alphaES and
// VaR at confidence alphaVaR.
func NewSpec(n int, alphaES, alphaVaR float64) (Spec, error) {
	kes, err := K(n, alphaES)
	if err != nil {
		return Spec{}, err
	}
	kvar, err := K(n, alphaVaR)
	if err != nil {
		return Spec{}, err
	}
	return Spec{KVaR: kvar, KES: kes}, nil
}

// Validate reports whether both ranks lie in 1..n.
func (s Spec) Validate(n int) error {
	if n < 1 || n > ScenariosMax {
		return fmt.Errorf("%w: %d", ErrScenarios, n)
	}
	if s.KVaR < 1 || s.KVaR > n || s.KES < 1 || s.KES > n {
		return fmt.Errorf("%w: KVaR %d, KES %d, n %d", ErrSpec, s.KVaR, s.KES, n)
	}
	return nil
}

// Kmax returns max(KVaR, KES): how many of the largest losses a computation
// needs in order.
func (s Spec) Kmax() int { return max(s.KVaR, s.KES) }

// Result holds VaR and ES of one loss vector.
type Result struct {
	VaR, ES float64
}

// nanResult is returned for NaN input and out-of-range quantities: every
// comparison with it is false, so margin checks built on it fail closed.
var nanResult = Result{VaR: math.NaN(), ES: math.NaN()}

// Scratch holds the working memory of Compute, PostTrade and
// Account.ResetWith. The zero value is ready to use and grows on first use;
// NewScratch sizes it up front so that no call allocates. A Scratch is not
// safe for concurrent use.
type Scratch struct {
	cand   []float64
	post   []float64 // fullPass: the loss vector with all legs but the last
	sample []float64
	legs   []leg
	idx    []int32  // ResetWith: candidate indices
	keys   []keyIdx // Compute, ResetWith: candidates' sort keys
	tmp    []keyIdx // sortKeys' buffer
	cnt    *radixCounts
	sel    []float64 // finish: selection buffer
	acc    exactSum  // finish: the ES sum
}

// counts returns sortKeys' bucket counts, allocated on first use.
func (sc *Scratch) counts() *radixCounts {
	if sc.cnt == nil {
		sc.cnt = new(radixCounts)
	}
	return sc.cnt
}

// NewScratch returns a Scratch sized for vectors of up to n scenarios.
func NewScratch(n int) *Scratch {
	sc := &Scratch{}
	sc.grow(n)
	n = max(n, 0)
	sc.idx = make([]int32, n)
	sc.keys = make([]keyIdx, n)
	sc.sel = make([]float64, 3*n)
	sc.tmp = make([]keyIdx, n)
	sc.counts()
	return sc
}

func (sc *Scratch) grow(n int) {
	if cap(sc.cand) < n {
		sc.cand = make([]float64, n)
	}
	sc.cand = sc.cand[:cap(sc.cand)]
	if cap(sc.post) < n {
		sc.post = make([]float64, n)
	}
	sc.post = sc.post[:cap(sc.post)]
	if cap(sc.legs) < LegsMax {
		sc.legs = make([]leg, LegsMax)
	}
	if cap(sc.sample) < sampleSize {
		sc.sample = make([]float64, sampleSize)
	}
	sc.sample = sc.sample[:sampleSize]
}

// postLoss is the post-trade loss of one scenario: loss l, per-unit loss p,
// quantity q. The conversion rounds the product before the addition, so the
// compiler cannot fuse the two into an FMA; every path uses this function.
func postLoss(l, q, p float64) float64 {
	return l + float64(q*p)
}

// Mean returns the mean of losses, summed in index order from +0; NaN for an
// empty vector.
func Mean(losses []float64) float64 {
	if len(losses) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, v := range losses {
		s += v
	}
	return s / float64(len(losses))
}

// bottomMax is the largest number of values beyond the top KES that finish
// sets aside with an insertion buffer instead of a selection.
const bottomMax = 32

// finish returns the Result of cand, an unordered multiset of values that
// holds (at least) the spec.Kmax() largest of a vector, with no NaN. VaR is
// the KVaR-th largest value (+0 for −0), ES the exact sum of the KES
// largest, rounded once, divided by KES. The sum does not depend on the
// order of the values, so none is sorted. When cand exceeds KES by at most
// bottomMax values (the common case on the check path), the excess is found
// by an insertion buffer that keeps the smallest values and is subtracted
// exactly from the sum of all, and the pass that sums also brackets the
// KVaR-th largest (the first round of kthLargest). Otherwise v, the KES-th
// largest, is selected, the sum is Σ_{x > v} x + (KES − #{x > v})·v, and
// the KVaR-th largest, when KVaR <= KES, is among the values above v or is
// v. cand is not modified.
func finish(cand []float64, spec Spec, sc *Scratch) Result {
	tmp := grown(&sc.sel, 3*len(cand))
	acc := &sc.acc
	acc.reset()
	r := len(cand) - spec.KES
	if r > bottomMax {
		v := kthLargest(cand, spec.KES, tmp)
		above := tmp[:compactAbove(tmp, cand, v)]
		acc.addSlice(above)
		acc.addN(v, spec.KES-len(above))
		es := acc.result() / float64(spec.KES)
		switch {
		case spec.KVaR <= len(above):
			v = kthLargest(above, spec.KVaR, tmp[len(above):])
		case spec.KVaR > spec.KES:
			v = kthLargest(cand, spec.KVaR, tmp)
		}
		return Result{VaR: v + 0, ES: es} // v + 0: +0 for −0
	}
	hiP, loP := kthPivots(cand, spec.KVaR)
	c, g := acc.addBracket(cand, tmp, loP, hiP)
	// The r+1 smallest, in ascending order; the last is v, the KES-th
	// largest. The scan runs from the end, where candidates that arrive in
	// roughly descending order keep their smallest values.
	var buf [bottomMax + 1]float64
	low := buf[:r+1]
	for i := range low {
		low[i] = math.Inf(1)
	}
	for i := len(cand) - 1; i >= 0; i-- {
		x := cand[i]
		if !(x < low[r]) {
			continue
		}
		j := r
		for j > 0 && low[j-1] > x {
			low[j] = low[j-1]
			j--
		}
		low[j] = x
	}
	for _, x := range low[:r] {
		acc.sub(x)
	}
	es := acc.result() / float64(spec.KES)
	return Result{VaR: finishVaR(cand, spec, low[r], c, g, tmp), ES: es}
}

// finishVaR returns the KVaR-th largest of cand (+0 for −0), given v, the
// KES-th largest, and the first round of its selection: the c values of a
// bracket in tmp[:c] (len(tmp) >= 3·len(cand)) with g values above it.
func finishVaR(cand []float64, spec Spec, v float64, c, g int, tmp []float64) float64 {
	switch k := spec.KVaR; {
	case k == spec.KES:
	case k > g && k <= g+c:
		v = kthLargest(tmp[:c], k-g, tmp[c:])
	default:
		v = kthLargest(cand, k, tmp)
	}
	return v + 0 // +0 for −0
}

// sampleSize is the number of values Compute samples to estimate its
// selection threshold.
const sampleSize = 512

// Compute returns VaR and ES of losses under spec. Losses may hold any
// values; if any is NaN both results are NaN. It panics if spec does not
// validate for len(losses) (the spec is derived from the vector length, so
// a mismatch is a programming error). With a Scratch from NewScratch(n) it
// does not allocate.
func Compute(losses []float64, spec Spec, sc *Scratch) Result {
	n := len(losses)
	if err := spec.Validate(n); err != nil {
		panic(err)
	}
	sc.grow(n)
	kmax := spec.Kmax()
	c, ok := candidates(losses, kmax, sc)
	if !ok {
		return nanResult
	}
	return finish(sc.cand[:c], spec, sc)
}

// candidates copies into sc.cand a subset of losses that contains the
// multiset of its kmax largest values and returns its size; ok is false if
// losses hold a NaN. The threshold comes from the r-th largest of a strided
// sample, r chosen three standard deviations above the expected rank so
// that a retry (with a lower threshold) is rare; the result never depends
// on the sample, only the time does.
func candidates(losses []float64, kmax int, sc *Scratch) (int, bool) {
	n := len(losses)
	m := sampleSize
	if n < 8*m || kmax*16 > n {
		return copyAll(losses, sc.cand)
	}
	stride := n / m
	smp := sc.sample[:m]
	for i := range smp {
		smp[i] = losses[i*stride+stride/2]
	}
	for _, v := range smp {
		if v != v {
			return 0, false
		}
	}
	r := sampleRank(kmax, m, n)
	for r < m {
		t := rthLargest(smp, r)
		c, ok := filter(losses, t, sc.cand)
		if !ok {
			return 0, false
		}
		if c >= kmax {
			return c, true
		}
		r *= 4
	}
	return copyAll(losses, sc.cand)
}

// sampleRank is the rank in a sample of m of n values whose value is
// expected to be reached by at least kmax of the n values: three standard
// deviations above the expected rank of the kmax-th largest, so that a
// retry (with a lower threshold) is rare.
func sampleRank(kmax, m, n int) int {
	mean := float64(kmax) * float64(m) / float64(n)
	return int(math.Ceil(mean+3*math.Sqrt(mean))) + 3
}

// rthLargest returns the r-th largest value of smp (1 <= r <= len(smp)),
// reordering smp when r is large.
func rthLargest(smp []float64, r int) float64 {
	if r <= rthInsertMax {
		return rthByInsertion(smp, r)
	}
	selectTop(smp, r)
	t := smp[0]
	for _, v := range smp[1:r] {
		t = min(t, v)
	}
	return t
}

// rthInsertMax is the largest rank rthLargest finds by insertion.
const rthInsertMax = 64

// rthByInsertion returns the r-th largest value of smp
// (1 <= r <= min(len(smp), rthInsertMax)) by keeping the r largest seen so
// far in descending order: after the first few values most fail the one
// comparison with the smallest kept, a predictable branch, where a
// quickselect mispredicts about every other comparison.
func rthByInsertion(smp []float64, r int) float64 {
	var buf [rthInsertMax]float64
	top := buf[:r]
	insertionDesc(copy2(top, smp[:r]), -1)
	for _, v := range smp[r:] {
		if !(v > top[r-1]) {
			continue
		}
		j := r - 1
		for j > 0 && top[j-1] < v {
			top[j] = top[j-1]
			j--
		}
		top[j] = v
	}
	return top[r-1]
}

// copy2 copies src to dst and returns dst.
func copy2(dst, src []float64) []float64 {
	copy(dst, src)
	return dst
}

// sampleThreshold guesses from smp, a sample of n NaN-free values, a
// threshold that at least kmax of the n values reach (−Inf when the sample
// is too small to tell); smp is reordered.
func sampleThreshold(smp []float64, kmax, n int) float64 {
	if r := sampleRank(kmax, len(smp), n); r < len(smp) {
		return rthLargest(smp, r)
	}
	return math.Inf(-1)
}

// copyAll copies losses to dst; ok is false if one is NaN.
func copyAll(losses, dst []float64) (int, bool) {
	copy(dst, losses)
	for _, v := range losses {
		if v != v {
			return 0, false
		}
	}
	return len(losses), true
}

// filter copies the values of losses that are >= t to dst and returns their
// count; ok is false if one is NaN. Groups of four entirely below t, the
// common case, cost four predictable comparisons; a NaN never passes that
// test and is detected in the slow path.
func filter(losses []float64, t float64, dst []float64) (int, bool) {
	c := 0
	i := 0
	for ; i+4 <= len(losses); i += 4 {
		g := losses[i : i+4 : i+4]
		if g[0] < t && g[1] < t && g[2] < t && g[3] < t {
			continue
		}
		for _, v := range g {
			if v >= t {
				dst[c] = v
				c++
			} else if v != v {
				return 0, false
			}
		}
	}
	for _, v := range losses[i:] {
		if v >= t {
			dst[c] = v
			c++
		} else if v != v {
			return 0, false
		}
	}
	return c, true
}
