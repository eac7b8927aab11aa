package fxp

import (
	"fmt"
	"math"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/scenario"
)

// Host bounds of a scenario configuration.
const (
	// HorizonYearsMax is the longest risk horizon.
	HorizonYearsMax = scenario.HorizonYearsMax
	// VolMax bounds the diffusion vols and the vol of vol.
	VolMax = 10.0
	// DiffusionMax bounds σ√h and η√h (below 16, the range of their
	// mantissa-shift form with a shift of at least 24).
	DiffusionMax = 15.0
	// DriftAbsMax bounds |μ| = σ²h/2 and |b| = η²h/2.
	DriftAbsMax = 1024.0
	// StudentTDoFMin and StudentTDoFMax bound ν (0 means Gaussian).
	StudentTDoFMin = scenario.StudentTDoFMin
	StudentTDoFMax = scenario.StudentTDoFMax
)

// ScenarioParams is the fixed-point form of a job's Monte Carlo
// configuration: everything Row needs, precomputed on the host. It is
// immutable and safe for concurrent use.
type ScenarioParams struct {
	u      int
	key    [2]uint32
	chol   []int32  // U×U row-major, sQ1.30; nil: independent underlyings
	mu     []int64  // μ_u = −σ²h/2 in sQ.27
	vm     []uint32 // σ√h mantissa in [2^27, 2^28) (0 for σ√h = 0)
	vsh    []uint8  // σ√h = vm·2^-vsh
	nu     int      // Student-t ν, 0 for Gaussian
	sqrtNu Scaled   // √(ν−2)
	vol    bool     // vol shocks
	rho    int32    // ρ_sv in sQ1.30
	rhoC   int32    // √(1−ρ²) in sQ1.30
	am     uint32   // η√h mantissa
	ash    uint8    // η√h = am·2^-ash
	b      int64    // −η²h/2 in sQ.27
	xAbs   int32    // XAbsMax
}

// NewScenarioParams converts a job's scenario description for underlyings
// underlyings (1..accel.UnderlyingsMax) to fixed point. Host constants are
// computed in float64 exactly as engine/scenario computes them (μ = −0.5·σ·σ·h,
// σ·√h, η·√h, −0.5·η·η·h, √(1−ρ·ρ), √(ν−2)) and rounded once: Cholesky
// entries, ρ and √(1−ρ²) to sQ1.30, μ and b to sQ.27, σ√h and η√h to a
// 28-bit mantissa and a shift. Anything outside the ranges is a
// *RangeError naming the field. Historical rows are not part of it (see
// ConvertX).
func NewScenarioParams(sc *accel.Scenarios, underlyings int) (*ScenarioParams, error) {
	n := underlyings
	if n < 1 || n > accel.UnderlyingsMax {
		return nil, rangeErr("underlyings", float64(n), "want 1..%d", accel.UnderlyingsMax)
	}
	if len(sc.Vols) != n {
		return nil, rangeErr("len(Vols)", float64(len(sc.Vols)), "want %d", n)
	}
	h := sc.HorizonYears
	if !(h > 0 && h <= HorizonYearsMax) {
		return nil, rangeErr("HorizonYears", h, "want (0, %g]", HorizonYearsMax)
	}
	nu := sc.StudentTDoF
	if nu != 0 && (nu < StudentTDoFMin || nu > StudentTDoFMax) {
		return nil, rangeErr("StudentTDoF", float64(nu), "want 0 or %d..%d", StudentTDoFMin, StudentTDoFMax)
	}
	if !(sc.VolOfVol >= 0 && sc.VolOfVol <= VolMax) {
		return nil, rangeErr("VolOfVol", sc.VolOfVol, "want [0, %g]", VolMax)
	}
	if !(sc.SpotVolCorr >= -1 && sc.SpotVolCorr <= 1) {
		return nil, rangeErr("SpotVolCorr", sc.SpotVolCorr, "want [-1, 1]")
	}
	sqrtH := math.Sqrt(h)
	p := &ScenarioParams{
		u:   n,
		key: scenario.SeedKey(sc.Seed),
		mu:  make([]int64, n),
		vm:  make([]uint32, n),
		vsh: make([]uint8, n),
		nu:  nu,
		vol: sc.VolOfVol > 0,
	}
	if nu > 0 {
		p.sqrtNu = ScaledFromFloat(math.Sqrt(float64(nu - 2)))
	}
	for u, s := range sc.Vols {
		if !(s >= 0 && s <= VolMax) {
			return nil, rangeErr(fmt.Sprintf("Vols[%d]", u), s, "want [0, %g]", VolMax)
		}
		mu := -0.5 * s * s * h
		v := s * sqrtH
		if v > DiffusionMax || -mu > DriftAbsMax {
			return nil, rangeErr(fmt.Sprintf("Vols[%d]", u), s, "σ√h = %g must be ≤ %g and σ²h/2 ≤ %g", v, DiffusionMax, DriftAbsMax)
		}
		p.mu[u] = fixedFromFloat(mu, XFrac)
		p.vm[u], p.vsh[u] = hostMant(v, HostMantBits, 62)
	}
	if sc.Cholesky != nil {
		if len(sc.Cholesky) != n*n {
			return nil, rangeErr("len(Cholesky)", float64(len(sc.Cholesky)), "want %d", n*n)
		}
		p.chol = make([]int32, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				l := sc.Cholesky[i*n+j]
				f := fmt.Sprintf("Cholesky[%d][%d]", i, j)
				if !(l >= -1 && l <= 1) {
					return nil, rangeErr(f, l, "want [-1, 1]")
				}
				if j > i && l != 0 {
					return nil, rangeErr(f, l, "must be 0 above the diagonal")
				}
				p.chol[i*n+j] = int32(fixedFromFloat(l, CFrac))
			}
		}
	}
	if p.vol {
		rho := sc.SpotVolCorr
		p.rho = int32(fixedFromFloat(rho, CFrac))
		p.rhoC = int32(fixedFromFloat(math.Sqrt(1-float64(rho*rho)), CFrac))
		a := sc.VolOfVol * sqrtH
		b := -0.5 * sc.VolOfVol * sc.VolOfVol * h
		if a > DiffusionMax || -b > DriftAbsMax {
			return nil, rangeErr("VolOfVol", sc.VolOfVol, "η√h = %g must be ≤ %g and η²h/2 ≤ %g", a, DiffusionMax, DriftAbsMax)
		}
		p.am, p.ash = hostMant(a, HostMantBits, 61)
		p.b = fixedFromFloat(b, XFrac)
	}
	p.xAbs = p.xAbsBound()
	return p, nil
}

