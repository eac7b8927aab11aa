package loadgen

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
)

// fakeClock is a Clock only the test moves: SleepUntil jumps to the
// deadline, Advance models time spent in the target.
type fakeClock struct{ now atomic.Int64 }

func (c *fakeClock) Now() int64 { return c.now.Load() }

func (c *fakeClock) SleepUntil(t int64) {
	if t > c.now.Load() {
		c.now.Store(t)
	}
}

func (c *fakeClock) Advance(d int64) { c.now.Add(d) }

// stallTarget answers every check in serviceNs of fake time, except the
// stallAt-th (1-based), which takes stallNs more, as a server stalled by
// a pause or a full socket would. Send returns only once the receiver has
// handled the answer, so the receiver's clock reading is deterministic.
type stallTarget struct {
	clock     *fakeClock
	serviceNs int64
	stallAt   uint64
	stallNs   int64
	// mangle, when set, may corrupt the n-th answer (1-based).
	mangle func(n uint64, r *Reply)
}

func (t *stallTarget) Name() string { return "fake" }

func (t *stallTarget) Open(context.Context) (Session, error) {
	return &stallSession{t: t, replies: make(chan Reply, 1), consumed: make(chan struct{}, 1)}, nil
}

type stallSession struct {
	t        *stallTarget
	n        uint64
	replies  chan Reply
	consumed chan struct{}
	started  bool
}

func (s *stallSession) Send(r *Request) error {
	s.n++
	s.t.clock.Advance(s.t.serviceNs)
	if s.n == s.t.stallAt {
		s.t.clock.Advance(s.t.stallNs)
	}
	rep := Reply{ReqID: r.ReqID, Kind: KindCheck, Account: r.Order.Account, Decision: sbe.DecisionAccept}
	if s.t.mangle != nil {
		s.t.mangle(s.n, &rep)
	}
	s.replies <- rep
	<-s.consumed
	return nil
}

func (s *stallSession) Flush() error { return nil }

