package loadgen

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// pollTarget is stallTarget's model as a Poller: Send takes serviceNs of
// fake time (stallNs more for the stallAt-th request) and queues the
// answer, which Poll (or, when the run has receivers, Recv) hands out.
// When refuseEvery is set, every refuseEvery-th request is refused three
// times with ErrSendFull before it is taken.
type pollTarget struct {
	stallTarget
	refuseEvery uint64
	recvCalls   atomic.Int64
	refused     atomic.Int64
}

func (t *pollTarget) Open(context.Context) (Session, error) {
	return &pollSession{t: t, replies: make(chan Reply, InflightMaxLimit)}, nil
}

type pollSession struct {
	t       *pollTarget
	n       uint64
	refused int
	rep     Reply // Send's scratch (a local would escape to mangle)
	replies chan Reply
}

func (s *pollSession) Send(r *Request) error {
	if s.t.refuseEvery > 0 && (s.n+1)%s.t.refuseEvery == 0 && s.refused < 3 {
		s.refused++
		s.t.refused.Add(1)
		return fmt.Errorf("%w: test refusal", ErrSendFull)
	}
	s.refused = 0
	s.n++
	s.t.clock.Advance(s.t.serviceNs)
	if s.n == s.t.stallAt {
		s.t.clock.Advance(s.t.stallNs)
	}
	s.rep = Reply{ReqID: r.ReqID, Kind: KindCheck, Account: r.Order.Account}
	if s.t.mangle != nil {
		s.t.mangle(s.n, &s.rep)
	}
	s.replies <- s.rep
	return nil
}

func (s *pollSession) Flush() error { return nil }

func (s *pollSession) Poll(out *Reply) (bool, error) {
	select {
	case r := <-s.replies:
		*out = r
		return true, nil
	default:
		return false, nil
	}
}

