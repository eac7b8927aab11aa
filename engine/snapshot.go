package engine

import (
	"fmt"
	"math"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/scenario"
	"github.com/ballast-risk/ballast/engine/tail"
)

// diffusionTenorYears is the tenor whose at-the-money vol diffuses an
// underlying in the Monte Carlo scenarios.
const diffusionTenorYears = 30.0 / 365

// volTenorMinYears floors the tenor at which a smile is read, so an option on
// its expiry day still gets a finite vol (its value is then intrinsic).
const volTenorMinYears = 1.0 / (365 * 24)

// snapshot is the engine's per-epoch data, attached as Epoch.Meta.
type snapshot struct {
	job *accel.RiskJob
	// spots are the underlyings' marks the epoch used.
	spots []float64
	// acctIndex maps an account id to its row in the job.
	acctIndex map[uint64]int
	// zero is the tail summary of an all-zero loss vector, for accounts the
	// epoch does not know.
	zero *tail.Account
	// points is the stress grid's points per underlying.
	points int
}

// positionsOf returns account row a's snapshot positions as (instrument
// index, qty) pairs.
func (s *snapshot) positionsOf(a int) ([]uint32, []float64) {
	p := &s.job.Positions
	return p.Instrument[p.Start[a]:p.Start[a+1]], p.Qty[p.Start[a]:p.Start[a+1]]
}

// snapshot builds the risk job of the next epoch from the current marks,
// smiles and positions.
func (e *Engine) snapshot(seed uint64) (*accel.RiskJob, *snapshot, error) {
	m := e.Master()
	now := e.now()
	nU := len(m.Underlyings)
	h := e.cfg.HorizonDays / 252
	spots := make([]float64, nU)
	vols := make([]float64, nU)
	for u := range spots {
		spots[u], _, _ = e.Mark(u)
		vols[u] = e.vols[u].Load().Vol(0, diffusionTenorYears)
	}
	job := &accel.RiskJob{
		Underlyings: nU,
		Instruments: make([]accel.Instrument, len(m.Instruments)),
		Model:       e.cfg.LossModel,
	}
	carryOf := func(u int, t float64) float64 {
		return math.Exp((m.Rate - m.Underlyings[u].Div) * t)
	}
	for i := range m.Instruments {
		in := &m.Instruments[i]
		u := in.Underlying
		ai := accel.Instrument{
			Underlying: uint32(u), S: spots[u], Carry: 1, R: m.Rate, Q: m.Underlyings[u].Div,
			Multiplier: in.Multiplier,
		}
		switch in.Kind {
		case instrument.Spot:
			ai.Kind = accel.Spot
		case instrument.Future:
			ai.Kind = accel.Future
			ai.T = instrument.YearsBetween(now, in.Expiry)
			ai.Carry = carryOf(u, ai.T)
		case instrument.Call, instrument.Put:
			ai.Kind = accel.Call
			if in.Kind == instrument.Put {
				ai.Kind = accel.Put
			}
			ai.K = in.Strike
			ai.T = instrument.YearsBetween(now, in.Expiry)
			fwd := spots[u] * carryOf(u, ai.T)
			ai.Model = accel.BSM
			if in.Model == instrument.Black76 {
				ai.Model = accel.Black76
				ai.Carry = carryOf(u, instrument.YearsBetween(now, m.Instruments[in.Future].Expiry))
				fwd = spots[u] * ai.Carry
			}
			ai.Sigma = e.vols[u].Load().Vol(math.Log(in.Strike/fwd), max(ai.T, volTenorMinYears))
		}
		job.Instruments[i] = ai
	}
	sc := &job.Scenarios
	sc.Seed = seed
	sc.Count = e.cfg.Scenarios
	sc.HorizonYears = h
	sc.Vols = vols
	sc.Cholesky = e.corr.L()
	sc.StudentTDoF = e.cfg.StudentTDoF
	sc.VolOfVol = e.cfg.VolOfVol
	sc.SpotVolCorr = e.cfg.SpotVolCorr
	if e.cfg.Historical != nil {
		sc.Historical = e.cfg.Historical.X
	}
	grid, err := scenario.NewStressGrid(e.cfg.Stress, vols, h)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: stress grid: %v", ErrConfig, err)
	}
	pts := grid.Points()
	st := &job.Stress
	st.Points = pts
	st.X = make([]float64, nU*pts)
	st.VolMul = make([]float64, nU*pts)
	st.Weight = make([]float64, nU*pts)
	for u := 0; u < nU; u++ {
		for p := 0; p < pts; p++ {
			st.X[u*pts+p], st.VolMul[u*pts+p], st.Weight[u*pts+p] = grid.Point(u, p)
		}
	}
	total := sc.Total(nU)
	spec, err := tail.NewSpec(total, e.cfg.Margin.ESAlpha, e.cfg.Margin.VaRAlpha)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	job.KVaR, job.KES = spec.KVaR, spec.KES

	e.mu.RLock()
	order := append([]*acctState(nil), e.order...)
	e.mu.RUnlock()
	pos := &job.Positions
	pos.Start = make([]uint32, 0, len(order)+1)
	pos.Start = append(pos.Start, 0)
	meta := &snapshot{job: job, spots: spots, acctIndex: make(map[uint64]int, len(order)), points: pts}
	for a, stt := range order {
		stt.mu.Lock()
		for _, p := range stt.acct.Positions {
			i, ok := m.Index(p.Instrument)
			if !ok {
				// Listed (ExtendMaster) and booked after m was read: this
				// epoch does not price it, and the account's checks fail
				// closed until the next one (rebase).
				continue
			}
			pos.Instrument = append(pos.Instrument, uint32(i))
			pos.Qty = append(pos.Qty, float64(p.Qty))
		}
		meta.acctIndex[stt.acct.ID] = a
		stt.mu.Unlock()
		if len(pos.Instrument) > accel.PositionsMax {
			return nil, nil, fmt.Errorf("%w: more than %d positions", ErrConfig, accel.PositionsMax)
		}
		pos.Start = append(pos.Start, uint32(len(pos.Instrument)))
	}
	zero, err := tail.NewAccount(make([]float64, total), spec)
	if err != nil {
		return nil, nil, fmt.Errorf("engine: zero loss vector: %v", err)
	}
	meta.zero = zero
	return job, meta, nil
}

// accountRow is the job row of account a in snapshot s, or -1.
func (s *snapshot) accountRow(a *account.Account) int {
	if r, ok := s.acctIndex[a.ID]; ok {
		return r
	}
	return -1
}
