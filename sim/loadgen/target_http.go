package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// HTTP client bounds.
const (
	// HTTPQueueMax bounds the requests queued on one HTTP session.
	HTTPQueueMax = InflightMaxLimit
	// HTTPResponseBytesMax bounds a response body read by the load
	// generator.
	HTTPResponseBytesMax = 64 << 10
	// DefaultHTTPTimeout bounds one HTTP request.
	DefaultHTTPTimeout = 10 * time.Second
)

// ErrReply reports a response body the load generator cannot read.
var ErrReply = errors.New("loadgen: malformed reply")

// HTTPTarget posts single-order JSON to POST /v1/check (fills to POST
// /v1/fills) with fasthttp's client. Each session is one keep-alive
// connection carrying one request at a time (HTTP/1.1 without pipelining):
// requests beyond the first wait in the session's queue, so they queue in
// the measurement as they would in a real client.
type HTTPTarget struct {
	// URL is the API's base, e.g. http://127.0.0.1:8080.
	URL   string
	Token string
	// QueueMax bounds each session's queue (0: DefaultInflightMax, at most
	// HTTPQueueMax); the runs raise it to their InflightMax.
	QueueMax int
	// Timeout bounds one request (0: DefaultHTTPTimeout; not with Direct,
	// whose run's DrainTimeout bounds the wait instead).
	Timeout time.Duration
	// Direct selects client.DialHTTPDirect sessions: no goroutine, a
	// Poller, so an open-loop run writes each request and polls the socket
	// for its answer from its sender. The rule stays one request in flight
	// per connection, the rest queued in order. Closed-loop runs refuse it.
	Direct bool
}

// Name implements Target.
func (t *HTTPTarget) Name() string { return "http" }

// Open implements Target: it checks the URL and starts the session's worker;
// the connection itself is made by the first request.
func (t *HTTPTarget) Open(ctx context.Context) (Session, error) {
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, fmt.Errorf("loadgen: http url %q: %w", t.URL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("loadgen: http url %q: want http://host:port or https://host:port", t.URL)
	}
	qmax := t.QueueMax
	if qmax <= 0 {
		qmax = DefaultInflightMax
	}
	qmax = min(qmax, HTTPQueueMax)
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	if t.Direct {
		if u.Scheme != "http" {
			return nil, fmt.Errorf("loadgen: http url %q: a direct session speaks plain http", t.URL)
		}
		d, err := client.DialHTTPDirect(ctx, u.Scheme+"://"+u.Host, t.Token)
		if err != nil {
			return nil, err
		}
		return newHTTPDirectSession(d, qmax), nil
	}
	addr := u.Host
	switch {
	case u.Port() != "":
	case u.Scheme == "https":
		addr += ":443"
	default:
		addr += ":80"
	}
	hc := &fasthttp.HostClient{Addr: addr, IsTLS: u.Scheme == "https", MaxConns: 1,
		MaxResponseBodySize: HTTPResponseBytesMax, ReadTimeout: timeout, WriteTimeout: timeout}
	s := &httpSession{hc: hc, timeout: timeout, queue: make(chan Request, qmax), replies: make(chan Reply, qmax),
		auth: "Bearer " + t.Token, base: u.Scheme + "://" + u.Host, stop: make(chan struct{})}
	s.checkURL, s.fillURL = s.base+"/v1/check", s.base+"/v1/fills"
	s.wg.Add(1)
	go s.work()
	return s, ctx.Err()
}

type httpSession struct {
	hc       *fasthttp.HostClient
	timeout  time.Duration
	auth     string
	base     string
	checkURL string
	fillURL  string
	queue    chan Request
	replies  chan Reply
	stop     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
}

// Send implements Session; it fails rather than block when the queue is
// full (the run's window keeps it from filling).
func (s *httpSession) Send(r *Request) error {
	select {
	case s.queue <- *r:
		return nil
	case <-s.stop:
		return fmt.Errorf("%w: http session closed", ErrSession)
	default:
		return fmt.Errorf("%w: http session queue full (%d)", ErrSession, cap(s.queue))
	}
}

// Flush implements Session (requests are written as the worker takes them).
func (s *httpSession) Flush() error { return nil }

// Recv implements Session.
func (s *httpSession) Recv(ctx context.Context, out *Reply) error {
	select {
	case r := <-s.replies:
		*out = r
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return fmt.Errorf("%w: http session closed", ErrSession)
	}
}

// Close implements Session.
func (s *httpSession) Close() error {
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait()
	s.hc.CloseIdleConnections()
	return nil
}

func (s *httpSession) work() {
	defer s.wg.Done()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("Authorization", s.auth)
	var body []byte
	for {
		var r Request
		select {
		case r = <-s.queue:
		case <-s.stop:
			return
		}
		_, body = appendHTTPRequest(body[:0], &r)
		if r.Kind == KindFill {
			req.SetRequestURI(s.fillURL)
		} else {
			req.SetRequestURI(s.checkURL)
		}
		req.SetBodyRaw(body)
		var rep Reply
		if err := s.hc.DoTimeout(req, resp, s.timeout); err != nil {
			// A transport failure answers this request as failed (status
			// 0) and the next request reconnects.
			rep = Reply{ReqID: r.ReqID, Failed: true}
		} else {
			httpReply(&r, resp.StatusCode(), resp.Body(), &rep)
		}
		select {
		case s.replies <- rep:
		case <-s.stop:
			return
		}
	}
}

// httpDirectSession adapts a client.HTTPDirect: a Poller keeping one
// request in flight on the connection and the others in a bounded queue,
// in order, each written as the answer before it is read.
type httpDirectSession struct {
	d *client.HTTPDirect
	// reqs holds the requests sent or queued: reqs[head] is in flight once
	// sent is true, the ones after it wait.
	reqs    []Request
	head, n int
	sent    bool
	body    []byte
	resp    client.HTTPResponse
}

func newHTTPDirectSession(d *client.HTTPDirect, qmax int) *httpDirectSession {
	return &httpDirectSession{d: d, reqs: make([]Request, qmax), body: make([]byte, 0, 256)}
}

// Send implements Session: r is written now when nothing is in flight,
// else queued behind the requests before it; a full queue fails with
// ErrSendFull.
func (s *httpDirectSession) Send(r *Request) error {
	if s.n == len(s.reqs) {
		return fmt.Errorf("%w: http session queue full (%d)", ErrSendFull, len(s.reqs))
	}
	s.reqs[(s.head+s.n)%len(s.reqs)] = *r
	s.n++
	return s.kick()
}

// kick writes the head request if none is in flight.
func (s *httpDirectSession) kick() error {
	if s.sent || s.n == 0 {
		return nil
	}
	r := &s.reqs[s.head]
	if r.Kind != KindCheck && r.Kind != KindFill {
		return fmt.Errorf("%w: request kind %d", ErrSession, r.Kind)
	}
	var path string
	path, s.body = appendHTTPRequest(s.body[:0], r)
	err := s.d.Post(path, s.body)
	switch {
	case errors.Is(err, client.ErrHTTPBusy):
		return nil // the socket is full: Poll writes it later
	case err != nil:
		return err
	}
	s.sent = true
	return nil
}

// Flush implements Session: there is nothing to flush.
func (s *httpDirectSession) Flush() error { return nil }

// Poll implements Poller: it reads the answer to the request in flight
// and writes the next one.
func (s *httpDirectSession) Poll(out *Reply) (bool, error) {
	if err := s.kick(); err != nil || !s.sent {
		return false, err
	}
	ok, err := s.d.Poll(&s.resp)
	if !ok || err != nil {
		return false, err
	}
	r := &s.reqs[s.head]
	s.head = (s.head + 1) % len(s.reqs)
	s.n--
	s.sent = false
	httpReply(r, s.resp.Status, s.resp.Body, out)
	return true, s.kick()
}

// appendHTTPRequest appends r's JSON body to b and returns the route it
// goes to: POST /v1/check for a check, POST /v1/fills for a fill.
func appendHTTPRequest(b []byte, r *Request) (path string, body []byte) {
	if r.Kind == KindFill {
		return "/v1/fills", AppendFillJSON(b, &r.Order, r.ExecID)
	}
	return "/v1/check", AppendCheckJSON(b, &r.Order)
}

// httpReply sets out to the reply to r that an answer with status and
// body makes: a failure with the status unless it is the route's success
// (200 for a check, 201 for a fill), else the verdict read from body (a
// mismatch, Kind 0, when it cannot be read) or the fill's Ack.
func httpReply(r *Request, status int, body []byte, out *Reply) {
	*out = Reply{ReqID: r.ReqID}
	want := fasthttp.StatusOK
	if r.Kind == KindFill {
		want = fasthttp.StatusCreated
	}
	switch {
	case status != want:
		out.Failed, out.Code = true, uint16(status)
	case r.Kind == KindCheck:
		if ParseCheckReply(body, out) != nil {
			out.Kind = 0 // unreadable: a mismatch
		}
	default:
		out.Kind = KindFill
	}
}

// Recv implements Session for closed-loop runs; Open refuses Direct for
// them, so it only polls until a reply comes or ctx is done.
func (s *httpDirectSession) Recv(ctx context.Context, out *Reply) error { return pollRecv(ctx, s, out) }

// Close implements Session.
func (s *httpDirectSession) Close() error { return s.d.Close() }

// AppendCheckJSON appends o as POST /v1/check's single-order body.
func AppendCheckJSON(b []byte, o *Order) []byte {
	b = append(b, `{"account":`...)
	b = strconv.AppendUint(b, o.Account, 10)
	b = append(b, `,"instrument":`...)
	b = strconv.AppendUint(b, uint64(o.Instrument), 10)
	b = appendSide(b, o.Side)
	b = append(b, `,"qty":`...)
	b = strconv.AppendInt(b, o.Qty, 10)
	b = append(b, `,"price":`...)
	b = strconv.AppendInt(b, o.Price, 10)
	return append(b, '}')
}

// AppendFillJSON appends o as POST /v1/fills' body with execID.
func AppendFillJSON(b []byte, o *Order, execID uint64) []byte {
	b = AppendCheckJSON(b, o)
	b = append(b[:len(b)-1], `,"exec_id":`...)
	b = strconv.AppendUint(b, execID, 10)
	return append(b, '}')
}

func appendSide(b []byte, s sbe.Side) []byte {
	if s == sbe.SideSell {
		return append(b, `,"side":"sell"`...)
	}
	return append(b, `,"side":"buy"`...)
}

// httpReasons maps the API's reason texts to the wire's codes (an expired
// attestation is a credit failure on the wire too).
var httpReasons = [...]struct {
	text   string
	reason sbe.Reason
}{
	{"none", sbe.ReasonNone}, {"insufficient margin", sbe.ReasonInsufficientMargin},
	{"unknown account", sbe.ReasonUnknownAccount}, {"unknown instrument", sbe.ReasonUnknownInstrument},
	{"stale market data", sbe.ReasonStaleMarketData}, {"no risk epoch", sbe.ReasonNoRiskEpoch},
	{"not authorised", sbe.ReasonNotAuthorised}, {"invalid order", sbe.ReasonInvalidOrder},
	{"credit limit", sbe.ReasonCreditLimit}, {"attestation expired", sbe.ReasonCreditLimit},
}

var (
	keyAccount  = []byte(`"account":`)
	keyDecision = []byte(`"decision":"`)
	keyReason   = []byte(`"reason":"`)
)

// ParseCheckReply reads the account, decision and reason of a single-order
// POST /v1/check response into out (Kind, Account, Decision, Reason),
// without allocating. It looks the keys up rather than parsing the whole
// object; a body without them, or with values of the wrong form, is
// ErrReply.
func ParseCheckReply(body []byte, out *Reply) error {
	if len(body) == 0 || body[0] != '{' {
		return fmt.Errorf("%w: not a JSON object", ErrReply)
	}
	i := bytes.Index(body, keyAccount)
	if i < 0 {
		return fmt.Errorf("%w: no account", ErrReply)
	}
	var acct uint64
	j := i + len(keyAccount)
	n := 0
	for ; j < len(body) && body[j] >= '0' && body[j] <= '9'; j++ {
		if n == 20 || acct > (1<<64-1)/10 {
			return fmt.Errorf("%w: account out of range", ErrReply)
		}
		d := uint64(body[j] - '0')
		if acct*10 > 1<<64-1-d {
			return fmt.Errorf("%w: account out of range", ErrReply)
		}
		acct = acct*10 + d
		n++
	}
	if n == 0 {
		return fmt.Errorf("%w: account is not a number", ErrReply)
	}
	dec, ok := stringValue(body, keyDecision)
	if !ok {
		return fmt.Errorf("%w: no decision", ErrReply)
	}
	var d sbe.Decision
	switch string(dec) {
	case "accept":
		d = sbe.DecisionAccept
	case "reject":
		d = sbe.DecisionReject
	default:
		return fmt.Errorf("%w: decision %q", ErrReply, dec)
	}
	rs, ok := stringValue(body, keyReason)
	if !ok {
		return fmt.Errorf("%w: no reason", ErrReply)
	}
	reason, found := sbe.Reason(0), false
	for k := range httpReasons {
		if string(rs) == httpReasons[k].text {
			reason, found = httpReasons[k].reason, true
			break
		}
	}
	if !found {
		return fmt.Errorf("%w: reason %q", ErrReply, rs)
	}
	out.Kind, out.Account, out.Decision, out.Reason = KindCheck, acct, d, reason
	return nil
}

// stringValue returns the string after key (which ends with the opening
// quote) up to the closing quote; values with escapes are refused.
func stringValue(body, key []byte) ([]byte, bool) {
	i := bytes.Index(body, key)
	if i < 0 {
		return nil, false
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return nil, false
	}
	return rest[:j], true
}
