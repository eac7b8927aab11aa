package loadgen

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/feedhandler/latency"
)

// Defaults and bounds of Options.
const (
	// DefaultInflightMax is the default per-connection window.
	DefaultInflightMax = 1024
	// InflightMaxLimit bounds Options.InflightMax.
	InflightMaxLimit = 1 << 16
	// ConnsMax bounds Options.Conns.
	ConnsMax = 1024
	// DurationMax bounds Options.Warmup + Options.Duration.
	DurationMax = time.Hour
	// DefaultLateThreshold is the default lateness that counts a request
	// as sent late.
	DefaultLateThreshold = 10 * time.Microsecond
	// DefaultDrainTimeout is the default wait for outstanding answers at
	// the end, and the longest a sender waits for room in its window.
	DefaultDrainTimeout = 5 * time.Second
	// DefaultFlushBatchMax is the default number of requests a sender
	// queues on a connection before writing them.
	DefaultFlushBatchMax = 64
	// FlushBatchMaxLimit bounds Options.FlushBatchMax.
	FlushBatchMaxLimit = 4096
)

// Errors.
var (
	// ErrOptions reports invalid Options.
	ErrOptions = errors.New("loadgen: invalid options")
	// ErrStalled reports a window that stayed full for DrainTimeout.
	ErrStalled = errors.New("loadgen: target stalled")
)

// Options configure a run. Zero fields take the defaults.
type Options struct {
	// Rate is the open-loop arrival rate in requests/s (Run only).
	Rate float64
	// Poisson draws exponential gaps (a Poisson process) instead of a
	// fixed period.
	Poisson bool
	// Seed seeds the schedule and the order generator.
	Seed uint64
	// Warmup is sent and answered but not measured; Duration is measured.
	Warmup, Duration time.Duration
	// Conns is the number of connections (RunFills: writers).
	Conns int
	// InflightMax bounds the requests outstanding on one connection: a
	// sender with a full window waits (open loop: late, still timed from
	// the schedule). RunFills defaults it to 1 (each writer waits for its
	// ack); the others to DefaultInflightMax.
	InflightMax int
	// Mix is the order population.
	Mix Mix
	// LateThreshold is the lag beyond which a request counts as late.
	LateThreshold time.Duration
	// DrainTimeout bounds the wait for answers after the last send, and
	// a wait for room in a window (then the run aborts: ErrStalled).
	DrainTimeout time.Duration
	// FlushBatchMax bounds the requests queued on a connection before a
	// write; fewer are written at once whenever the sender is on time.
	FlushBatchMax int
	// ExecIDBase is the first execId of RunFills (0: derived from the
	// wall clock, so runs against one server do not collide).
	ExecIDBase uint64
	// Clock is the time source (nil: a MonoClock).
	Clock Clock
	// Note is copied into the result (e.g. where the server ran).
	Note string
}

