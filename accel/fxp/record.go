package fxp

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ballast-risk/ballast/accel"
)

// Record layouts: the kernel constants as the device reads them from DMA
// memory (docs/accel.md §7). Every field is little-endian and naturally
// aligned; a Scaled is {i32 M, i32 E}.
const (
	// InstrumentRecordBytes is the size of one instrument record.
	InstrumentRecordBytes = 160
	// ScenarioRecordFixedBytes is the fixed part of a scenario record; the
	// underlying table (16 bytes per underlying) and, with a Cholesky
	// factor, the factor (4 bytes per cell, padded to 8) follow it.
	ScenarioRecordFixedBytes = 64
	// ScenarioUnderlyingBytes is one entry of the underlying table.
	ScenarioUnderlyingBytes = 16
	// ScenarioFlagCholesky marks a scenario record carrying a Cholesky
	// factor.
	ScenarioFlagCholesky = 1 << 0
	// ScenarioFlagVolShocks marks a scenario record with vol shocks.
	ScenarioFlagVolShocks = 1 << 1
	// scaledExpAbsMax bounds |E| of a record's Scaled constants: far beyond
	// anything the host produces (±262), small enough that exponent sums
	// never wrap an int32.
	scaledExpAbsMax = 1 << 12
	// muAbsMax bounds |μ| and |b| in sQ.27 (DriftAbsMax).
	muAbsMax = int64(DriftAbsMax) << XFrac
)

// Instrument record field offsets.
const (
	recKind       = 0x00 // u8 accel.Kind
	recModel      = 0x01 // u8 accel.Model (0 for Spot and Future)
	recLossSh     = 0x02 // u8 loss-scale shift
	recReserved3  = 0x03 // u8 0
	recUnderlying = 0x04 // u32
	recV0         = 0x08 // i64 Value(0, MOne)
	recLossM      = 0x10 // u32 loss-scale mantissa
	recLnFK       = 0x14 // i32 ln(F/K) in sQ4.27
	recScaled     = 0x18 // 15 Scaled constants, in recScaledOrder
	recReserved   = recScaled + 8*15
)

// The Scaled constants of an instrument record, in record order: the
// revaluation constants (Value, ValueDGV) first, then those only Greeks
// reads.
func (p *InstrumentParams) scaledFields() [15]*Scaled {
	return [15]*Scaled{
		&p.carry, &p.as, &p.kd, &p.lnFKS, &p.s, &p.dDelta, &p.dGammaHalf, &p.dVegaSigma,
		&p.sqrtT, &p.invSigma, &p.thetaC, &p.rate, &p.carryRate, &p.years, &p.atm,
	}
}

// scaledNames names the record's Scaled constants, in record order.
var scaledNames = [15]string{
	"carry", "A/S", "Kd/S", "ln(F/K)", "σ√T", "Δ", "Γ·S/2", "vega/S·σ",
	"√T", "1/σ", "σ/(2√T)", "r", "r−q", "T", "√T/√(2π)",
}

// PutRecord writes the instrument's kernel constants as an instrument
// record (InstrumentRecordBytes, docs/accel.md §7) into b, with underlying
// the row of the scenario matrices it reads. Reserved bytes are written as
// zero. A short b is a programming error and panics.
func (p *InstrumentParams) PutRecord(b []byte, underlying uint32) {
	b = b[:InstrumentRecordBytes]
	clear(b)
	b[recKind] = byte(p.kind)
	if !p.linear {
		b[recModel] = byte(p.model)
	}
	b[recLossSh] = p.lossSh
	le.PutUint32(b[recUnderlying:], underlying)
	le.PutUint64(b[recV0:], uint64(p.v0))
	le.PutUint32(b[recLossM:], p.lossM)
	le.PutUint32(b[recLnFK:], uint32(p.lnFK))
	for k, s := range p.scaledFields() {
		putScaled(b[recScaled+8*k:], *s)
	}
}

