package loadgen

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// ShmTarget is the SBE protocol over the same-host shared-memory rings:
// each session claims one of the server's slot files in Dir. By default a
// session is a pipelined client.Conn (engine/verdict/client.DialShm), with
// its own reader goroutine; with Direct it is a client.Direct
// (client.DialShmDirect), which has none and is a Poller, so an open-loop
// run polls it from its sender and the whole load generator is one
// goroutine.
type ShmTarget struct {
	// Dir is the server's shared-memory directory (verdict.ShmConfig.Dir).
	Dir   string
	Token string
	// Options configure the client.Conn (not Direct); RecvMax should be at
	// least the run's InflightMax.
	Options client.Options
	// Direct selects client.DialShmDirect sessions.
	Direct bool
}

// Name implements Target.
func (t *ShmTarget) Name() string { return "shm" }

// Open implements Target.
func (t *ShmTarget) Open(ctx context.Context) (Session, error) {
	if t.Direct {
		d, err := client.DialShmDirect(ctx, t.Dir, t.Token)
		if err != nil {
			return nil, err
		}
		return &directSession{d: d}, nil
	}
	c, err := client.DialShm(ctx, t.Dir, t.Token, t.Options)
	if err != nil {
		return nil, err
	}
	return newSBESession(c), nil
}

// Waiting of directSession.Recv, which only closed-loop runs use.
const (
	// recvSpinPolls is the number of empty polls Recv spins before it
	// yields its processor between polls.
	recvSpinPolls = 1 << 10
	// recvCheckEvery is how often (in empty polls, a power of two) Recv
	// looks at its context.
	recvCheckEvery = 1 << 10
)

// directSession adapts a client.Direct (shared memory or TCP): a Poller
// whose Send writes straight into the request ring or socket (Flush has
// nothing to do). Over shared memory, Send and Poll (or Recv) may run on
// two goroutines, one each; over TCP, one goroutine calls both.
type directSession struct {
	d    *client.Direct
	oc   sbe.OrderCheck // Send-owned
	fl   sbe.Fill       // Send-owned
	resp client.Response
}

// Send implements Session; a full request ring (or socket buffer) fails
// with ErrSendFull.
func (s *directSession) Send(r *Request) error {
	o := &r.Order
	var err error
	switch r.Kind {
	case KindCheck:
		s.oc = sbe.OrderCheck{ReqID: r.ReqID, Account: o.Account, Instrument: o.Instrument, Side: o.Side,
			Qty: o.Qty, Price: o.Price}
		err = s.d.Send(&s.oc)
	case KindFill:
		s.fl = sbe.Fill{ReqID: r.ReqID, Account: o.Account, Instrument: o.Instrument, Side: o.Side,
			Qty: o.Qty, Price: o.Price, ExecID: r.ExecID}
		err = s.d.Send(&s.fl)
	default:
		return fmt.Errorf("%w: request kind %d", ErrSession, r.Kind)
	}
	if errors.Is(err, client.ErrRingFull) {
		return fmt.Errorf("%w: %w", ErrSendFull, err)
	}
	return err
}

// Flush implements Session: there is nothing to flush.
func (s *directSession) Flush() error { return nil }

// Poll implements Poller. MarginNotice pushes are skipped (the load
// generator does not count them).
func (s *directSession) Poll(out *Reply) (bool, error) {
	for {
		ok, err := s.d.Poll(&s.resp)
		if !ok || err != nil {
			return false, err
		}
		if s.resp.TemplateID != sbe.MarginNoticeTemplateID {
			replyOf(&s.resp, out)
			return true, nil
		}
	}
}

// Recv implements Session for closed-loop runs, which keep a receiver
// goroutine per session: it polls, spinning and then yielding, until a
// reply comes or ctx is done.
func (s *directSession) Recv(ctx context.Context, out *Reply) error { return pollRecv(ctx, s, out) }

// pollRecv is a Poller's Recv: it polls p, spinning and then yielding,
// until a reply comes or ctx is done.
func pollRecv(ctx context.Context, p Poller, out *Reply) error {
	for i := 0; ; i++ {
		ok, err := p.Poll(out)
		if ok || err != nil {
			return err
		}
		if i&(recvCheckEvery-1) == recvCheckEvery-1 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if i >= recvSpinPolls {
			runtime.Gosched()
		}
	}
}

// Close implements Session.
func (s *directSession) Close() error { return s.d.Close() }