func (o *Options) fill(closed bool, fills bool) error {
	if o.Conns == 0 {
		o.Conns = 1
	}
	if o.InflightMax == 0 {
		o.InflightMax = DefaultInflightMax
		if fills {
			o.InflightMax = 1
		}
	}
	if o.LateThreshold == 0 {
		o.LateThreshold = DefaultLateThreshold
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.FlushBatchMax == 0 {
		o.FlushBatchMax = DefaultFlushBatchMax
	}
	if o.Clock == nil {
		o.Clock = NewMonoClock(0, false)
	}
	switch {
	case o.Conns < 1 || o.Conns > ConnsMax:
		return fmt.Errorf("%w: conns %d (want 1 to %d)", ErrOptions, o.Conns, ConnsMax)
	case o.InflightMax < 1 || o.InflightMax > InflightMaxLimit:
		return fmt.Errorf("%w: inflight %d (want 1 to %d)", ErrOptions, o.InflightMax, InflightMaxLimit)
	case o.Duration <= 0 || o.Warmup < 0 || o.Warmup+o.Duration > DurationMax:
		return fmt.Errorf("%w: duration %v, warm-up %v (want duration > 0, total <= %v)", ErrOptions, o.Duration, o.Warmup, DurationMax)
	case o.LateThreshold < 0 || o.DrainTimeout < 0:
		return fmt.Errorf("%w: negative late threshold or drain time-out", ErrOptions)
	case o.FlushBatchMax < 1 || o.FlushBatchMax > FlushBatchMaxLimit:
		return fmt.Errorf("%w: flush batch %d (want 1 to %d)", ErrOptions, o.FlushBatchMax, FlushBatchMaxLimit)
	}
	if !closed {
		if !(o.Rate >= RateMin && o.Rate <= RateMax) {
			return fmt.Errorf("%w: rate %g/s (want %g to %g)", ErrOptions, o.Rate, RateMin, RateMax)
		}
	}
	return o.Mix.Validate()
}

// slot is one outstanding request. The sender publishes it (fields first,
// id last) before writing the request; the receiver reads it after the
// answer arrives. The socket between them is no Go synchronisation, hence
// the atomics.
type slot struct {
	id       atomic.Uint64 // the reqId outstanding; 0: free
	account  atomic.Uint64
	sentNs   atomic.Int64 // intended (open loop) or actual send time
	measured atomic.Bool
}

// laneStats are a receiver's counters (owned by that goroutine until the
// run ends).
type laneStats struct {
	received, errors, mismatches uint64
	measuredOK, accepts, rejects uint64
	reasons                      [256]uint64
	codes                        map[uint16]uint64
	sumNs                        float64
}

// lane is one session with its window.
type lane struct {
	sess     Session
	kind     Kind
	http     bool
	slots    []slot
	mask     uint64
	window   int64
	refill   int64
	inflight atomic.Int64
	waiting  atomic.Bool
	space    chan struct{}
	timer    *time.Timer

	// Sender-owned.
	nextID       uint64
	dirty        int
	sent         uint64
	measuredSent uint64

	// poller is sess as a Poller when the run is polled (nil otherwise).
	poller Poller

	// Receiver-owned (the sender's, when the run is polled).
	rec     *latency.Recorder
	st      laneStats
	recvErr error
	done    chan struct{}
}

func newLane(sess Session, kind Kind, window int, http bool) *lane {
	size := 1
	for size < window {
		size <<= 1
	}
	l := &lane{sess: sess, kind: kind, http: http, slots: make([]slot, size), mask: uint64(size - 1),
		window: int64(window), refill: max(1, int64(window)/4), space: make(chan struct{}, 1),
		rec: latency.NewRecorder(), done: make(chan struct{})}
	l.st.codes = map[uint16]uint64{}
	return l
}

func (l *lane) hasRoom() bool { return l.inflight.Load() < l.window }

// waitRoom waits until the window has room, for at most limit.
func (l *lane) waitRoom(ctx context.Context, limit time.Duration) error {
	if l.hasRoom() {
		return nil
	}
	if l.timer == nil {
		l.timer = time.NewTimer(limit)
	} else {
		l.timer.Reset(limit)
	}
	defer l.timer.Stop()
	defer l.waiting.Store(false)
	for {
		l.waiting.Store(true)
		if l.hasRoom() {
			return nil
		}
		select {
		case <-l.space:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.timer.C:
			if l.hasRoom() {
				return nil
			}
			return fmt.Errorf("%w: %d requests outstanding on one connection for %v", ErrStalled, l.inflight.Load(), limit)
		}
	}
}

// publish claims the next reqId whose slot is free (one still held by a
// request the server never answered is skipped; the table is at least the
// window, so hasRoom guarantees a free one) for a request sent, or due, at
// sentNs.
func (l *lane) publish(req *Request, sentNs int64, measured bool) {
	l.nextID++
	for l.slots[l.nextID&l.mask].id.Load() != 0 {
		l.nextID++
	}
	req.ReqID = l.nextID
	s := &l.slots[l.nextID&l.mask]
	s.account.Store(req.Order.Account)
	s.sentNs.Store(sentNs)
	s.measured.Store(measured)
	s.id.Store(l.nextID)
	l.inflight.Add(1)
	if measured {
		l.measuredSent++
	}
}

// unpublish releases the slot of a request whose Send failed.
func (l *lane) unpublish(req *Request, measured bool) {
	l.slots[req.ReqID&l.mask].id.Store(0)
	l.inflight.Add(-1)
	if measured {
		l.measuredSent--
	}
}

func (l *lane) flush() error {
	if l.dirty == 0 {
		return nil
	}
	l.dirty = 0
	return l.sess.Flush()
}

// receive handles answers until Recv fails (ctx cancelled at the end).
func (l *lane) receive(ctx context.Context, clock Clock) {
	defer close(l.done)
	var rep Reply
	for {
		if err := l.sess.Recv(ctx, &rep); err != nil {
			if ctx.Err() == nil {
				l.recvErr = err
			}
			return
		}
		l.handle(&rep, clock.Now())
	}
}

func (l *lane) handle(rep *Reply, now int64) {
	if rep.Failed && rep.ReqID == 0 {
		// A connection-level Error frame answers no request.
		l.countError(rep)
		return
	}
	if rep.ReqID == 0 {
		// Slot ids are never 0 (0 marks a free slot).
		l.st.mismatches++
		return
	}
	s := &l.slots[rep.ReqID&l.mask]
	if s.id.Load() != rep.ReqID {
		l.st.mismatches++
		return
	}
	acct, sent, measured := s.account.Load(), s.sentNs.Load(), s.measured.Load()
	s.id.Store(0)
	if n := l.inflight.Add(-1); n <= l.window-l.refill && l.waiting.Load() {
		select {
		case l.space <- struct{}{}:
		default:
		}
	}
	l.st.received++
	switch {
	case rep.Failed:
		l.countError(rep)
	case rep.Kind != l.kind:
		l.st.mismatches++
	case l.kind == KindCheck && rep.Account != acct:
		l.st.mismatches++
	case measured:
		lat := now - sent
		l.rec.Record(lat)
		l.st.sumNs += float64(lat)
		l.st.measuredOK++
		if l.kind == KindCheck {
			if rep.Decision == sbe.DecisionAccept {
				l.st.accepts++
			} else {
				l.st.rejects++
			}
			l.st.reasons[rep.Reason]++
		}
	}
}

func (l *lane) countError(rep *Reply) {
	l.st.errors++
	if len(l.st.codes) < 64 || l.st.codes[rep.Code] > 0 {
		l.st.codes[rep.Code]++
	}
}

// run is the machinery shared by the three modes.
type run struct {
	opts   Options
	target Target
	mode   string
	kind   Kind
	lanes  []*lane
	ctx    context.Context
	cancel context.CancelFunc
	// polled: the sender polls every lane (each a Poller); no receivers.
	polled bool
	rep    Reply // the polling sender's reply buffer
}

// start opens the run's sessions and starts a receiver per lane, unless
// poll is set and every session is a Poller: then the run is polled
// (r.polled) and has no receivers.
func start(ctx context.Context, t Target, opts Options, mode string, kind Kind, poll bool) (*run, error) {
	ht, isHTTP := t.(*HTTPTarget)
	if isHTTP && ht.QueueMax < opts.InflightMax {
		// The session's queue must hold the whole window.
		c := *ht
		c.QueueMax = opts.InflightMax
		t = &c
	}
	if tt, ok := t.(*TCPTarget); ok && tt.Direct && !poll {
		return nil, fmt.Errorf("%w: %s runs need a receiver per session; a TCP Direct session has one goroutine (use TCPTarget without Direct)", ErrOptions, mode)
	}
	if isHTTP && ht.Direct && !poll {
		return nil, fmt.Errorf("%w: %s runs need a receiver per session; an HTTP Direct session has one goroutine (use HTTPTarget without Direct)", ErrOptions, mode)
	}
	r := &run{opts: opts, target: t, mode: mode, kind: kind}
	r.ctx, r.cancel = context.WithCancel(ctx)
	for range opts.Conns {
		s, err := t.Open(ctx)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("loadgen: open %s session: %w", t.Name(), err)
		}
		r.lanes = append(r.lanes, newLane(s, kind, opts.InflightMax, isHTTP))
	}
	if poll {
		r.polled = true
		for _, l := range r.lanes {
			if l.poller, poll = l.sess.(Poller); !poll {
				r.polled = false
				break
			}
		}
	}
	if !r.polled {
		for _, l := range r.lanes {
			l.poller = nil
			go l.receive(r.ctx, opts.Clock)
		}
	}
	return r, nil
}