// InstrumentRecord decodes an instrument record (the first
// InstrumentRecordBytes of b) and returns its parameters and underlying.
// Value, ValueDGV, Loss, Value0 and Greeks of the decoded parameters give
// the same bits as those of the parameters that wrote the record. The
// host-only inputs (spot, multiplier, σ — used by LossBound and AccelGreeks)
// are not part of a record and are zero in the result. A malformed record
// (short, reserved bytes set, a kind, model, mantissa or exponent out of its
// range, a Scaled constant not normalised) is a *RangeError naming the field.
func InstrumentRecord(b []byte) (*InstrumentParams, uint32, error) {
	if len(b) < InstrumentRecordBytes {
		return nil, 0, rangeErr("record", float64(len(b)), "want %d bytes", InstrumentRecordBytes)
	}
	b = b[:InstrumentRecordBytes]
	p := &InstrumentParams{kind: accel.Kind(b[recKind]), model: accel.Model(b[recModel]), lossSh: b[recLossSh]}
	switch {
	case p.kind < accel.Spot || p.kind > accel.Put:
		return nil, 0, rangeErr("kind", float64(p.kind), "want 1..4")
	case p.kind <= accel.Future && p.model != 0:
		return nil, 0, rangeErr("model", float64(p.model), "want 0 for a linear kind")
	case p.kind >= accel.Call && p.model != accel.BSM && p.model != accel.Black76:
		return nil, 0, rangeErr("model", float64(p.model), "want BSM (1) or Black76 (2)")
	case b[recReserved3] != 0:
		return nil, 0, rangeErr("reserved[3]", float64(b[recReserved3]), "want 0")
	case p.lossSh < 1 || p.lossSh > 62:
		return nil, 0, rangeErr("lossSh", float64(p.lossSh), "want 1..62")
	}
	for k, v := range b[recReserved:] {
		if v != 0 {
			return nil, 0, rangeErr(fmt.Sprintf("reserved[%d]", recReserved+k), float64(v), "want 0")
		}
	}
	p.linear = p.kind <= accel.Future
	p.put = p.kind == accel.Put
	p.v0 = int64(le.Uint64(b[recV0:]))
	p.lossM = le.Uint32(b[recLossM:])
	p.lnFK = int32(le.Uint32(b[recLnFK:]))
	switch {
	case p.v0 < 0 || p.v0 >= VMax:
		return nil, 0, rangeErr("v0", float64(p.v0), "want [0, 2^46)")
	case p.lossM < 1<<(LossMantBits-1) || p.lossM >= 1<<LossMantBits:
		return nil, 0, rangeErr("lossM", float64(p.lossM), "want [2^23, 2^24)")
	case p.lnFK < -XMax || p.lnFK > XMax:
		return nil, 0, rangeErr("ln(F/K)", float64(p.lnFK), "want [-2^30, 2^30]")
	}
	for k, s := range p.scaledFields() {
		v, err := getScaled(b[recScaled+8*k:], scaledNames[k])
		if err != nil {
			return nil, 0, err
		}
		*s = v
	}
	p.g = p.Greeks()
	return p, le.Uint32(b[recUnderlying:]), nil
}

var le = binary.LittleEndian

func putScaled(b []byte, s Scaled) {
	le.PutUint32(b, uint32(s.M))
	le.PutUint32(b[4:], uint32(s.E))
}

// getScaled reads a Scaled and checks that it is normalised.
func getScaled(b []byte, field string) (Scaled, error) {
	s := Scaled{M: int32(le.Uint32(b)), E: int32(le.Uint32(b[4:]))}
	if s.M == 0 {
		if s.E != 0 {
			return s, rangeErr(field+".E", float64(s.E), "want 0 with a zero mantissa")
		}
		return s, nil
	}
	if m := math.Abs(float64(s.M)); m < 1<<(MantBits-1) {
		return s, rangeErr(field+".M", float64(s.M), "want 2^30 ≤ |M| < 2^31")
	}
	if s.E < -scaledExpAbsMax || s.E > scaledExpAbsMax {
		return s, rangeErr(field+".E", float64(s.E), "want |E| ≤ %d", scaledExpAbsMax)
	}
	return s, nil
}

// Scenario record field offsets (from the record's start).
const (
	scnU         = 0x00 // u32 underlyings
	scnFlags     = 0x04 // u32 ScenarioFlag*
	scnKey       = 0x08 // 2 × u32 Philox key
	scnNu        = 0x10 // u32 Student-t ν (0: Gaussian)
	scnReserved  = 0x14 // u32 0
	scnSqrtNu    = 0x18 // Scaled √(ν−2)
	scnRho       = 0x20 // i32 ρ (sQ1.30)
	scnRhoC      = 0x24 // i32 √(1−ρ²) (sQ1.30)
	scnAm        = 0x28 // u32 η√h mantissa
	scnAsh       = 0x2C // u32 η√h shift
	scnB         = 0x30 // i64 b = −η²h/2 (sQ.27)
	scnReserved2 = 0x38 // u64 0
)

