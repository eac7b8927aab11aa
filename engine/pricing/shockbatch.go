package pricing

import (
	"math"
	"math/bits"
)

// Exp returns e^x with an error below 2 ulp: the exponential every
// function of this package uses, so a caller that precomputes e^x for
// ValuesAfterShocks gets exactly the value ValueAfterShock would compute.
// It is total (NaN for NaN, 0 below −745.2, +Inf above 709.8) and does not
// allocate.
func Exp(x float64) float64 { return expFast(x) }

// shockChunk is how many revaluations ValuesAfterShocks runs side by
// side: each stage of the formula (d1 and d2; the density's exponential;
// the two Mills ratios; the value) is applied to a whole chunk before the
// next stage starts, so the processor overlaps the elements' dependency
// chains instead of waiting out one ~80-cycle chain at a time. 32 is the
// risk kernel's scenario block.
const shockChunk = 32

// ValuesAfterShocks sets out[i] = p.ValueAfterShock(x[i], volMul[i]) for
// every i, bit for bit, given ex[i] = Exp(x[i]) precomputed by the caller
// (it is not recomputed, and not checked: a wrong ex gives a wrong value;
// it is ignored where |x[i]| > 700, which ValueAfterShock prices from ln A
// instead). A nil volMul means 1 for every element. It does not allocate.
//
// It panics if ex, out or a non-nil volMul is not as long as x.
func (p *Prepared) ValuesAfterShocks(x, ex, volMul, out []float64) {
	n := len(x)
	if len(ex) != n || len(out) != n || (volMul != nil && len(volMul) != n) {
		panic("pricing: ValuesAfterShocks: ex, out and volMul must be as long as x")
	}
	if volMul == nil && !(p.s >= sTotalMin) {
		// Every element is at the σ→0 limit.
		for i := range n {
			out[i] = p.ValueAfterShock(x[i], 1)
		}
		return
	}
	for i := 0; i < n; i += shockChunk {
		j := min(i+shockChunk, n)
		var vm []float64
		if volMul != nil {
			vm = volMul[i:j]
		}
		p.shockChunkValues(x[i:j], ex[i:j], vm, out[i:j])
	}
}

// shockChunkValues is ValuesAfterShocks on at most shockChunk elements:
// the expressions of ValueAfterShock, stage by stage, each stage over
// every element. Elements whose shocked total volatility is below
// sTotalMin (priced by ValueAfterShock's σ→0 branch) run the stages on a
// total volatility of 1 instead and are then priced by ValueAfterShock.
func (p *Prepared) shockChunkValues(x, ex, vm, out []float64) {
	n := len(x)
	// d holds d1 of element j at j and its d2 at n+j; m their Mills
	// ratios; e the density's argument, phi the density; c its factor.
	var dBuf, mBuf [2 * shockChunk]float64
	var eBuf, phiBuf, cBuf, aBuf [shockChunk]float64
	d, m := dBuf[:2*n], mBuf[:2*n]
	d1, d2 := d[:n], d[n:]
	e, phi, c, a := eBuf[:n], phiBuf[:n], cBuf[:n], aBuf[:n]
	ex, out = ex[:n], out[:n]
	if vm != nil {
		vm = vm[:n]
	}
	x0, a0, kd := p.x0, p.a0, p.kd
	s := min(float64(p.s*1), sTotalMax) // volMul = 1; here p.s ≥ sTotalMin
	halfS := float64(0.5 * s)
	var limit uint32 // elements at the σ→0 limit
	// Stage 1: the shocked forward, d1, d2 and the density's argument.
	for j, xj := range x {
		y := x0 + xj
		var aj float64
		if xj >= -shockArgMax && xj <= shockArgMax {
			aj = float64(a0 * ex[j])
		} else {
			aj = expFast(p.lnA0 + xj)
		}
		a[j] = aj
		sj, hj := s, halfS
		if vm != nil {
			sj = float64(p.s * vm[j])
			if !(sj >= sTotalMin) {
				limit |= 1 << j
				sj = 1
			}
			sj = min(sj, sTotalMax)
			hj = float64(0.5 * sj)
		}
		dj1 := y/sj + hj
		dj2 := dj1 - sj
		d1[j], d2[j] = dj1, dj2
		// The density is taken at whichever of d1, d2 is smaller in
		// magnitude: d1 when y ≤ 0, with the factor A; else d2 and Kd.
		dd, cc := math.Float64bits(dj2), math.Float64bits(kd)
		if y <= 0 {
			dd, cc = math.Float64bits(dj1), math.Float64bits(aj)
		}
		ddf := math.Float64frombits(dd)
		e[j], c[j] = -0.5*ddf*ddf, math.Float64frombits(cc)
	}
	// Stage 2: the density, and the Mills ratios at |d1|, |d2|.
	expSlice(phi, e)
	millsAbsSlice(m, d)
	m1, m2 := m[:n], m[n:]
	// Stage 3: the value. With b = c·φ(d), h1 = A·N(±d1) and
	// h2 = Kd·N(±d2) (upper signs for a call), the value is h1 − h2 for a
	// call and h2 − h1 for a put; each is b·M or its complement, picked by
	// a conditional move on the bits (the sign of d1 and d2 is a coin toss
	// for an option near the money, which a branch would mispredict).
	put := p.put
	for j := range out {
		b := c[j] * (invSqrt2Pi * phi[j])
		bm1 := float64(b * m1[j])
		bm2 := float64(b * m2[j])
		h1, h2 := math.Float64bits(bm1), math.Float64bits(bm2)
		if (d1[j] > 0) != put {
			h1 = math.Float64bits(a[j] - bm1)
		}
		if (d2[j] > 0) != put {
			h2 = math.Float64bits(kd - bm2)
		}
		v := math.Float64frombits(h1) - math.Float64frombits(h2)
		if put {
			v = math.Float64frombits(h2) - math.Float64frombits(h1)
		}
		out[j] = max(v, 0)
	}
	for ; limit != 0; limit &= limit - 1 {
		j := bits.TrailingZeros32(limit)
		out[j] = p.ValueAfterShock(x[j], vm[j])
	}
}