// close stops the receivers and closes the sessions.
func (r *run) close() {
	r.cancel()
	for _, l := range r.lanes {
		_ = l.sess.Close()
	}
	if r.polled {
		return
	}
	for _, l := range r.lanes {
		<-l.done
	}
}

// drain waits until every lane's window is empty, its receiver has ended
// (nothing more can arrive), or DrainTimeout has passed.
func (r *run) drain() {
	if r.polled {
		r.drainPolled()
		return
	}
	deadline := time.Now().Add(r.opts.DrainTimeout)
	tick := time.NewTicker(100 * time.Microsecond)
	defer tick.Stop()
	for _, l := range r.lanes {
	wait:
		for l.inflight.Load() > 0 && time.Now().Before(deadline) {
			select {
			case <-l.done:
				break wait
			case <-tick.C:
			}
		}
	}
}

// result closes the run and assembles its result.
func (r *run) result(measuredNs int64, aborted error) Result {
	r.drain()
	r.close()
	o := &r.opts
	res := Result{Mode: r.mode, Transport: r.target.Name(), Seed: o.Seed, Conns: o.Conns, InflightMax: o.InflightMax,
		WarmupNs: int64(o.Warmup), DurationNs: int64(o.Duration), Host: ThisHost(), Note: o.Note}
	rec := latency.NewRecorder()
	var sum float64
	var measuredOK uint64
	var reasons [256]uint64
	codes := map[string]uint64{}
	for _, l := range r.lanes {
		res.Sent += l.sent
		res.MeasuredSent += l.measuredSent
		res.Received += l.st.received
		res.Errors += l.st.errors
		res.Mismatches += l.st.mismatches
		res.Accepts += l.st.accepts
		res.Rejects += l.st.rejects
		measuredOK += l.st.measuredOK
		sum += l.st.sumNs
		rec.Merge(l.rec)
		for i, n := range l.st.reasons {
			reasons[i] += n
		}
		prefix := "sbe:"
		if l.http {
			prefix = "http:"
		}
		for c, n := range l.st.codes {
			name := prefix + strconv.Itoa(int(c))
			if !l.http {
				name = prefix + sbe.ErrorCode(c).String()
			}
			codes[name] += n
		}
		if aborted == nil && l.recvErr != nil {
			aborted = fmt.Errorf("%w: %v", ErrSession, l.recvErr)
		}
	}
	if res.Sent > res.Received {
		res.Lost = res.Sent - res.Received
	}
	res.Latency = latencyOf(rec, sum)
	if measuredNs > 0 {
		res.AchievedRate = float64(measuredOK) / (float64(measuredNs) / 1e9)
	}
	if len(codes) > 0 {
		res.ErrorCodes = codes
	}
	if r.kind == KindCheck && res.Accepts+res.Rejects > 0 {
		res.Reasons = map[string]uint64{}
		for i, n := range reasons {
			if n > 0 {
				res.Reasons[sbe.Reason(i).String()] = n
			}
		}
	}
	if aborted != nil {
		res.Aborted = aborted.Error()
	}
	return res
}