// RecordBytes is the size of the scenario record PutRecord writes:
// ScenarioRecordFixedBytes, the underlying table and, with a Cholesky
// factor, U·U int32 cells padded to a multiple of 8 bytes.
func (p *ScenarioParams) RecordBytes() int {
	return ScenarioRecordBytes(p.u, p.chol != nil)
}

// ScenarioRecordBytes is the size of a scenario record for u underlyings,
// with or without a Cholesky factor.
func ScenarioRecordBytes(u int, cholesky bool) int {
	n := ScenarioRecordFixedBytes + ScenarioUnderlyingBytes*u
	if cholesky {
		n += (4*u*u + 7) &^ 7
	}
	return n
}

// PutRecord writes the scenario constants as a scenario record
// (RecordBytes, docs/accel.md §7) into b: everything Row reads. Reserved and
// padding bytes are written as zero. A short b is a programming error and
// panics.
func (p *ScenarioParams) PutRecord(b []byte) {
	b = b[:p.RecordBytes()]
	clear(b)
	var flags uint32
	if p.chol != nil {
		flags |= ScenarioFlagCholesky
	}
	if p.vol {
		flags |= ScenarioFlagVolShocks
	}
	le.PutUint32(b[scnU:], uint32(p.u))
	le.PutUint32(b[scnFlags:], flags)
	le.PutUint32(b[scnKey:], p.key[0])
	le.PutUint32(b[scnKey+4:], p.key[1])
	le.PutUint32(b[scnNu:], uint32(p.nu))
	putScaled(b[scnSqrtNu:], p.sqrtNu)
	le.PutUint32(b[scnRho:], uint32(p.rho))
	le.PutUint32(b[scnRhoC:], uint32(p.rhoC))
	le.PutUint32(b[scnAm:], p.am)
	le.PutUint32(b[scnAsh:], uint32(p.ash))
	le.PutUint64(b[scnB:], uint64(p.b))
	t := b[ScenarioRecordFixedBytes:]
	for u := range p.u {
		e := t[ScenarioUnderlyingBytes*u:]
		le.PutUint64(e, uint64(p.mu[u]))
		le.PutUint32(e[8:], p.vm[u])
		le.PutUint32(e[12:], uint32(p.vsh[u]))
	}
	c := t[ScenarioUnderlyingBytes*p.u:]
	for k, v := range p.chol {
		le.PutUint32(c[4*k:], uint32(v))
	}
}

