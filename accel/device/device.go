// Package device is the accelerator backend over the host driver: it runs a
// risk batch (accel.RiskJob) on any device behind accel/driver — the
// Verilator simulation (vsim), the FPGA (fpga) or the Go device model
// (model) — and returns the same accel.RiskResult, bit for bit, as the cpu
// backend and job.Plan.Execute.
//
// A batch is one driver job: the chain SCENGEN → REVAL → AGGTAIL → GREEKS
// (SCENGEN left out when the job has no Monte Carlo scenarios) over two DMA
// buffers, one holding every input (the four sources and the scenario
// buffer with the host's columns filled) and one every output (the loss
// buffer, the tail buffer and the Greeks). REVAL's arg0 is the scenario
// buffer, AGGTAIL's the loss matrix (docs/accel.md §7). Before anything
// reaches the device the batch is checked against what the device says it
// can do (ID_CAPS, ID_AGG_COLS_MAX, ID_SCENGEN_U_MAX, the buffer and arena
// bounds): a batch it cannot take is a *LimitError (accel.ErrUnavailable)
// naming the limit, never a wrong answer. Each completion's out_bytes is
// checked against the plan before the outputs are decoded.
package device

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/internal/regs"
	"github.com/ballast-risk/ballast/accel/job"
	"github.com/ballast-risk/ballast/accel/vsim"
)

// Backend names.
const (
	// NameVsim is the Verilator simulation.
	NameVsim = "vsim"
	// NameFPGA is the card.
	NameFPGA = "fpga"
	// NameModel is the Go device model (accel/driver/devmodel).
	NameModel = "model"
)

// Bounds.
const (
	// ScratchBytesMax bounds the host buffers of one scratch a Backend keeps
	// for reuse between batches; a batch needing more allocates them for
	// itself.
	ScratchBytesMax = 256 << 20
	// ScratchKeepMax bounds the scratches a Backend keeps (one per batch
	// running concurrently).
	ScratchKeepMax = 4
	// chainMax is the descriptors of a risk batch.
	chainMax = 4
	// bufAlignBytes aligns every part of the two DMA buffers (a cache line;
	// the device needs 8).
	bufAlignBytes = 64
)

// Limits a LimitError names.
const (
	// LimitOpcode: the device does not advertise an opcode of the chain.
	LimitOpcode = "opcode"
	// LimitUnderlyings: U above ID_SCENGEN_U_MAX.
	LimitUnderlyings = "underlyings"
	// LimitTailScenarios: S above ID_AGG_COLS_MAX.
	LimitTailScenarios = "tail scenarios"
	// LimitBuffer: a DMA buffer above driver.BufferBytesMax.
	LimitBuffer = "buffer bytes"
	// LimitArena: the two buffers exceed the driver's buffer arena.
	LimitArena = "arena bytes"
	// LimitDriver: the driver refused the job for its own capacity (arena
	// or ring size) before submitting it.
	LimitDriver = "driver capacity"
)

// ErrLimit reports a batch beyond what the device can take; every
// *LimitError wraps it and accel.ErrUnavailable.
var ErrLimit = errors.New("device: batch beyond the device's limits")

// ErrCompletion reports a descriptor that completed without error but with
// an out_bytes other than the plan's size: the device broke its contract.
var ErrCompletion = errors.New("device: completion out_bytes differ from the plan")

// LimitError is a batch the device cannot take, and why.
type LimitError struct {
	// Backend names the backend.
	Backend string
	// Limit is one of the Limit* names.
	Limit string
	// Op names the opcode concerned ("" if none).
	Op string
	// Need is what the batch needs and Max what the device allows (bytes,
	// underlyings, scenarios; the ID_CAPS value for LimitOpcode).
	Need, Max uint64
	// Err is the driver's error (driver.ErrUnsupported for a missing
	// opcode, the driver's refusal for LimitDriver), else nil.
	Err error
}

func (e *LimitError) Error() string {
	s := fmt.Sprintf("device %s: batch beyond the device's %s", e.Backend, e.Limit)
	switch e.Limit {
	case LimitOpcode:
		s = fmt.Sprintf("device %s: the device does not implement %s (ID_CAPS %#x)", e.Backend, e.Op, e.Max)
	case LimitDriver:
	default:
		if e.Op != "" {
			s += " (" + e.Op + ")"
		}
		s += fmt.Sprintf(": needs %d, the device allows %d", e.Need, e.Max)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s + " (" + accel.ErrUnavailable.Error() + ")"
}

// Unwrap returns accel.ErrUnavailable, accel.ErrExceedsLimits, ErrLimit and
// the driver's error.
func (e *LimitError) Unwrap() []error {
	errs := []error{accel.ErrUnavailable, accel.ErrExceedsLimits, ErrLimit}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Backend runs risk batches on a driver.Device. It is safe for concurrent
// use: batches run on the device concurrently up to the driver's ring and
// arena.
type Backend struct {
	name       string
	dev        *driver.Device
	info       driver.Info
	arenaBytes int
	free       chan *scratch // kept scratches, at most ScratchKeepMax
	// revive, when set, brings a dead device process back before Reset
	// (vsim: restart the simulator).
	revive func() error
	// sim is the simulator of a vsim backend (nil otherwise).
	sim *vsim.Sim

	statsMu sync.Mutex
	stats   Stats
}

// OpStats are the completed descriptors of one opcode and the device cycles
// they took (the completions' cycles field).
type OpStats struct {
	// Descriptors counts completed descriptors; Cycles sums their cycles;
	// LastCycles is the latest one's.
	Descriptors, Cycles, LastCycles uint64
}

// Stats are a backend's counters since it was created.
type Stats struct {
	// Batches counts risk batches completed on the device.
	Batches uint64
	// ScenGen, Reval, AggTail and Greeks are per-opcode device cycles.
	ScenGen, Reval, AggTail, Greeks OpStats
}

// Stats returns the backend's counters.
func (b *Backend) Stats() Stats {
	b.statsMu.Lock()
	defer b.statsMu.Unlock()
	return b.stats
}

// record adds a completed batch's completions to the counters.
func (b *Backend) record(cs []uint16, res *driver.Result) {
	b.statsMu.Lock()
	defer b.statsMu.Unlock()
	b.stats.Batches++
	for k, op := range cs {
		var o *OpStats
		switch op {
		case regs.OpScengen:
			o = &b.stats.ScenGen
		case regs.OpReval:
			o = &b.stats.Reval
		case regs.OpAggtail:
			o = &b.stats.AggTail
		case regs.OpGreeks:
			o = &b.stats.Greeks
		default:
			panic("device: batch with an opcode outside the risk chain")
		}
		c := res.Completions[k].Cycles
		o.Descriptors++
		o.Cycles += c
		o.LastCycles = c
	}
}

var _ accel.Backend = (*Backend)(nil)

// Option configures a Backend.
type Option func(*Backend)

// WithArenaBytes overrides the buffer arena the backend assumes (by
// default the driver's, driver.Device.ArenaBytes): a batch too large for it
// is refused with LimitArena before submission.
func WithArenaBytes(n int) Option { return func(b *Backend) { b.arenaBytes = max(n, 0) } }

// New returns the backend called name over dev. The caller keeps dev and
// closes it after the backend's last batch.
func New(name string, dev *driver.Device, opts ...Option) *Backend {
	if dev == nil {
		panic("device: New with a nil *driver.Device")
	}
	b := &Backend{name: name, dev: dev, info: dev.Info(), arenaBytes: dev.ArenaBytes(), free: make(chan *scratch, ScratchKeepMax)}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Name returns the name given at construction.
func (b *Backend) Name() string { return b.name }

// Sim is the simulator process of a backend from OpenVsim (its pid, file,
// cycles and health); nil for other backends.
func (b *Backend) Sim() *vsim.Sim { return b.sim }

// Device is the driver the backend runs on.
func (b *Backend) Device() *driver.Device { return b.dev }

// Reset resets the device (driver.Device.Reset): accel/failover calls it
// before retrying a failed device. On vsim a simulator process that has
// died is restarted first (a fresh RTL, the driver's rings re-programmed).
func (b *Backend) Reset() error {
	if b.revive != nil {
		if err := b.revive(); err != nil {
			return err
		}
	}
	return b.dev.Reset()
}

// layout places a plan's buffers in the two DMA buffers: inputs (the four
// sources, then the scenario buffer) and outputs (loss, tails, Greeks).
type layout struct {
	sz                                job.Sizes
	scnSrc, rvlSrc, agtSrc, grkSrc    int
	scen, inBytes                     int
	loss, tails, greeks, outBytes     int
	lossMatrix, lossMatrixBytes, smcN int // AGGTAIL's arg0 range; SCENGEN's out_bytes
}

func align(n int) int { return (n + bufAlignBytes - 1) &^ (bufAlignBytes - 1) }

func newLayout(p *job.Plan) layout {
	l := layout{sz: p.Sizes()}
	sz := &l.sz
	off := 0
	place := func(n int) int { o := off; off += align(n); return o }
	l.scnSrc, l.rvlSrc, l.agtSrc, l.grkSrc = place(sz.ScenGenSrc), place(sz.RevalSrc), place(sz.AggTailSrc), place(sz.GreeksSrc)
	l.scen = place(sz.Scenarios)
	l.inBytes = off
	off = 0
	l.loss, l.tails, l.greeks = place(sz.Loss), place(sz.Tails), place(sz.Greeks)
	l.outBytes = off
	v0 := align(8 * p.I) // REVAL's V0 array, padded to 64 bytes
	l.lossMatrix, l.lossMatrixBytes = l.loss+v0, 8*p.I*p.Sp
	mats := 1
	if p.Scen.VolShocks() { // SCENGEN writes M only with vol shocks
		mats = 2
	}
	l.smcN = mats * 4 * p.U * p.Sp
	return l
}

// chain is a risk batch's descriptors in order.
var chain = [chainMax]uint16{regs.OpScengen, regs.OpReval, regs.OpAggtail, regs.OpGreeks}

// ops is the chain of a plan: SCENGEN only with Monte Carlo columns.
func ops(p *job.Plan) []uint16 {
	if p.SMC == 0 {
		return chain[1:]
	}
	return chain[:]
}

// Check reports whether the device can run the plan: nil, or a *LimitError
// naming the first limit the batch exceeds.
func (b *Backend) Check(p *job.Plan) error {
	_, err := b.check(p)
	return err
}

func (b *Backend) check(p *job.Plan) (layout, error) {
	lim := func(limit, op string, need, mx uint64) error {
		return &LimitError{Backend: b.name, Limit: limit, Op: op, Need: need, Max: mx}
	}
	for _, op := range ops(p) {
		if !b.info.Supports(op) {
			return layout{}, &LimitError{Backend: b.name, Limit: LimitOpcode, Op: regs.OpcodeName(op), Max: uint64(b.info.Caps), Err: driver.ErrUnsupported}
		}
	}
	if p.SMC > 0 && uint64(p.U) > uint64(b.info.ScenGenUMax) {
		return layout{}, lim(LimitUnderlyings, "SCENGEN", uint64(p.U), uint64(b.info.ScenGenUMax))
	}
	if uint64(p.S) > uint64(b.info.AggColsMax) {
		return layout{}, lim(LimitTailScenarios, "AGGTAIL", uint64(p.S), uint64(b.info.AggColsMax))
	}
	l := newLayout(p)
	for _, n := range []int{l.inBytes, l.outBytes} {
		if n > driver.BufferBytesMax {
			return layout{}, lim(LimitBuffer, "", uint64(n), driver.BufferBytesMax)
		}
	}
	if need := driver.JobBufferBytes(l.inBytes) + driver.JobBufferBytes(l.outBytes); b.arenaBytes > 0 && need > b.arenaBytes {
		return layout{}, lim(LimitArena, "", uint64(need), uint64(b.arenaBytes))
	}
	return l, nil
}

// scratch is one batch's host buffers and driver job, reused.
type scratch struct {
	in, out []byte
	descs   [chainMax]driver.Desc
	bufs    [2]driver.Buffer
}

func (b *Backend) getScratch(in, out int) *scratch {
	var s *scratch
	select {
	case s = <-b.free:
	default:
		s = new(scratch)
	}
	if cap(s.in) < in {
		s.in = make([]byte, in)
	}
	if cap(s.out) < out {
		s.out = make([]byte, out)
	}
	s.in, s.out = s.in[:in], s.out[:out]
	return s
}

func (b *Backend) putScratch(s *scratch) {
	if cap(s.in)+cap(s.out) > ScratchBytesMax {
		return
	}
	s.bufs = [2]driver.Buffer{}
	select {
	case b.free <- s:
	default:
	}
}

// Risk runs job into out: job.NewPlan, then RunPlan.
func (b *Backend) Risk(ctx context.Context, j *accel.RiskJob, out *accel.RiskResult) error {
	p, err := job.NewPlan(j)
	if err != nil {
		return err
	}
	return b.RunPlan(ctx, p, out)
}

// RunPlan runs a planned batch on the device into out, under the backend's
// name. A batch the device cannot take is a *LimitError; a descriptor that
// fails is the driver's *driver.DeviceError wrapped with its opcode's name;
// a time-out, halt or reset is the driver's typed error; a completion with
// the wrong out_bytes is ErrCompletion. out is written only on success.
func (b *Backend) RunPlan(ctx context.Context, p *job.Plan, out *accel.RiskResult) error {
	l, err := b.check(p)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s := b.getScratch(l.inBytes, l.outBytes)
	defer b.putScratch(s)
	sz := &l.sz
	in := s.in
	for _, e := range [...]error{
		p.EncodeScenGen(in[l.scnSrc : l.scnSrc+sz.ScenGenSrc]),
		p.EncodeReval(in[l.rvlSrc : l.rvlSrc+sz.RevalSrc]),
		p.EncodeAggTail(in[l.agtSrc : l.agtSrc+sz.AggTailSrc]),
		p.EncodeGreeks(in[l.grkSrc : l.grkSrc+sz.GreeksSrc]),
		p.FillScenarios(in[l.scen : l.scen+sz.Scenarios]),
	} {
		if e != nil {
			panic("device: buffer layout broken: " + e.Error())
		}
	}
	const bufIn, bufOut = 0, 1
	ref := func(buf, off, n int) driver.Ref { return driver.Ref{Buf: buf, Off: off, Len: n} }
	cs := ops(p)
	var want [chainMax]int
	for k, op := range cs {
		d := driver.Desc{Opcode: op}
		switch op {
		case regs.OpScengen:
			d.Src, d.Dst = ref(bufIn, l.scnSrc, sz.ScenGenSrc), ref(bufIn, l.scen, sz.Scenarios)
			want[k] = l.smcN
		case regs.OpReval:
			d.Src, d.Dst = ref(bufIn, l.rvlSrc, sz.RevalSrc), ref(bufOut, l.loss, sz.Loss)
			d.Arg0Ref, d.Arg1 = ref(bufIn, l.scen, sz.Scenarios), uint64(sz.Scenarios)
			want[k] = sz.Loss
		case regs.OpAggtail:
			d.Src, d.Dst = ref(bufIn, l.agtSrc, sz.AggTailSrc), ref(bufOut, l.tails, sz.Tails)
			d.Arg0Ref, d.Arg1 = ref(bufOut, l.lossMatrix, l.lossMatrixBytes), uint64(p.I)
			want[k] = sz.Tails
		case regs.OpGreeks:
			d.Src, d.Dst = ref(bufIn, l.grkSrc, sz.GreeksSrc), ref(bufOut, l.greeks, sz.Greeks)
			want[k] = sz.Greeks
		}
		s.descs[k] = d
	}
	s.bufs[bufIn] = driver.Buffer{Bytes: l.inBytes, In: in}
	s.bufs[bufOut] = driver.Buffer{Bytes: l.outBytes, Out: s.out}
	res, err := b.dev.Submit(ctx, &driver.Job{Descs: s.descs[:len(cs)], Bufs: s.bufs[:]})
	if err != nil {
		return b.submitErr(err)
	}
	if res.N != len(cs) {
		return fmt.Errorf("%w: device %s: %d completions for %d descriptors", ErrCompletion, b.name, res.N, len(cs))
	}
	for k, op := range cs {
		if got := res.Completions[k].OutBytes; got != uint64(want[k]) {
			return fmt.Errorf("%w: device %s: %s wrote %d bytes, want %d", ErrCompletion, b.name, regs.OpcodeName(op), got, want[k])
		}
	}
	b.record(cs, &res)
	o := s.out
	return p.Decode(b.name, o[l.loss:l.loss+sz.Loss], o[l.tails:l.tails+sz.Tails], o[l.greeks:l.greeks+sz.Greeks], out)
}

// submitErr wraps a driver error: a failed descriptor with its opcode's
// name, the driver's capacity refusal as a LimitError, the rest with the
// backend's name.
func (b *Backend) submitErr(err error) error {
	var de *driver.DeviceError
	switch {
	case errors.As(err, &de):
		return fmt.Errorf("device %s: %s: %w", b.name, regs.OpcodeName(de.Opcode), err)
	case errors.Is(err, driver.ErrInvalidJob):
		return &LimitError{Backend: b.name, Limit: LimitDriver, Err: err}
	}
	return fmt.Errorf("device %s: risk batch: %w", b.name, err)
}

// ArenaBytesFor is the driver arena a plan's batch needs (its two DMA
// buffers): size the simulator's, the card's or the model's memory with it
// plus the rings (a few tens of KiB).
func ArenaBytesFor(p *job.Plan) int {
	l := newLayout(p)
	return l.inBytes + l.outBytes
}
