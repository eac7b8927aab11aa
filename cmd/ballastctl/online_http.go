package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Bounds of what the HTTP client reads.
const (
	// responseBytesMax bounds a response body (an account status with
	// many positions is the largest answer).
	responseBytesMax = 16 << 20
	// errorBodyBytesShown bounds the part of a non-JSON error body quoted
	// in a message.
	errorBodyBytesShown = 200
	// sseLineBytesMax bounds one line of the event stream.
	sseLineBytesMax = 64 << 10
	// sseEventBytesMax bounds one event's data (all its data lines).
	sseEventBytesMax = 256 << 10
	// streamIdleMax ends a stream that sends nothing, not even the
	// server's heartbeat comment (every 15 s by default), for this long.
	streamIdleMax = 60 * time.Second
)

// httpError is a non-2xx answer of the HTTP API.
type httpError struct {
	// Status is the HTTP status code.
	Status int
	// Message is the body's "error" (or a quote of a non-JSON body).
	Message string
	// Reason is the body's "reason" (attestation refusals).
	Reason string
}

// Error implements error.
func (e *httpError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// errStreamIdle: the event stream sent nothing for streamIdleMax.
var errStreamIdle = errors.New("the event stream went silent (no heartbeat)")

// errResponseTooLarge: a body exceeded responseBytesMax.
var errResponseTooLarge = fmt.Errorf("response body exceeds %d bytes", responseBytesMax)

// httpClient talks to the HTTP API.
type httpClient struct {
	c    *conn
	hc   *http.Client
	idle time.Duration
}

func newHTTPClient(c *conn) *httpClient {
	d := &net.Dialer{Timeout: c.timeout}
	tr := &http.Transport{
		DialContext:            d.DialContext,
		TLSHandshakeTimeout:    c.timeout,
		ResponseHeaderTimeout:  c.timeout,
		MaxResponseHeaderBytes: 64 << 10,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		DisableCompression:     true,
		Proxy:                  http.ProxyFromEnvironment,
	}
	return &httpClient{c: c, idle: streamIdleMax, hc: &http.Client{Transport: tr,
		// A redirect is not part of the API: report it rather than
		// follow it with the token.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (h *httpClient) close() { h.hc.CloseIdleConnections() }

// request builds a request for path under the base URL.
func (h *httpClient) request(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	u := *h.c.base
	u.Path += path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// do sends a JSON request (body nil: none) and decodes a 2xx answer into
// out; any other status is an *httpError.
func (h *httpClient) do(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, h.c.timeout)
	defer cancel()
	var body []byte
	if in != nil {
		if raw, ok := in.(json.RawMessage); ok {
			body = raw
		} else {
			b, err := json.Marshal(in)
			if err != nil {
				return err
			}
			body = b
		}
	}
	req, err := h.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := readBounded(resp.Body, responseBytesMax)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errorOf(resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: unreadable answer: %v", method, path, err)
	}
	return nil
}

// readBounded reads all of r, refusing more than limit bytes.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errResponseTooLarge
	}
	return data, nil
}

// errorOf builds the *httpError of a non-2xx answer.
func errorOf(status int, body []byte) error {
	var eb struct {
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}
	if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
		return &httpError{Status: status, Message: eb.Error, Reason: eb.Reason}
	}
	return &httpError{Status: status, Message: quoteBody(body)}
}

// quoteBody returns a short printable quote of a body.
func quoteBody(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "(empty body)"
	}
	if len(b) > errorBodyBytesShown {
		b = b[:errorBodyBytesShown]
	}
	return strconv.Quote(strings.ToValidUTF8(string(b), "\uFFFD"))
}

// --- server-sent events ---

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	ID    string
	Event string
	Data  []byte
}