func (s *stallSession) Recv(ctx context.Context, out *Reply) error {
	if s.started {
		s.consumed <- struct{}{}
	}
	s.started = true
	select {
	case r := <-s.replies:
		*out = r
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *stallSession) Close() error { return nil }

func testMix() Mix {
	return Mix{Specs: []OrderSpec{{Account: 1001, Instrument: 1}, {Account: 1002, Instrument: 3, Price: 61000}},
		QtyMin: 1, QtyMax: 1000}
}

// TestOpenLoopStallIsQueueing: a 50 ms stall at a 1 ms schedule delays the
// ~50 requests due during it; each is timed from its intended send, so they
// all carry the queueing. The run's figures equal a direct model of the
// schedule exactly (Count, Max, Late, MaxBehind) and to HDR precision (p99).
func TestOpenLoopStallIsQueueing(t *testing.T) {
	const (
		n        = 1000
		periodNs = int64(time.Millisecond)
		service  = int64(2 * time.Microsecond)
		stall    = int64(50 * time.Millisecond)
		stallAt  = 100
	)
	for _, c := range []struct{ stalled, polled bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		stalled := c.stalled
		clk := &fakeClock{}
		st := stallTarget{clock: clk, serviceNs: service, stallAt: stallAt, stallNs: stall}
		if !stalled {
			st.stallAt = 0
		}
		// The polled target also refuses every 7th request a few times
		// (ErrSendFull), which costs no time.
		pt := &pollTarget{stallTarget: st, refuseEvery: 7}
		var tgt Target = &st
		if c.polled {
			tgt = pt
		}
		res, err := Run(context.Background(), tgt, Options{Rate: 1000, Duration: time.Second, Mix: testMix(), Clock: clk,
			Seed: 3, InflightMax: 4})
		if err != nil {
			t.Fatal(err)
		}
		if c.polled && (pt.recvCalls.Load() != 0 || pt.refused.Load() == 0) {
			t.Fatalf("polled run: %d Recv calls, %d refusals", pt.recvCalls.Load(), pt.refused.Load())
		}
		// The model: a single server, sends in schedule order.
		var lats []int64
		var tNow, late, maxBehind int64
		for i := range int64(n) {
			intended := i * periodNs
			tNow = max(tNow, intended)
			behind := tNow - intended
			maxBehind = max(maxBehind, behind)
			if behind > int64(DefaultLateThreshold) {
				late++
			}
			tNow += service
			if stalled && i == stallAt-1 {
				tNow += stall
			}
			lats = append(lats, tNow-intended)
		}
		slices.Sort(lats)
		if res.Sent != n || res.Received != n || res.Lost != 0 || res.Mismatches != 0 || res.Errors != 0 {
			t.Fatalf("stalled=%v: counts %+v", stalled, res)
		}
		if res.Latency.Count != n || res.Latency.Max != lats[n-1] {
			t.Errorf("stalled=%v: count %d max %d, model %d %d", stalled, res.Latency.Count, res.Latency.Max, n, lats[n-1])
		}
		if res.Lag.Late != uint64(late) || res.Lag.MaxBehindNs != maxBehind {
			t.Errorf("stalled=%v: late %d behind %d, model %d %d", stalled, res.Lag.Late, res.Lag.MaxBehindNs, late, maxBehind)
		}
		p99 := lats[int(math.Ceil(0.99*n))-1]
		if d := math.Abs(float64(res.Latency.P99-p99)) / float64(p99); d > 1e-3 {
			t.Errorf("stalled=%v: p99 %d, model %d", stalled, res.Latency.P99, p99)
		}
		if !stalled {
			if res.Latency.Max != service || late != 0 {
				t.Errorf("unstalled: max %d late %d, want %d and 0", res.Latency.Max, late, service)
			}
			continue
		}
		// Timed from the actual send, only the stalled request would
		// exceed the service time; timed from the schedule, ~stall/period
		// of them do, and the p99 shows the stall.
		if late < stall/periodNs-2 || res.Latency.P99 < stall/10 {
			t.Errorf("stall hidden: late %d, p99 %d ns", late, res.Latency.P99)
		}
		if res.Latency.P50 != service {
			t.Errorf("p50 %d, want %d", res.Latency.P50, service)
		}
	}
}

// TestWarmupExcluded: requests due in the warm-up are sent and answered but
// not measured.
func TestWarmupExcluded(t *testing.T) {
	clk := &fakeClock{}
	tgt := &stallTarget{clock: clk, serviceNs: 1000, stallAt: 10, stallNs: int64(time.Second)}
	res, err := Run(context.Background(), tgt, Options{Rate: 100, Warmup: 5 * time.Second, Duration: time.Second,
		Mix: testMix(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 600 || res.Received != 600 || res.MeasuredSent != 100 || res.Latency.Count != 100 {
		t.Fatalf("sent %d received %d measured %d/%d", res.Sent, res.Received, res.MeasuredSent, res.Latency.Count)
	}
	// The stall (request 10) is in the warm-up: nothing measured sees it.
	if res.Latency.Max != 1000 || res.Lag.Late != 0 || res.AchievedRate != 100 {
		t.Fatalf("max %d late %d rate %g", res.Latency.Max, res.Lag.Late, res.AchievedRate)
	}
}

func TestScheduleFixed(t *testing.T) {
	s, err := NewSchedule(100_000, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(1000) {
		if got := s.Next(); got != i*10_000 {
			t.Fatalf("arrival %d at %d ns", i, got)
		}
	}
}

func TestSchedulePoisson(t *testing.T) {
	a, _ := NewSchedule(50_000, true, 7)
	b, _ := NewSchedule(50_000, true, 7)
	c, _ := NewSchedule(50_000, true, 8)
	const n = 200_000
	var last, lastC int64
	differ := false
	for range n {
		x, y, z := a.Next(), b.Next(), c.Next()
		if x != y {
			t.Fatalf("same seed diverged: %d vs %d", x, y)
		}
		if x < last {
			t.Fatalf("offsets decreased: %d after %d", x, last)
		}
		differ = differ || x != z
		last, lastC = x, z
	}
	if !differ {
		t.Fatal("seeds 7 and 8 gave the same schedule")
	}
	// n arrivals at 50 k/s span n/50k s: within 1% (the sd is 1/sqrt(n)).
	want := float64(n) / 50_000 * 1e9
	for _, got := range []int64{last, lastC} {
		if math.Abs(float64(got)-want)/want > 0.01 {
			t.Fatalf("%d arrivals span %d ns, want about %.0f", n, got, want)
		}
	}
}

func TestScheduleBadRate(t *testing.T) {
	for _, r := range []float64{0, -1, math.NaN(), math.Inf(1), 1e9} {
		if _, err := NewSchedule(r, false, 0); err == nil {
			t.Errorf("rate %g accepted", r)
		}
	}
}

func TestOptionsRejected(t *testing.T) {
	clk := &fakeClock{}
	tgt := &stallTarget{clock: clk, serviceNs: 1}
	base := Options{Rate: 10, Duration: time.Second, Mix: testMix(), Clock: clk}
	for name, mod := range map[string]func(*Options){
		"rate":     func(o *Options) { o.Rate = 0 },
		"duration": func(o *Options) { o.Duration = 0 },
		"conns":    func(o *Options) { o.Conns = ConnsMax + 1 },
		"inflight": func(o *Options) { o.InflightMax = -1 },
		"mix":      func(o *Options) { o.Mix.Specs = nil },
		"qty":      func(o *Options) { o.Mix.QtyMin = 0 },
		"batch":    func(o *Options) { o.FlushBatchMax = FlushBatchMaxLimit + 1 },
		"long":     func(o *Options) { o.Warmup, o.Duration = time.Second, DurationMax },
	} {
		o := base
		mod(&o)
		if _, err := Run(context.Background(), tgt, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// BenchmarkScheduleNext is one step of the schedule.
func BenchmarkScheduleNext(b *testing.B) {
	for _, poisson := range []bool{false, true} {
		name := map[bool]string{false: "fixed", true: "poisson"}[poisson]
		b.Run(name, func(b *testing.B) {
			s, _ := NewSchedule(100_000, poisson, 1)
			var sink int64
			for b.Loop() {
				sink += s.Next()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "arrivals/s")
			_ = sink
		})
	}
}

func TestScheduleNextAllocs(t *testing.T) {
	s, _ := NewSchedule(100_000, true, 1)
	if a := testing.AllocsPerRun(1000, func() { s.Next() }); a != 0 {
		t.Fatalf("%v allocs per arrival", a)
	}
}

// TestBadAnswersCounted: wrong accounts, wrong kinds, unknown reqIds and
// error answers are each counted, never recorded as latency, and a request
// whose answer never matched is lost.
func TestBadAnswersCounted(t *testing.T) {
	clk := &fakeClock{}
	tgt := &stallTarget{clock: clk, serviceNs: 1000, mangle: func(n uint64, r *Reply) {
		switch n % 10 {
		case 1:
			r.Account++
		case 2:
			r.Kind = KindFill
		case 3:
			r.ReqID += 1 << 40
		case 4:
			r.Failed, r.Code = true, uint16(sbe.ErrorCodeInternal)
		case 5:
			r.ReqID = 0
		}
	}}
	// The 200 lost requests stay outstanding (nothing says they are
	// lost); their slots are skipped when the ids wrap around the table.
	res, err := Run(context.Background(), tgt, Options{Rate: 1000, Duration: time.Second, Mix: testMix(), Clock: clk,
		DrainTimeout: 10 * time.Millisecond, InflightMax: 256})
	if err != nil {
		t.Fatal(err)
	}
	// Per 10 requests: 2 lost (unknown and zero reqId), 3 mismatched
	// (account, kind, unknown id), 1 error, 1 mismatch for reqId 0.
	if res.Sent != 1000 || res.Received != 800 || res.Lost != 200 || res.Mismatches != 400 || res.Errors != 100 ||
		res.ErrorCodes["sbe:INTERNAL"] != 100 || res.Latency.Count != 500 {
		t.Fatalf("sent %d received %d lost %d mismatches %d errors %d %v samples %d", res.Sent, res.Received, res.Lost,
			res.Mismatches, res.Errors, res.ErrorCodes, res.Latency.Count)
	}
	// With a window smaller than what the server never answers, the
	// window fills and the run stops after DrainTimeout, saying so: the
	// 64th lost request is the 315th (two of every ten are lost).
	clk.now.Store(0)
	res, err = Run(context.Background(), tgt, Options{Rate: 1000, Duration: time.Second, Mix: testMix(), Clock: clk,
		DrainTimeout: 10 * time.Millisecond, InflightMax: 64})
	if err == nil || !strings.Contains(res.Aborted, ErrStalled.Error()) || res.Sent != 315 || res.Lost != 64 {
		t.Fatalf("stalled window: %v; sent %d lost %d aborted %q", err, res.Sent, res.Lost, res.Aborted)
	}
}

// nopSession accepts everything; the lane benchmarks drive handle directly.
type nopSession struct{}

func (nopSession) Send(*Request) error                { return nil }
func (nopSession) Flush() error                       { return nil }
func (nopSession) Recv(context.Context, *Reply) error { return context.Canceled }
func (nopSession) Close() error                       { return nil }

// TestLaneRoundTripAllocs: claiming a slot and handling its answer (the
// per-request work of sender and receiver) does not allocate.
func TestLaneRoundTripAllocs(t *testing.T) {
	l := newLane(nopSession{}, KindCheck, 64, false)
	req := Request{Kind: KindCheck, Order: Order{Account: 7}}
	rep := Reply{Kind: KindCheck, Account: 7, Decision: sbe.DecisionReject, Reason: sbe.ReasonInsufficientMargin}
	if a := testing.AllocsPerRun(1000, func() {
		l.publish(&req, 100, true)
		rep.ReqID = req.ReqID
		l.handle(&rep, 1100)
	}); a != 0 {
		t.Fatalf("%v allocs per request", a)
	}
	if l.st.mismatches != 0 || l.st.received == 0 || l.rec.Max() != 1000 {
		t.Fatalf("stats %+v max %d", l.st.received, l.rec.Max())
	}
}

// BenchmarkLaneRoundTrip is the load generator's own per-request cost:
// slot claim, answer match and latency record.
func BenchmarkLaneRoundTrip(b *testing.B) {
	l := newLane(nopSession{}, KindCheck, 1024, false)
	req := Request{Kind: KindCheck, Order: Order{Account: 7}}
	rep := Reply{Kind: KindCheck, Account: 7}
	var now int64
	for b.Loop() {
		l.publish(&req, now, true)
		rep.ReqID = req.ReqID
		now += 1000
		l.handle(&rep, now+int64(req.ReqID&1023))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