// Run is an open-loop run of OrderChecks at opts.Rate over opts.Conns
// sessions of t (requests go round-robin across them). Latency is from each
// request's intended send time. It returns the result and, when the run
// stopped early (a session failed, a window stalled, ctx ended), an error
// saying why; the result then covers what was done.
func Run(ctx context.Context, t Target, opts Options) (Result, error) {
	if err := opts.fill(false, false); err != nil {
		return Result{}, err
	}
	gen, err := NewGenerator(opts.Mix, opts.Seed)
	if err != nil {
		return Result{}, err
	}
	return runOpen(ctx, t, opts, "open", KindCheck, func(req *Request) { gen.Next(&req.Order) })
}

// RunOpenFills is an open-loop run of Fills at opts.Rate over opts.Conns
// sessions, as a matching engine reports executions: each fill is sent at
// its scheduled time whatever the earlier ones are doing, and its latency
// runs from that intended time to its durable Ack (so a journal stall shows
// as queueing). The fills are RunFills' (unique execIds from
// opts.ExecIDBase, one unit of each spec in turn, bought then sold).
func RunOpenFills(ctx context.Context, t Target, opts Options) (Result, error) {
	if err := opts.fill(false, false); err != nil {
		return Result{}, err
	}
	fills := newFillSource(&opts)
	res, err := runOpen(ctx, t, opts, "open-fills", KindFill, fills.next)
	res.ExecIDBase = opts.ExecIDBase
	return res, err
}