// ScenarioRecord decodes a scenario record at the start of b and returns
// its parameters and its size in bytes. Row on the decoded parameters gives
// the same bits as Row on the parameters that wrote it (XAbsMax is
// recomputed from the decoded constants, so it is the same too). A
// malformed record (short, reserved bits or bytes set, a count, mantissa,
// shift or coefficient out of its range, a Cholesky cell above the
// diagonal) is a *RangeError naming the field.
func ScenarioRecord(b []byte) (*ScenarioParams, int, error) {
	if len(b) < ScenarioRecordFixedBytes {
		return nil, 0, rangeErr("record", float64(len(b)), "want at least %d bytes", ScenarioRecordFixedBytes)
	}
	u := le.Uint32(b[scnU:])
	flags := le.Uint32(b[scnFlags:])
	nu := le.Uint32(b[scnNu:])
	switch {
	case u < 1 || u > accel.UnderlyingsMax:
		return nil, 0, rangeErr("U", float64(u), "want 1..%d", accel.UnderlyingsMax)
	case flags&^(ScenarioFlagCholesky|ScenarioFlagVolShocks) != 0:
		return nil, 0, rangeErr("flags", float64(flags), "only bits 0 and 1 are defined")
	case nu != 0 && (nu < StudentTDoFMin || nu > StudentTDoFMax):
		return nil, 0, rangeErr("ν", float64(nu), "want 0 or %d..%d", StudentTDoFMin, StudentTDoFMax)
	case le.Uint32(b[scnReserved:]) != 0 || le.Uint64(b[scnReserved2:]) != 0:
		return nil, 0, rangeErr("reserved", math.NaN(), "want 0")
	}
	n := int(u)
	size := ScenarioRecordBytes(n, flags&ScenarioFlagCholesky != 0)
	if len(b) < size {
		return nil, 0, rangeErr("record", float64(len(b)), "want %d bytes for %d underlyings", size, n)
	}
	p := &ScenarioParams{
		u:    n,
		key:  [2]uint32{le.Uint32(b[scnKey:]), le.Uint32(b[scnKey+4:])},
		nu:   int(nu),
		vol:  flags&ScenarioFlagVolShocks != 0,
		rho:  int32(le.Uint32(b[scnRho:])),
		rhoC: int32(le.Uint32(b[scnRhoC:])),
		am:   le.Uint32(b[scnAm:]),
		b:    int64(le.Uint64(b[scnB:])),
		mu:   make([]int64, n),
		vm:   make([]uint32, n),
		vsh:  make([]uint8, n),
	}
	var err error
	if p.sqrtNu, err = getScaled(b[scnSqrtNu:], "√(ν−2)"); err != nil {
		return nil, 0, err
	}
	if (nu == 0 && p.sqrtNu != Scaled{}) || (nu != 0 && p.sqrtNu.M <= 0) {
		return nil, 0, rangeErr("√(ν−2)", p.sqrtNu.Float(), "want 0 for a Gaussian, positive for a Student-t")
	}
	ash := le.Uint32(b[scnAsh:])
	if p.vol {
		switch {
		case p.rho < -1<<CFrac || p.rho > 1<<CFrac:
			return nil, 0, rangeErr("ρ", float64(p.rho), "want [-2^30, 2^30]")
		case p.rhoC < 0 || p.rhoC > 1<<CFrac:
			return nil, 0, rangeErr("√(1−ρ²)", float64(p.rhoC), "want [0, 2^30]")
		case !hostMantOK(p.am, ash, 61):
			return nil, 0, rangeErr("η√h", float64(p.am), "want a mantissa in [2^27, 2^28) and a shift ≤ 61, or 0")
		case p.b < -muAbsMax || p.b > 0:
			return nil, 0, rangeErr("b", float64(p.b), "want [-2^37, 0]")
		}
		p.ash = uint8(ash)
	} else if p.rho != 0 || p.rhoC != 0 || p.am != 0 || ash != 0 || p.b != 0 {
		return nil, 0, rangeErr("vol-shock constants", math.NaN(), "want 0 without vol shocks")
	}
	t := b[ScenarioRecordFixedBytes:]
	for k := range n {
		e := t[ScenarioUnderlyingBytes*k:]
		mu, vm, vsh := int64(le.Uint64(e)), le.Uint32(e[8:]), le.Uint32(e[12:])
		if mu < -muAbsMax || mu > 0 {
			return nil, 0, rangeErr(fmt.Sprintf("μ[%d]", k), float64(mu), "want [-2^37, 0]")
		}
		if !hostMantOK(vm, vsh, 62) {
			return nil, 0, rangeErr(fmt.Sprintf("σ√h[%d]", k), float64(vm), "want a mantissa in [2^27, 2^28) and a shift ≤ 62, or 0")
		}
		p.mu[k], p.vm[k], p.vsh[k] = mu, vm, uint8(vsh)
	}
	if flags&ScenarioFlagCholesky != 0 {
		c := t[ScenarioUnderlyingBytes*n:]
		p.chol = make([]int32, n*n)
		for i := range n {
			for j := range n {
				v := int32(le.Uint32(c[4*(i*n+j):]))
				if v < -1<<CFrac || v > 1<<CFrac || (j > i && v != 0) {
					return nil, 0, rangeErr(fmt.Sprintf("Cholesky[%d][%d]", i, j), float64(v), "want [-2^30, 2^30], 0 above the diagonal")
				}
				p.chol[i*n+j] = v
			}
		}
		for k := 4 * n * n; k < size-ScenarioRecordFixedBytes-ScenarioUnderlyingBytes*n; k++ {
			if c[k] != 0 {
				return nil, 0, rangeErr("Cholesky padding", float64(c[k]), "want 0")
			}
		}
	}
	p.xAbs = p.xAbsBound()
	return p, size, nil
}

// hostMantOK reports whether m·2^-sh is a host mantissa-shift pair as
// hostMant writes them: (0, 0), or m in [2^27, 2^28) and sh ≤ shMax.
func hostMantOK(m, sh uint32, shMax uint32) bool {
	if m == 0 {
		return sh == 0
	}
	return m >= 1<<(HostMantBits-1) && m < 1<<HostMantBits && sh <= shMax
}
