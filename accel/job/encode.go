package job

import (
	"fmt"

	"github.com/ballast-risk/ballast/accel/fxp"
)

func short(what string, have, want int) error {
	return fmt.Errorf("%w: %s has %d bytes, needs %d", ErrShortBuffer, what, have, want)
}

// EncodeScenGen writes the SCENGEN input (Sizes().ScenGenSrc bytes) into
// src: the header (every Monte Carlo column, scenario index of column 0 =
// 0) and the scenario record.
func (p *Plan) EncodeScenGen(src []byte) error {
	n := p.Sizes().ScenGenSrc
	if len(src) < n {
		return short("SCENGEN src", len(src), n)
	}
	h := src[:ScenGenHeaderBytes]
	clear(h)
	le.PutUint32(h[sgMagic:], MagicScenGen)
	le.PutUint32(h[sgSMC:], uint32(p.SMC))
	le.PutUint32(h[sgSp:], uint32(p.Sp))
	le.PutUint64(h[sgFirst:], 0)
	p.Scen.PutRecord(src[ScenGenHeaderBytes:n])
	return nil
}

// FillScenarios writes the host's part of the scenario buffer
// (Sizes().Scenarios bytes) before SCENGEN runs: the historical columns
// [SMC, S) and the stress columns [S, Cols) of X, and of M (when HasM) the
// stress multipliers, fxp.MOne in the historical columns and, when the
// scenarios have no vol shocks, in the Monte Carlo columns too. The padding
// columns [Cols, Sp) are zeroed. SCENGEN writes the Monte Carlo columns.
func (p *Plan) FillScenarios(scen []byte) error {
	n := p.Sizes().Scenarios
	if len(scen) < n {
		return short("scenario buffer", len(scen), n)
	}
	row := 4 * p.Sp
	for u := range p.U {
		x := scen[u*row : (u+1)*row]
		for c := p.SMC; c < p.S; c++ {
			le.PutUint32(x[4*c:], uint32(p.HistX[(c-p.SMC)*p.U+u]))
		}
		for k := range p.Points {
			le.PutUint32(x[4*(p.S+k):], uint32(p.StressX[u*p.Points+k]))
		}
		clear(x[4*p.Cols:])
		if !p.HasM {
			continue
		}
		m := scen[(p.U+u)*row : (p.U+u+1)*row]
		c0 := p.SMC
		if !p.Scen.VolShocks() {
			c0 = 0
		}
		for c := c0; c < p.S; c++ {
			le.PutUint32(m[4*c:], fxp.MOne)
		}
		for k := range p.Points {
			le.PutUint32(m[4*(p.S+k):], p.StressM[u*p.Points+k])
		}
		clear(m[4*p.Cols:])
	}
	return nil
}

// EncodeReval writes the REVAL input (Sizes().RevalSrc bytes) into src:
// the header (columns [0, Cols); under the delta-gamma-vega model the tail
// columns [0, S) use ValueDGV and the stress columns Value) and one
// instrument record per instrument.
func (p *Plan) EncodeReval(src []byte) error {
	n := p.Sizes().RevalSrc
	if len(src) < n {
		return short("REVAL src", len(src), n)
	}
	h := src[:RevalHeaderBytes]
	clear(h)
	le.PutUint32(h[rvMagic:], MagicReval)
	le.PutUint32(h[rvI:], uint32(p.I))
	le.PutUint32(h[rvU:], uint32(p.U))
	le.PutUint32(h[rvSp:], uint32(p.Sp))
	le.PutUint32(h[rvC:], uint32(p.Cols))
	if p.DGV {
		le.PutUint32(h[rvCDGV:], uint32(p.S))
	}
	if p.HasM {
		le.PutUint32(h[rvFlags:], RevalFlagM)
	}
	le.PutUint32(h[rvRecBytes:], fxp.InstrumentRecordBytes)
	le.PutUint64(h[rvRecords:], RevalHeaderBytes)
	p.putRecords(src[RevalHeaderBytes:n])
	return nil
}

func (p *Plan) putRecords(b []byte) {
	for i, ip := range p.Ins {
		ip.PutRecord(b[i*fxp.InstrumentRecordBytes:], p.Under[i])
	}
}

// EncodeAggTail writes the AGGTAIL input (Sizes().AggTailSrc bytes) into
// src: the header (tail columns [0, S), the account-loss matrix requested)
// and the positions in compressed-row form.
func (p *Plan) EncodeAggTail(src []byte) error {
	start, instr, qty, n := aggTailOffsets(p.A, p.Positions)
	if len(src) < n {
		return short("AGGTAIL src", len(src), n)
	}
	src = src[:n]
	clear(src[:qty]) // header and padding
	le.PutUint32(src[agMagic:], MagicAggTail)
	le.PutUint32(src[agA:], uint32(p.A))
	le.PutUint32(src[agS:], uint32(p.S))
	le.PutUint32(src[agSp:], uint32(p.Sp))
	le.PutUint32(src[agKVaR:], uint32(p.KVaR))
	le.PutUint32(src[agKES:], uint32(p.KES))
	le.PutUint32(src[agP:], uint32(p.Positions))
	le.PutUint32(src[agFlags:], AggTailFlagAccountLoss)
	le.PutUint64(src[agStart:], uint64(start))
	le.PutUint64(src[agInstr:], uint64(instr))
	le.PutUint64(src[agQty:], uint64(qty))
	pos := &p.Job.Positions
	if p.A > 0 {
		for a, s := range pos.Start {
			le.PutUint32(src[start+4*a:], s)
		}
	} else {
		le.PutUint32(src[start:], 0)
	}
	for j, in := range pos.Instrument {
		le.PutUint32(src[instr+4*j:], in)
	}
	for j, q := range p.Qty {
		le.PutUint64(src[qty+8*j:], uint64(q))
	}
	return nil
}

// EncodeGreeks writes the GREEKS input (Sizes().GreeksSrc bytes) into src:
// the header and the instrument records (the same records as REVAL's).
func (p *Plan) EncodeGreeks(src []byte) error {
	n := p.Sizes().GreeksSrc
	if len(src) < n {
		return short("GREEKS src", len(src), n)
	}
	h := src[:GreeksHeaderBytes]
	clear(h)
	le.PutUint32(h[gkMagic:], MagicGreeks)
	le.PutUint32(h[gkI:], uint32(p.I))
	le.PutUint32(h[gkRecBytes:], fxp.InstrumentRecordBytes)
	le.PutUint64(h[gkRecords:], GreeksHeaderBytes)
	p.putRecords(src[GreeksHeaderBytes:n])
	return nil
}