// runOpen is the open-loop machinery of Run and RunOpenFills (opts
// filled): the schedule, the sessions, a polled sender when every session
// is a Poller, and the requests next makes.
func runOpen(ctx context.Context, t Target, opts Options, mode string, kind Kind, next func(*Request)) (Result, error) {
	sched, err := NewSchedule(opts.Rate, opts.Poisson, opts.Seed)
	if err != nil {
		return Result{}, err
	}
	r, err := start(ctx, t, opts, mode, kind, true)
	if err != nil {
		return Result{}, err
	}
	p := r.sleepingPacer()
	if r.polled {
		p = r.polledPacer()
	}
	return r.openLoop(sched, next, p)
}

// fillSource hands out the Fills of RunFills and RunOpenFills: fill n
// books one unit of spec n mod len(specs), bought on even rounds and sold
// on odd ones (positions stay flat), at the spec's price or the smallest
// price where it says 0, with execId ExecIDBase + n. It is safe for
// concurrent use.
type fillSource struct {
	specs []OrderSpec
	base  uint64
	seq   atomic.Uint64
}

// newFillSource returns the fills of opts, setting opts.ExecIDBase from
// the wall clock when it is 0 (so runs against one server do not collide).
func newFillSource(opts *Options) *fillSource {
	if opts.ExecIDBase == 0 {
		opts.ExecIDBase = uint64(time.Now().UnixNano())
	}
	return &fillSource{specs: opts.Mix.Specs, base: opts.ExecIDBase}
}

func (f *fillSource) next(req *Request) {
	n := f.seq.Add(1) - 1
	s := &f.specs[n%uint64(len(f.specs))]
	req.Kind = KindFill
	req.Order = Order{Account: s.Account, Instrument: s.Instrument, Side: sbe.SideBuy, Qty: 1, Price: max(s.Price, 1)}
	if (n/uint64(len(f.specs)))&1 == 1 {
		req.Order.Side = sbe.SideSell
	}
	req.ExecID = f.base + n
}

// openPacer is how an open-loop sender waits for a request's intended time,
// waits for room in a lane's window, and sends.
type openPacer struct {
	// until waits until the intended time and returns the clock then.
	until func(intended int64) (int64, error)
	// room waits until l's window has room.
	room func(l *lane) error
	// send sends req on l.
	send func(l *lane, req *Request) error
}

// sleepingPacer is the sender of sessions whose replies receiver
// goroutines read: it flushes and sleeps until each send time.
func (r *run) sleepingPacer() openPacer {
	clock := r.opts.Clock
	return openPacer{
		until: func(intended int64) (int64, error) {
			now := clock.Now()
			if intended > now {
				if err := r.flushAll(); err != nil {
					return now, err
				}
				clock.SleepUntil(intended)
				now = clock.Now()
			}
			return now, nil
		},
		room: func(l *lane) error { return l.waitRoom(r.ctx, r.opts.DrainTimeout) },
		send: func(l *lane, req *Request) error { return l.sess.Send(req) },
	}
}

// openLoop sends the requests next makes (of the run's kind) on schedule,
// round-robin over the lanes, each published with its intended send time
// before it is sent, and records how far behind the schedule the sender
// ran.
func (r *run) openLoop(sched *Schedule, next func(*Request), p openPacer) (Result, error) {
	opts := &r.opts
	clock := opts.Clock
	lag := latency.NewRecorder()
	lateNs := int64(opts.LateThreshold)
	var late uint64
	var maxBehind int64
	var aborted error
	begin := clock.Now()
	warmEnd := begin + int64(opts.Warmup)
	end := warmEnd + int64(opts.Duration)
	req := Request{Kind: r.kind}
	for i := 0; ; i++ {
		intended := begin + sched.Next()
		if intended >= end {
			break
		}
		if aborted = r.ctx.Err(); aborted != nil {
			break
		}
		now, err := p.until(intended)
		if aborted = err; aborted != nil {
			break
		}
		l := r.lanes[i%len(r.lanes)]
		if !l.hasRoom() {
			if aborted = l.flush(); aborted != nil {
				break
			}
			if aborted = p.room(l); aborted != nil {
				break
			}
			now = clock.Now()
		}
		next(&req)
		measured := intended >= warmEnd
		l.publish(&req, intended, measured)
		if measured {
			behind := now - intended
			lag.Record(behind)
			maxBehind = max(maxBehind, behind)
			if behind > lateNs {
				late++
			}
		}
		if aborted = p.send(l, &req); aborted != nil {
			l.unpublish(&req, measured)
			break
		}
		l.sent++
		if l.dirty++; l.dirty >= opts.FlushBatchMax {
			if aborted = l.flush(); aborted != nil {
				break
			}
		}
	}
	if err := r.flushAll(); aborted == nil {
		aborted = err
	}
	res := r.openResult(aborted, lag, late, maxBehind)
	return res, resultErr(res)
}

