package pricing

import (
	"fmt"
	"math"
)

// BatchError reports the options of a ComputeBatch call that failed. It
// wraps the first failure's error, so errors.Is(err, ErrInvalid) and
// errors.Is(err, ErrRange) work as they do for Compute.
type BatchError struct {
	Index  int   // the first failing option's index
	Failed int   // how many options failed
	Err    error // the first failure's error, as Compute returns it
}

func (e *BatchError) Error() string {
	if e.Failed == 1 {
		return fmt.Sprintf("pricing: option %d: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("pricing: %d options failed, the first (option %d): %v", e.Failed, e.Index, e.Err)
}

// Unwrap returns the first failure's error.
func (e *BatchError) Unwrap() error { return e.Err }

// batchChunk is how many options ComputeBatch prices side by side: every
// stage of the formula (ratios and square roots; logarithms and discount
// factors; d1, d2; the density; the Mills ratios; the Greeks) is applied
// to a whole chunk before the next starts, so the processor overlaps the
// options' ~125-cycle dependency chains instead of running them one after
// the other, and no stage pays a call per option.
const batchChunk = 16

// ComputeBatch sets out[i] to what Compute(in[i]) returns, bit for bit, for
// every i, at a fraction of the cost per option for batches of a few
// options or more. An option that Compute rejects gets zero Greeks; the
// error is then a *BatchError naming the first such option and wrapping
// its error (ErrInvalid or ErrRange), and every other option is still
// priced. It returns an error wrapping ErrInvalid, and writes nothing, if
// out is not as long as in. It does not allocate unless an option fails.
func ComputeBatch(in []Inputs, out []Greeks) error {
	if len(out) != len(in) {
		return fmt.Errorf("%w: ComputeBatch: %d outputs for %d inputs", ErrInvalid, len(out), len(in))
	}
	first, failed := -1, 0
	var firstErr error
	var sc batchScratch
	for i := 0; i < len(in); i += batchChunk {
		j := min(i+batchChunk, len(in))
		if bad := computeChunk(in[i:j], out[i:j], &sc); bad != 0 {
			// The options the chunk could not price on its fast path:
			// invalid ones, and those Compute prices by other branches or
			// reports out of range. Compute decides.
			for k := range j - i {
				if bad&(1<<k) == 0 {
					continue
				}
				g, err := Compute(in[i+k])
				out[i+k] = g
				if err != nil {
					if failed == 0 {
						first, firstErr = i+k, err
					}
					failed++
				}
			}
		}
	}
	if failed != 0 {
		return &BatchError{Index: first, Failed: failed, Err: firstErr}
	}
	return nil
}

// batchScratch holds computeChunk's stage buffers: one per ComputeBatch
// call, on its stack, so that they are zeroed once per call rather than
// once per chunk. exArg holds −r·T at j and the packed −q·T from n on, ex
// their exponentials; d holds d1 at j and d2 at n+j, m their Mills
// ratios.
type batchScratch struct {
	exArg, ex, d, m                 [2 * batchChunk]float64
	q, lg, s, sqrtT, t, r           [batchChunk]float64
	arg, phi, c, a, kd, invs, carry [batchChunk]float64
}

// computeChunk prices up to batchChunk options by evaluate's diffusion
// branch, stage by stage, with evaluate's expressions. It returns a bit
// mask of the options it did not price: those that are invalid, whose
// S/K is not a normal float64 (lnRatio's other branch), whose total
// volatility is below sTotalMin (evaluateLimit), or whose Greeks are not
// all finite (ErrRange); their out entries are left for the caller.
func computeChunk(in []Inputs, out []Greeks, sc *batchScratch) (bad uint32) {
	n := len(in)
	out = out[:n]
	exArgBuf, exBuf, dBuf, mBuf := &sc.exArg, &sc.ex, &sc.d, &sc.m
	qBuf, lgBuf, sBuf, sqBuf, tBuf, rBuf := &sc.q, &sc.lg, &sc.s, &sc.sqrtT, &sc.t, &sc.r
	argBuf, phiBuf, cBuf, aBuf, kdBuf, invsBuf, carBuf := &sc.arg, &sc.phi, &sc.c, &sc.a, &sc.kd, &sc.invs, &sc.carry
	exArg, ex, d, m := exArgBuf[:2*n], exBuf[:2*n], dBuf[:2*n], mBuf[:2*n]
	var qi [batchChunk]uint8
	nq := 0
	qs, lg, sT, sqrtTs, Ts, Rs := qBuf[:n], lgBuf[:n], sBuf[:n], sqBuf[:n], tBuf[:n], rBuf[:n]
	args, phis, cs, As, Kds, invss, carries := argBuf[:n], phiBuf[:n], cBuf[:n], aBuf[:n], kdBuf[:n], invsBuf[:n], carBuf[:n]

	// Stage 1: validation, S/K, √T, σ√T and the exponentials'
	// arguments. A lane the fast path cannot price is marked bad, runs the
	// stages on S = S/K = T = σ√T = 1 and r = q = 0 (which cannot fault), and
	// is then priced by Compute instead.
	for j := range in {
		p := &in[j]
		S, K, T, R, Q, sigma := p.S, p.K, p.T, p.R, p.Q, p.Sigma
		q := S / K
		sqrtT := math.Sqrt(T)
		s := float64(sigma * sqrtT)
		// The fast path's domain, in few tests: S > 0 and a normal,
		// finite S/K imply K > 0 and both finite; a finite σ√T ≥ sTotalMin
		// implies σ > 0 and T > 0, both finite; x − x is 0 exactly for a
		// finite x. So a lane that passes is valid (and priced by
		// evaluate's diffusion branch); one that fails goes to Compute.
		if (uint8(p.Model-1)|uint8(p.Kind-1)) >= 2 || !(S > 0) || !(q >= minNormal && q <= math.MaxFloat64) ||
			!(s >= sTotalMin && s <= math.MaxFloat64) || (R-R)+(Q-Q) != 0 {
			bad |= 1 << j
			S, q, T, R, Q, sqrtT, s = 1, 1, 1, 0, 0, 1, 1
		}
		qs[j], sT[j], sqrtTs[j], Ts[j], Rs[j] = q, s, sqrtT, T, R
		// e^{−qT} only where evaluate takes it (BSM with q ≠ 0): the
		// arguments are packed at n, n+1, … without a branch, lane j's
		// at qi[j] when it has one.
		exArg[j], exArg[n+nq] = -R*T, -Q*T
		qi[j] = uint8(nq)
		if p.Model == ModelBSM && Q != 0 {
			nq++
		}
	}
	// Stage 2: ln(S/K), df = e^{−rT} and e^{−qT}. (evaluate skips the
	// exponential when r or q is 0; expFast(±0) is exactly 1.)
	logSlice(lg, qs)
	expSlice(ex, exArg[:n+nq])
	// Stage 3: the forward's log-moneyness x, A, Kd, d1, d2 and the
	// density's argument.
	for j := range in {
		p := &in[j]
		T := Ts[j]
		df := ex[j]
		x := lg[j]
		// Black-76: no carry, ∂A/∂S = df. BSM: carry r − q, ∂A/∂S =
		// e^{−qT} (1 when q = 0). Picked by conditional moves, since a
		// book mixes the models; x + 0·T is x bit for bit (x ≠ −0).
		carry := math.Float64bits(0)
		dS := math.Float64bits(df)
		if p.Model == ModelBSM {
			carry = math.Float64bits(Rs[j] - p.Q)
			dS = math.Float64bits(1)
		}
		if e := ex[n+int(qi[j])]; p.Model == ModelBSM && p.Q != 0 {
			dS = math.Float64bits(e)
		}
		x += float64(math.Float64frombits(carry) * T)
		carries[j] = math.Float64frombits(carry)
		A := float64(p.S * math.Float64frombits(dS))
		Kd := float64(p.K * df)
		s := sT[j]
		invs := 1 / s
		d1 := float64(x*invs) + float64(0.5*s)
		d2 := d1 - s
		// The density at whichever of d1, d2 is smaller in magnitude.
		dd, c := math.Float64bits(d2), math.Float64bits(Kd)
		if x <= 0 {
			dd, c = math.Float64bits(d1), math.Float64bits(A)
		}
		ddf := math.Float64frombits(dd)
		args[j], cs[j] = -0.5*ddf*ddf, math.Float64frombits(c)
		As[j], Kds[j], invss[j] = A, Kd, invs
		d[j], d[n+j] = d1, d2
	}
	// Stage 4: the density and the Mills ratios at |d1|, |d2|.
	expSlice(phis, args)
	millsAbsSlice(m, d)
	// Stage 5: prices and Greeks.
	for j := range in {
		p := &in[j]
		B := cs[j] * (invSqrt2Pi * phis[j])
		d1, d2 := d[j], d[n+j]
		bm1, bm2 := float64(B*m[j]), float64(B*m[n+j])
		A, Kd := As[j], Kds[j]
		// With h1 = A·N(±d1), h2 = Kd·N(±d2) (upper signs for a call,
		// lower for a put), each is B·M or its complement: picked by a
		// conditional move, since the signs of d1 and d2 are a coin toss
		// near the money. A call is worth h1 − h2 with S·Delta = h1 and
		// Rho/T = h2; a put the negatives.
		put := p.Kind == Put
		h1, h2 := math.Float64bits(bm1), math.Float64bits(bm2)
		if (d1 > 0) != put {
			h1 = math.Float64bits(A - bm1)
		}
		if (d2 > 0) != put {
			h2 = math.Float64bits(Kd - bm2)
		}
		aN, kN := math.Float64frombits(h1), math.Float64frombits(h2)
		sg := math.Float64bits(1)
		if put {
			sg = math.Float64bits(-1)
		}
		sgn := math.Float64frombits(sg)
		// sgn·(h1 − h2) is kDn − aDn for a put up to the sign of a zero,
		// which max removes.
		v := max(float64(sgn*(aN-kN)), 0)
		aN, kN = float64(sgn*aN), float64(sgn*kN)
		invS := 1 / p.S
		sqrtT := sqrtTs[j]
		invs := invss[j]
		T := Ts[j]
		d1c, d2c := d1, d2 // max(−dClamp, min(d, dClamp)), as evaluate
		if !(d1 >= -dClamp && d1 <= dClamp && d2 >= -dClamp && d2 <= dClamp) {
			d1c = max(-dClamp, min(d1, dClamp))
			d2c = max(-dClamp, min(d2, dClamp))
		}
		bS := B * invS
		vega := float64(B * sqrtT)
		rho := math.Float64bits(-T * v)
		if p.Model == ModelBSM {
			rho = math.Float64bits(T * kN)
		}
		invSigma := invs * sqrtT
		sigma := p.Sigma
		// Each product rounded: the range check below subtracts it from
		// itself, which a compiler could otherwise fuse (x·y − x·y ≠ 0).
		delta := float64(aN * invS)
		gamma := float64(bS * invS * invs)
		theta := float64(Rs[j]*v) - float64(carries[j]*aN) - float64(0.5*B*sigma*sigma*invs)
		rhoF := math.Float64frombits(rho)
		vanna := float64(-bS * d2c * invSigma)
		volga := float64(vega * (d1c * d2c) * invSigma)
		// Written field by field: a Greeks built on the stack and copied
		// would be reloaded in 16-byte pieces that the processor cannot
		// forward from the 8-byte stores that built it.
		g := &out[j]
		g.Price, g.Delta, g.Gamma, g.Vega = v, delta, gamma, vega
		g.Theta, g.Rho, g.Vanna, g.Volga = theta, rhoF, vanna, volga
		// Compute's range check, summed as a tree (the same verdict, a
		// shorter chain). The caller overwrites a bad lane's output.
		if ((v-v)+(delta-delta))+((gamma-gamma)+(vega-vega))+
			(((theta-theta)+(rhoF-rhoF))+((vanna-vanna)+(volga-volga))) != 0 {
			bad |= 1 << j
		}
	}
	return bad
}