// Underlyings is U, the length of a row.
func (p *ScenarioParams) Underlyings() int { return p.u }

// VolShocks reports whether rows carry vol multipliers other than 1.
func (p *ScenarioParams) VolShocks() bool { return p.vol }

// XAbsMax bounds |x| over every row Row can produce (at most XMax): the
// host's input to LossBound. It is computed in float64 from the
// fixed-point constants with a margin: |μ_u| + σ√h_u·min(256, s_max·ẑ_max,u)
// with ẑ_max,u = min(8, Σ_k |L_uk|·max|InvNorm|) and s_max = 1 (Gaussian) or
// 256 (Student-t).
func (p *ScenarioParams) XAbsMax() int32 { return p.xAbs }

func (p *ScenarioParams) xAbsBound() int32 {
	zMax := -float64(InvNorm(0))*0x1p-28 + 0x1p-27
	sMax := 1.0
	if p.nu > 0 {
		sMax = 256
	}
	worst := 0.0
	for u := 0; u < p.u; u++ {
		zh := zMax
		if p.chol != nil {
			l1 := 0.0
			for k := 0; k <= u; k++ {
				l1 += math.Abs(float64(p.chol[u*p.u+k]) * 0x1p-30) // exact scaling
			}
			zh = min(8, float64(zMax*l1)+float64(u+2)*0x1p-27)
		}
		tz := min(256, zh*sMax) + 0x1p-26
		v := float64(p.vm[u]) * math.Ldexp(1, -int(p.vsh[u]))
		x := math.Abs(float64(p.mu[u])*0x1p-27) + float64(float64(v*tz)*(1+0x1p-24)) + 0x1p-24
		worst = max(worst, x)
	}
	return int32(min(XMax, math.Ceil(worst*0x1p27)))
}

// philoxBlock is the kernel's one Philox call: block b of stream in the
// scenario with index lo | hi<<32, counter {b, stream, lo, hi}, under the
// epoch key (engine/scenario documents the layout).
func philoxBlock(key [2]uint32, b, stream, lo, hi uint32) [4]uint32 {
	return scenario.Philox4x32([4]uint32{b, stream, lo, hi}, key)
}

// normals writes InvNorm of stream's words 0..len(dst)−1 into dst.
func (p *ScenarioParams) normals(stream, lo, hi uint32, dst []int32) {
	n := len(dst)
	b := 0
	for ; 4*b+4 <= n; b++ {
		w := philoxBlock(p.key, uint32(b), stream, lo, hi)
		d := dst[4*b : 4*b+4 : 4*b+4]
		d[0] = InvNorm(w[0])
		d[1] = InvNorm(w[1])
		d[2] = InvNorm(w[2])
		d[3] = InvNorm(w[3])
	}
	if 4*b < n {
		w := philoxBlock(p.key, uint32(b), stream, lo, hi)
		for j := 0; 4*b+j < n; j++ {
			dst[4*b+j] = InvNorm(w[j])
		}
	}
}