func (s *pollSession) Recv(ctx context.Context, out *Reply) error {
	s.t.recvCalls.Add(1)
	select {
	case r := <-s.replies:
		*out = r
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *pollSession) Close() error { return nil }

// mixedTarget opens a Poller and a receiver-only session in turn.
type mixedTarget struct {
	p *pollTarget
	n int
}

func (t *mixedTarget) Name() string { return "mixed" }

func (t *mixedTarget) Open(ctx context.Context) (Session, error) {
	t.n++
	s, err := t.p.Open(ctx)
	if t.n%2 == 0 {
		return struct{ Session }{s}, err // hides Poll
	}
	return s, err
}

// TestPolledRunAccounting: a polled run handles its replies like the
// receivers: mismatched answers are counted, the warm-up is not measured,
// and with one session that is not a Poller the run falls back to
// receivers for all.
func TestPolledRunAccounting(t *testing.T) {
	clk := &fakeClock{}
	pt := &pollTarget{stallTarget: stallTarget{clock: clk, serviceNs: 1000, mangle: func(n uint64, r *Reply) {
		switch n {
		case 5:
			r.Account++ // the wrong account
		case 6:
			r.Kind = KindFill
		case 7:
			r.Failed, r.Code = true, 3
		}
	}}}
	res, err := Run(context.Background(), pt, Options{Rate: 100, Warmup: time.Second, Duration: time.Second,
		Mix: testMix(), Clock: clk, Conns: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Each of the 3 sessions mangles its own 5th to 7th answers, all in
	// the warm-up (requests 13 to 21 of 200).
	if res.Sent != 200 || res.Received != 200 || res.Mismatches != 6 || res.Errors != 3 || res.MeasuredSent != 100 ||
		res.Latency.Count != 100 || res.Latency.Max != 1000 || pt.recvCalls.Load() != 0 {
		t.Fatalf("polled: %+v (Recv calls %d)", res, pt.recvCalls.Load())
	}

	clk2 := &fakeClock{}
	mt := &mixedTarget{p: &pollTarget{stallTarget: stallTarget{clock: clk2, serviceNs: 1000}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err = Run(ctx, mt, Options{Rate: 100, Duration: time.Second, Mix: testMix(), Clock: clk2, Conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 100 || res.Received != 100 || res.Mismatches != 0 || mt.p.recvCalls.Load() == 0 {
		t.Fatalf("mixed: %+v (Recv calls %d)", res, mt.p.recvCalls.Load())
	}
}

// tickingClock is a fakeClock that moves on by tickNs at every reading,
// so a sender polling for answers that never come sees time pass.
type tickingClock struct{ fakeClock }

const tickNs = 100

func (c *tickingClock) Now() int64 { return c.now.Add(tickNs) }

// TestPolledRunStalls: a window that stays full, and a session that keeps
// refusing requests, abort a polled run with ErrStalled after DrainTimeout.
func TestPolledRunStalls(t *testing.T) {
	clk := &tickingClock{}
	pt := &pollTarget{stallTarget: stallTarget{clock: &clk.fakeClock, serviceNs: 1000, mangle: func(n uint64, r *Reply) {
		r.ReqID = 1 << 40 // answers nothing outstanding
	}}}
	res, err := Run(context.Background(), pt, Options{Rate: 1000, Duration: time.Second, Mix: testMix(), Clock: clk,
		InflightMax: 2, DrainTimeout: 20 * time.Millisecond})
	if err == nil || res.Sent != 2 || res.Mismatches == 0 || res.Lost != 2 {
		t.Fatalf("unanswered: %+v %v", res, err)
	}
	pt = &pollTarget{stallTarget: stallTarget{clock: &clk.fakeClock}}
	res, err = Run(context.Background(), &refusingTarget{pt}, Options{Rate: 1000, Duration: time.Second, Mix: testMix(),
		Clock: clk, DrainTimeout: 20 * time.Millisecond})
	if err == nil || res.Sent != 0 {
		t.Fatalf("refusing: %+v %v", res, err)
	}
}

// refusingTarget's sessions refuse every request, forever.
type refusingTarget struct{ *pollTarget }

func (t *refusingTarget) Open(ctx context.Context) (Session, error) {
	s, err := t.pollTarget.Open(ctx)
	return &refusingSession{s.(*pollSession)}, err
}

type refusingSession struct{ *pollSession }

func (s *refusingSession) Send(*Request) error { return ErrSendFull }

// polledStep is one turn of the polled sender against pt: a request
// published and sent on lane l, then every lane polled.
func polledStep(tb testing.TB, r *run, l *lane, gen *Generator, req *Request) {
	gen.Next(&req.Order)
	l.publish(req, r.opts.Clock.Now(), true)
	if err := r.sendPolled(l, req); err != nil {
		tb.Fatal(err)
	}
	l.sent++
	if n, err := r.pollAll(); n != 1 || err != nil {
		tb.Fatal(n, err)
	}
}

func polledRun(tb testing.TB) (*run, *Generator) {
	opts := Options{Rate: 1000, Duration: time.Second, Mix: testMix(), Clock: &fakeClock{}}
	if err := opts.fill(false, false); err != nil {
		tb.Fatal(err)
	}
	pt := &pollTarget{stallTarget: stallTarget{clock: opts.Clock.(*fakeClock), serviceNs: 1000}}
	r, err := start(context.Background(), pt, opts, "open", KindCheck, true)
	if err != nil || !r.polled {
		tb.Fatal(err, r.polled)
	}
	tb.Cleanup(r.close)
	gen, err := NewGenerator(opts.Mix, 1)
	if err != nil {
		tb.Fatal(err)
	}
	return r, gen
}

// TestPolledSenderAllocs: the polled sender's turn (draw an order, publish,
// send, poll, account the reply) does not allocate.
func TestPolledSenderAllocs(t *testing.T) {
	r, gen := polledRun(t)
	req := Request{Kind: KindCheck}
	if a := testing.AllocsPerRun(1000, func() { polledStep(t, r, r.lanes[0], gen, &req) }); a != 0 {
		t.Fatalf("%v allocs per polled send and reply", a)
	}
}

// BenchmarkPolledSender is the polled sender's own cost per request against
// a session that answers at once (no transport).
func BenchmarkPolledSender(b *testing.B) {
	r, gen := polledRun(b)
	req := Request{Kind: KindCheck}
	b.ReportAllocs()
	for b.Loop() {
		polledStep(b, r, r.lanes[0], gen, &req)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
