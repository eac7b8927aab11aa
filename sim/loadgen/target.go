package loadgen

import (
	"context"
	"errors"
	"fmt"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// Kind is a request's kind.
type Kind uint8

// Request kinds.
const (
	// KindCheck is a pre-trade OrderCheck answered by a Verdict.
	KindCheck Kind = iota + 1
	// KindFill is a Fill answered by an Ack once durable.
	KindFill
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindCheck:
		return "check"
	case KindFill:
		return "fill"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Request is one request a Session sends.
type Request struct {
	// ReqID identifies the request on its session (1 to 2^63-1).
	ReqID uint64
	Kind  Kind
	Order Order
	// ExecID is the fill's execution id (KindFill).
	ExecID uint64
}

// Reply is one response a Session receives.
type Reply struct {
	// ReqID echoes the request's (SBE: as the server sent it).
	ReqID uint64
	// Kind is what the response is an answer to (0: neither a Verdict nor
	// an Ack, a protocol mismatch).
	Kind Kind
	// Account is the verdict's account (checks only).
	Account  uint64
	Decision sbe.Decision
	Reason   sbe.Reason
	// Failed marks an error answer: an SBE Error frame or non-zero Ack
	// status (Code is the sbe.ErrorCode), or an HTTP status other than the
	// route's success (Code is the HTTP status).
	Failed bool
	Code   uint16
}

// Session is one connection to a verdict server. Send and Flush are called
// from one goroutine, Recv from another; Close from either after both are
// done.
type Session interface {
	// Send queues r without necessarily writing it.
	Send(r *Request) error
	// Flush writes every queued request.
	Flush() error
	// Recv waits for the next response and stores it in out.
	Recv(ctx context.Context, out *Reply) error
	// Close ends the session.
	Close() error
}

// Target opens sessions to one server.
type Target interface {
	// Name is the transport's name ("tcp", "shm", "http").
	Name() string
	// Open connects (and logs in).
	Open(ctx context.Context) (Session, error)
}

// ErrSession reports a session that ended or cannot carry a request.
var ErrSession = errors.New("loadgen: session failed")

// TCPTarget is the SBE protocol over TCP (engine/verdict/client.Dial).
type TCPTarget struct {
	Addr  string
	Token string
	// Options configure the client.Conn (not Direct); RecvMax should be
	// at least the run's InflightMax so the client's reader never waits
	// on us.
	Options client.Options
	// Direct selects client.DialDirect sessions: no goroutine, a Poller,
	// so an open-loop run polls the socket from its sender and the whole
	// load generator is one goroutine. Closed-loop runs (RunMax,
	// RunFills) need Send and Recv on two goroutines and refuse it.
	Direct bool
}

// Name implements Target.
func (t *TCPTarget) Name() string { return "tcp" }

// Open implements Target.
func (t *TCPTarget) Open(ctx context.Context) (Session, error) {
	if t.Direct {
		d, err := client.DialDirect(ctx, t.Addr, t.Token)
		if err != nil {
			return nil, err
		}
		return &directSession{d: d}, nil
	}
	c, err := client.Dial(ctx, t.Addr, t.Token, t.Options)
	if err != nil {
		return nil, err
	}
	return newSBESession(c), nil
}

// sbeSession adapts a pipelined *client.Conn (TCP or shared memory).
type sbeSession struct {
	c  *client.Conn
	oc sbe.OrderCheck
	fl sbe.Fill
}

func newSBESession(c *client.Conn) *sbeSession { return &sbeSession{c: c} }

// Send implements Session.
func (s *sbeSession) Send(r *Request) error {
	o := &r.Order
	switch r.Kind {
	case KindCheck:
		s.oc = sbe.OrderCheck{ReqID: r.ReqID, Account: o.Account, Instrument: o.Instrument, Side: o.Side,
			Qty: o.Qty, Price: o.Price}
		return s.c.Send(&s.oc)
	case KindFill:
		s.fl = sbe.Fill{ReqID: r.ReqID, Account: o.Account, Instrument: o.Instrument, Side: o.Side,
			Qty: o.Qty, Price: o.Price, ExecID: r.ExecID}
		return s.c.Send(&s.fl)
	}
	return fmt.Errorf("%w: request kind %d", ErrSession, r.Kind)
}

// Flush implements Session.
func (s *sbeSession) Flush() error { return s.c.Flush() }

// Recv implements Session.
func (s *sbeSession) Recv(ctx context.Context, out *Reply) error {
	r, err := s.c.Recv(ctx)
	if err != nil {
		return err
	}
	replyOf(&r, out)
	return nil
}

// replyOf converts a verdict client's response to a Reply.
func replyOf(r *client.Response, out *Reply) {
	*out = Reply{ReqID: r.ReqID}
	switch r.TemplateID {
	case sbe.VerdictTemplateID:
		out.Kind, out.Account = KindCheck, r.Verdict.Account
		out.Decision, out.Reason = r.Verdict.Decision, r.Verdict.Reason
	case sbe.AckTemplateID:
		out.Kind = KindFill
		if r.Ack.Status != 0 {
			out.Failed, out.Code = true, uint16(r.Ack.Status)
		}
	case sbe.ErrorTemplateID:
		out.Failed, out.Code = true, uint16(r.Error.Code)
	}
}

// Close implements Session.
func (s *sbeSession) Close() error { return s.c.Close() }