// Row computes scenario idx: the log-returns x (sQ4.27, len Underlyings)
// and, when m is not nil (len Underlyings), the vol multipliers (uQ8.24; all
// MOne without vol shocks). It follows engine/scenario step for step with
// the same Philox counters, so the same uniforms:
//
//  1. z_u = InvNorm(word u of stream 0) (sQ3.28).
//  2. ẑ_u = sat32(rshr(Σ_{k≤u} rshr(L_uk·z_k, 18), 12)): each 32×32-bit
//     product (58 fraction bits) rounded to 40, summed in an int64, rounded
//     to sQ3.28 and saturated to the int32 range (|ẑ| < 8). Without a
//     Cholesky factor ẑ = z.
//  3. Student-t (ν > 0): W = Σ_{k<ν} rshr(g_k², 24) (uQ12.32) over normals
//     g_k of stream 1; scale = min(MMax, (√(ν−2)·Rsqrt(W)).Fixed(24))
//     (uQ8.24), the maximum when W = 0. Gaussian: scale = 2^24.
//  4. sẑ_u = sat(rshr(ẑ_u·scale, 25), ±TZMax) (sQ8.27);
//     x_u = sat(μ_u + rshr(sẑ_u·vm_u, vsh_u), ±XMax) with σ√h = vm·2^-vsh.
//  5. Vol shocks (η > 0), from the Gaussian ẑ: ε_u = InvNorm(word u of
//     stream 2), z_v = rshr(ρ·ẑ_u + √(1−ρ²)·ε_u, 30) (sQ.28),
//     l = sat(b + rshr(z_v·am, ash+1), ±XMax) with η√h = am·2^-ash,
//     m_u = clamp(Exp(l).Fixed(24), MMin, MMax).
//
// It allocates nothing and may run concurrently. Wrong slice lengths are a
// programming error and panic.
func (p *ScenarioParams) Row(idx uint64, x []int32, m []uint32) {
	n := p.u
	if len(x) != n || (m != nil && len(m) != n) {
		panic(fmt.Sprintf("fxp: Row needs slices of %d underlyings, got x %d, m %d", n, len(x), len(m)))
	}
	lo, hi := uint32(idx), uint32(idx>>32)
	p.normals(scenario.StreamMarket, lo, hi, x)
	if p.chol != nil {
		for u := n - 1; u >= 0; u-- {
			row := p.chol[u*n : u*n+u+1]
			zs := x[:u+1]
			var acc int64
			for k, c := range row {
				acc += Rshr(int64(c)*int64(zs[k]), 58-ZAccFrac)
			}
			x[u] = int32(satI64(Rshr(acc, ZAccFrac-ZFrac), -1<<31, 1<<31-1))
		}
	}
	if m != nil {
		if p.vol {
			p.volShocks(lo, hi, x, m)
		} else {
			for u := range m {
				m[u] = MOne
			}
		}
	}
	scale := int64(1) << ScaleFrac
	if p.nu > 0 {
		scale = p.scale(lo, hi)
	}
	mu, vm, vsh := p.mu[:n], p.vm[:n], p.vsh[:n]
	for u, z := range x {
		tz := satI64(Rshr(int64(z)*scale, ZFrac+ScaleFrac-TZFrac), -TZMax, TZMax)
		x[u] = int32(satI64(mu[u]+Rshr(tz*int64(vm[u]), uint(vsh[u])), -XMax, XMax))
	}
}

// scale returns the Student-t scale of the scenario in uQ8.24.
func (p *ScenarioParams) scale(lo, hi uint32) int64 {
	var w int64
	for b := 0; 4*b < p.nu; b++ {
		out := philoxBlock(p.key, uint32(b), scenario.StreamChiSquare, lo, hi)
		for j := 0; j < min(4, p.nu-4*b); j++ {
			g := int64(InvNorm(out[j]))
			w += Rshr(g*g, 2*ZFrac-WFrac)
		}
	}
	if w == 0 {
		return MMax
	}
	return satI64(Mul(Rsqrt(Norm(w, -WFrac)), p.sqrtNu).Fixed(ScaleFrac), 0, MMax)
}

// volShocks writes the vol multipliers from the correlated normals zhat.
func (p *ScenarioParams) volShocks(lo, hi uint32, zhat []int32, m []uint32) {
	n := len(zhat)
	for b := 0; 4*b < n; b++ {
		out := philoxBlock(p.key, uint32(b), scenario.StreamVolShock, lo, hi)
		for j := 0; j < min(4, n-4*b); j++ {
			u := 4*b + j
			eps := int64(InvNorm(out[j]))
			zv := Rshr(int64(p.rho)*int64(zhat[u])+int64(p.rhoC)*eps, CFrac)
			l := satI64(p.b+Rshr(zv*int64(p.am), uint(p.ash)+1), -XMax, XMax)
			m[u] = uint32(satI64(Exp(int32(l)).Fixed(MFrac), MMin, MMax))
		}
	}
}