// openResult closes an open-loop run and assembles its result, with the
// sender's lag.
func (r *run) openResult(aborted error, lag *latency.Recorder, late uint64, maxBehind int64) Result {
	opts := &r.opts
	res := r.result(int64(opts.Duration), aborted)
	res.Rate, res.Poisson = opts.Rate, opts.Poisson
	res.Lag = &Lag{Late: late, ThresholdNs: int64(opts.LateThreshold), MaxBehindNs: maxBehind, P50Ns: lag.Percentile(50),
		P99Ns: lag.Percentile(99), P999Ns: lag.Percentile(99.9)}
	return res
}

func (r *run) flushAll() error {
	for _, l := range r.lanes {
		if err := l.flush(); err != nil {
			return err
		}
	}
	return nil
}

func resultErr(res Result) error {
	if res.Aborted != "" {
		return errors.New("loadgen: run aborted: " + res.Aborted)
	}
	return nil
}

// RunMax is a closed-loop run: on each of opts.Conns sessions a sender keeps
// opts.InflightMax pipelined OrderChecks outstanding for the duration. The
// result's AchievedRate is the sustained checks/s; its latency is from the
// actual send (closed loop: it shows service time under saturation, not
// what an open-loop client would see).
func RunMax(ctx context.Context, t Target, opts Options) (Result, error) {
	return runClosed(ctx, t, opts, "max", KindCheck)
}

// RunFills is a closed-loop run of Fills: opts.Conns writers, each with
// opts.InflightMax fills outstanding (default 1: a writer waits for each
// durable ack), unique execIds from opts.ExecIDBase. Fill i books one unit
// of spec i mod len(specs), alternately bought and sold (so positions stay
// flat), at the spec's price, or at 0.0001 where the spec says 0 (a fill
// needs a price). AchievedRate is durable fills/s; the latency is the ack
// latency.
func RunFills(ctx context.Context, t Target, opts Options) (Result, error) {
	return runClosed(ctx, t, opts, "fills", KindFill)
}

func runClosed(ctx context.Context, t Target, opts Options, mode string, kind Kind) (Result, error) {
	if err := opts.fill(true, kind == KindFill); err != nil {
		return Result{}, err
	}
	var fills *fillSource
	if kind == KindFill {
		fills = newFillSource(&opts)
	}
	gens := make([]*Generator, opts.Conns)
	for i := range gens {
		g, err := NewGenerator(opts.Mix, opts.Seed+uint64(i))
		if err != nil {
			return Result{}, err
		}
		gens[i] = g
	}
	r, err := start(ctx, t, opts, mode, kind, false)
	if err != nil {
		return Result{}, err
	}
	clock := opts.Clock
	begin := clock.Now()
	warmEnd := begin + int64(opts.Warmup)
	end := warmEnd + int64(opts.Duration)
	var wg sync.WaitGroup
	errs := make([]error, len(r.lanes))
	for i, l := range r.lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := Request{Kind: kind}
			for {
				now := clock.Now()
				if now >= end || r.ctx.Err() != nil {
					break
				}
				if !l.hasRoom() {
					if errs[i] = l.flush(); errs[i] != nil {
						break
					}
					if errs[i] = l.waitRoom(r.ctx, opts.DrainTimeout); errs[i] != nil {
						break
					}
					now = clock.Now()
				}
				if fills != nil {
					fills.next(&req)
				} else {
					gens[i].Next(&req.Order)
				}
				measured := now >= warmEnd
				l.publish(&req, now, measured)
				if errs[i] = l.sess.Send(&req); errs[i] != nil {
					l.unpublish(&req, measured)
					break
				}
				l.sent++
				if l.dirty++; l.dirty >= opts.FlushBatchMax || !l.hasRoom() {
					if errs[i] = l.flush(); errs[i] != nil {
						break
					}
				}
			}
			if err := l.flush(); errs[i] == nil {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	var aborted error
	for _, e := range errs {
		if e != nil && aborted == nil {
			aborted = e
		}
	}
	res := r.result(int64(opts.Duration), aborted)
	if kind == KindFill {
		res.ExecIDBase = opts.ExecIDBase
	}
	return res, resultErr(res)
}