// sseReader parses a text/event-stream (WHATWG HTML, "Server-sent
// events", the event stream interpretation): lines end in CRLF, LF or CR;
// a line starting with ':' is a comment; "field: value" with one optional
// space after the colon; an empty line dispatches the event when it has
// data. Lines and events are bounded.
type sseReader struct {
	br      *bufio.Reader
	line    []byte
	data    []byte
	hasData bool
	id      string
	event   string
	// eventLast is the last event type read, reused while it repeats.
	eventLast string
	lastCR    bool
	// Comments counts comment lines (heartbeats), for tests.
	comments int
}

// errSSELineTooLong and errSSEEventTooLarge report stream bounds.
var (
	errSSELineTooLong   = fmt.Errorf("event stream line exceeds %d bytes", sseLineBytesMax)
	errSSEEventTooLarge = fmt.Errorf("event stream event exceeds %d bytes", sseEventBytesMax)
)

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{br: bufio.NewReaderSize(r, 4096)}
}

// readLine returns the next line without its terminator; io.EOF when the
// stream ends (an unterminated last line is dropped, as the spec says an
// incomplete event is).
func (s *sseReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		c, err := s.br.ReadByte()
		if err != nil {
			return nil, err
		}
		if s.lastCR {
			s.lastCR = false
			if c == '\n' {
				continue // the LF of a CRLF
			}
		}
		switch c {
		case '\r':
			s.lastCR = true
			return s.line, nil
		case '\n':
			return s.line, nil
		}
		if len(s.line) >= sseLineBytesMax {
			return nil, errSSELineTooLong
		}
		s.line = append(s.line, c)
	}
}

// next returns the next event; io.EOF at the end of the stream.
func (s *sseReader) next() (sseEvent, error) {
	for {
		line, err := s.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if !s.hasData {
				s.event = ""
				continue
			}
			ev := sseEvent{ID: s.id, Event: s.event, Data: append([]byte(nil), s.data...)}
			if ev.Event == "" {
				ev.Event = "message"
			}
			s.data, s.hasData, s.event = s.data[:0], false, ""
			return ev, nil
		}
		if line[0] == ':' {
			s.comments++
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if len(s.data)+len(value)+1 > sseEventBytesMax {
				return sseEvent{}, errSSEEventTooLarge
			}
			if s.hasData {
				s.data = append(s.data, '\n')
			}
			s.data, s.hasData = append(s.data, value...), true
		case "event":
			if string(value) != s.eventLast { // no allocation when the type repeats
				s.eventLast = validString(value)
			}
			s.event = s.eventLast
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				s.id = validString(value)
			}
		case "retry":
			// Reconnection delay: this client does not reconnect.
		}
	}
}

// validString converts b to a string, replacing invalid UTF-8.
func validString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// stream opens GET path as an event stream and calls emit for each event
// until emit returns false, ctx ends (nil error) or the stream fails;
// opened is called once the server has accepted the stream.
func (h *httpClient) stream(parent context.Context, path string, emit func(sseEvent) bool, opened func()) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var idled atomic.Bool
	// The idle watchdog: armed while connecting (beyond --timeout the
	// transport gives up first) and re-armed by every byte read.
	idle := time.AfterFunc(h.idle, func() { idled.Store(true); cancel() })
	defer idle.Stop()
	req, err := h.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := h.hc.Do(req)
	if err != nil {
		if parent.Err() != nil {
			return nil
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, err := readBounded(resp.Body, responseBytesMax)
		if err != nil {
			return err
		}
		return errorOf(resp.StatusCode, data)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("GET %s: content type %q, want text/event-stream", path, ct)
	}
	if opened != nil {
		opened()
	}
	r := newSSEReader(readFunc(func(p []byte) (int, error) {
		n, err := resp.Body.Read(p)
		if n > 0 {
			idle.Reset(h.idle)
		}
		return n, err
	}))
	for {
		ev, err := r.next()
		if err != nil {
			switch {
			case idled.Load():
				return errStreamIdle
			case parent.Err() != nil:
				return nil
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				return errors.New("the server ended the event stream")
			}
			return err
		}
		if !emit(ev) {
			return nil
		}
	}
}

// readFunc adapts a function to io.Reader.
type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }
