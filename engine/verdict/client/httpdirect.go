package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/ballast-risk/ballast/engine/internal/busypoll"
)

// Bounds of an HTTPDirect.
const (
	// HTTPInflightMax bounds the requests an HTTPDirect has sent and not
	// yet had answered (HTTP/1.1 pipelining; answers come in order).
	HTTPInflightMax = 256
	// HTTPHeaderBytesMax bounds a response's status line and headers.
	HTTPHeaderBytesMax = 8 << 10
	// HTTPBodyBytesMax bounds a response body.
	HTTPBodyBytesMax = 64 << 10
	// HTTPRequestBytesMax bounds one request (line, headers and body).
	HTTPRequestBytesMax = 64 << 10
	// httpInBytes sizes the receive buffer: one whole response always fits.
	httpInBytes = 2 * (HTTPHeaderBytesMax + HTTPBodyBytesMax)
)

// ErrHTTPBusy reports an HTTPDirect.Post with HTTPInflightMax requests
// unanswered, or whose request the socket cannot take now (its send buffer
// is full): nothing was written; Poll the answers and post again.
var ErrHTTPBusy = errors.New("verdict client: http connection busy")

// HTTPResponse is one answer read by HTTPDirect.Poll.
type HTTPResponse struct {
	// Status is the HTTP status code.
	Status int
	// Body is the response body. It aliases HTTPDirect's buffer and is
	// valid until the next Poll.
	Body []byte
}

// HTTPDirect is one keep-alive HTTP/1.1 connection to Ballast's HTTP API
// (docs/http-api.md) driven entirely by its caller, like Direct: Post
// writes a request with one non-blocking system call and Poll parses a
// whole response out of the socket if one is there. It starts no
// goroutine, takes no lock and never waits, so a client spinning on its
// own core pays no wake-up for an answer. Requests may be pipelined (at
// most HTTPInflightMax unanswered); answers come back in request order.
//
// It speaks the subset of HTTP/1.1 the API answers with: responses carry
// a Content-Length (a chunked or close-delimited body fails Poll with
// ErrProtocol, as does a header over HTTPHeaderBytesMax or a body over
// HTTPBodyBytesMax). GET /v1/stream, which never ends, is not for it.
//
// HTTPDirect is not safe for concurrent use, except Close.
type HTTPDirect struct {
	pc       *busypoll.Conn
	host     string
	auth     string
	out      []byte // unwritten tail of the last request
	req      []byte // Post's scratch
	in       []byte
	r, w     int // in[r:w] unread
	inflight int
	p        *httpParser
	rerr     error
	closed   atomic.Bool
}

// DialHTTPDirect connects to the API at base (http://host:port; no TLS),
// with TCP_NODELAY, ctx bounding the connection, and returns the session.
// Every request carries "Authorization: Bearer token". It fails with
// ErrToken for an empty token or one that cannot be a header value, an
// error for a base that is not http://host:port, or the dial's error.
func DialHTTPDirect(ctx context.Context, base, token string) (*HTTPDirect, error) {
	if token == "" {
		return nil, ErrToken
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c <= ' ' || c == 0x7f {
			return nil, ErrToken
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("verdict client: http url %q: %w", base, err)
	}
	if u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("verdict client: http url %q: want http://host:port", base)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	_, pc, err := dialPolled(ctx, addr)
	if err != nil {
		return nil, err
	}
	h := &HTTPDirect{pc: pc, host: u.Host, auth: "Bearer " + token,
		out: make([]byte, 0, HTTPRequestBytesMax), req: make([]byte, 0, 1024), in: make([]byte, httpInBytes)}
	h.p = newHTTPParser()
	return h, nil
}

// Post sends "POST path" with body as application/json. It returns
// ErrHTTPBusy (nothing written) when HTTPInflightMax requests are
// unanswered or the socket cannot take the request now, ErrClosed after
// Close, an error for a request over HTTPRequestBytesMax, and the socket's
// error. A request the socket took in part is committed: Poll (and the
// next Post) write the rest.
func (h *HTTPDirect) Post(path string, body []byte) error {
	return h.send("POST", path, body)
}

// Get sends "GET path" (no body); it fails as Post does.
func (h *HTTPDirect) Get(path string) error { return h.send("GET", path, nil) }

func (h *HTTPDirect) send(method, path string, body []byte) error {
	if h.closed.Load() {
		return ErrClosed
	}
	if h.rerr != nil {
		return h.rerr
	}
	if h.inflight >= HTTPInflightMax {
		return ErrHTTPBusy
	}
	if done, err := h.push(); err != nil {
		return err
	} else if !done {
		return ErrHTTPBusy
	}
	b := h.req[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, h.host...)
	b = append(b, "\r\nAuthorization: "...)
	b = append(b, h.auth...)
	if body != nil {
		b = append(b, "\r\nContent-Type: application/json"...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	h.req = b
	if len(b) > HTTPRequestBytesMax {
		return fmt.Errorf("verdict client: http request of %d bytes over %d", len(b), HTTPRequestBytesMax)
	}
	n, err := h.pc.TryWrite(b)
	if err != nil {
		return h.fail(err)
	}
	if n == 0 {
		return ErrHTTPBusy
	}
	h.out = append(h.out, b[n:]...)
	h.inflight++
	return nil
}

// push writes what is left of a partly written request; true when none is.
func (h *HTTPDirect) push() (bool, error) {
	if len(h.out) == 0 {
		return true, nil
	}
	n, err := h.pc.TryWrite(h.out)
	if err != nil {
		return false, h.fail(err)
	}
	h.out = h.out[:copy(h.out, h.out[n:])]
	return len(h.out) == 0, nil
}

// Inflight returns the requests sent and not yet answered.
func (h *HTTPDirect) Inflight() int { return h.inflight }

// Poll stores the next answer in r and returns true, or returns false at
// once when no whole answer has arrived. It fails with ErrClosed after
// Close, io.EOF or the socket's error when the connection ends (with
// requests unanswered or not), and ErrProtocol for an answer it cannot
// read (see HTTPDirect) or one nobody asked for. After an error every
// later call returns it, and the caller should Close.
func (h *HTTPDirect) Poll(r *HTTPResponse) (bool, error) {
	if h.rerr != nil {
		return false, h.rerr
	}
	if h.closed.Load() {
		return false, ErrClosed
	}
	if _, err := h.push(); err != nil {
		return false, err
	}
	for {
		ok, err := h.parse(r)
		if ok || err != nil {
			return ok, err
		}
		if h.r == h.w {
			h.r, h.w = 0, 0
		} else if len(h.in)-h.w < HTTPHeaderBytesMax+HTTPBodyBytesMax {
			h.w = copy(h.in, h.in[h.r:h.w])
			h.r = 0
		}
		m, err := h.pc.TryRead(h.in[h.w:])
		if err != nil {
			return false, h.fail(err)
		}
		if m == 0 {
			return false, nil
		}
		h.w += m
	}
}

// parse takes one whole response off in[r:w] if it is there.
func (h *HTTPDirect) parse(r *HTTPResponse) (bool, error) {
	n, status, body, err := h.p.next(h.in[h.r:h.w])
	if err != nil {
		return false, h.fail(err)
	}
	if n == 0 {
		return false, nil
	}
	if h.inflight == 0 {
		return false, h.fail(fmt.Errorf("%w: http response to no request", ErrProtocol))
	}
	h.inflight--
	r.Status, r.Body = status, body
	h.r += n
	return true, nil
}

// httpParser reads HTTP/1.1 responses out of a byte stream, with
// fasthttp's header parser.
type httpParser struct {
	hdr    fasthttp.ResponseHeader
	src    bytes.Reader
	srcBuf *bufio.Reader
}

func newHTTPParser() *httpParser {
	p := &httpParser{}
	p.srcBuf = bufio.NewReaderSize(&p.src, HTTPHeaderBytesMax)
	return p
}

// next parses the response at the start of buf: n is its length in bytes
// (0: buf does not hold a whole one yet), body a sub-slice of buf. An error
// (ErrProtocol) is a response HTTPDirect cannot read.
func (p *httpParser) next(buf []byte) (n, status int, body []byte, err error) {
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(buf) > HTTPHeaderBytesMax {
			return 0, 0, nil, fmt.Errorf("%w: http response header over %d bytes", ErrProtocol, HTTPHeaderBytesMax)
		}
		return 0, 0, nil, nil
	}
	hdrLen := end + 4
	if hdrLen > HTTPHeaderBytesMax {
		return 0, 0, nil, fmt.Errorf("%w: http response header over %d bytes", ErrProtocol, HTTPHeaderBytesMax)
	}
	p.src.Reset(buf[:hdrLen])
	p.srcBuf.Reset(&p.src)
	if err := p.hdr.Read(p.srcBuf); err != nil {
		return 0, 0, nil, fmt.Errorf("%w: http response header: %w", ErrProtocol, err)
	}
	cl, st := p.hdr.ContentLength(), p.hdr.StatusCode()
	switch {
	case st < 100 || st > 999:
		return 0, 0, nil, fmt.Errorf("%w: http status %d", ErrProtocol, st)
	case cl < 0:
		return 0, 0, nil, fmt.Errorf("%w: http response without a Content-Length", ErrProtocol)
	case cl > HTTPBodyBytesMax:
		return 0, 0, nil, fmt.Errorf("%w: http response body of %d bytes over %d", ErrProtocol, cl, HTTPBodyBytesMax)
	case hdrLen+cl > len(buf):
		return 0, 0, nil, nil // the body is still on its way
	}
	return hdrLen + cl, st, buf[hdrLen : hdrLen+cl], nil
}

// fail records err as the session's end and returns it.
func (h *HTTPDirect) fail(err error) error {
	if h.closed.Load() || errors.Is(err, net.ErrClosed) {
		err = ErrClosed
	}
	if h.rerr == nil {
		h.rerr = err
	}
	return h.rerr
}

// Close closes the connection. It is safe to call more than once and from
// any goroutine.
func (h *HTTPDirect) Close() error {
	if h.closed.Swap(true) {
		return nil
	}
	return h.pc.Close()
}
