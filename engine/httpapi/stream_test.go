package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/margin"
)

// sseClient is a raw GET /v1/stream connection.
type sseClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func (h *harness) openStream(t testing.TB, token string) *sseClient {
	t.Helper()
	conn, err := h.ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /v1/stream HTTP/1.1\r\nHost: ballast\r\nAuthorization: Bearer %s\r\n\r\n", token)
	c := &sseClient{conn: conn, r: bufio.NewReader(conn)}
	status, err := c.r.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("status line %q: %v", status, err)
	}
	for { // headers
		l, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}
	if got := c.next(t); got != ": connected\nretry: 2000\n\n" {
		t.Fatalf("first record %q", got)
	}
	return c
}

// next reads one SSE record (up to a blank line).
func (c *sseClient) next(t testing.TB) string {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (so far %q)", err, b.String())
		}
		l = strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r")
		if l == "" {
			if b.Len() > 0 {
				b.WriteString("\n")
				return b.String()
			}
			continue
		}
		b.WriteString(l)
		b.WriteString("\n")
	}
}

func eventData(t testing.TB, rec string) noticeBody {
	t.Helper()
	var n noticeBody
	for _, l := range strings.Split(rec, "\n") {
		if d, ok := strings.CutPrefix(l, "data: "); ok {
			if err := json.Unmarshal([]byte(d), &n); err != nil {
				t.Fatalf("data %q: %v", d, err)
			}
			if !strings.Contains(rec, "event: margin\n") || !strings.HasPrefix(rec, "id: ") {
				t.Fatalf("record %q", rec)
			}
			return n
		}
	}
	t.Fatalf("no data in %q", rec)
	return n
}

func waitClients(t testing.TB, h *harness, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.metrics.streamClients.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("stream clients %d, want %d", h.srv.metrics.streamClients.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStreamFiltering(t *testing.T) {
	h := newHarness(t, Config{HeartbeatInterval: time.Hour}, newFake())
	admin, ops := h.openStream(t, tokAdmin), h.openStream(t, tokOps)
	alpha, beta := h.openStream(t, tokAlpha), h.openStream(t, tokBeta)
	waitClients(t, h, 4)
	h.srv.Publish(
		engine.Notice{Account: 1, Firm: "alpha", From: margin.Healthy, To: margin.MarginCall, Epoch: 7, Equity: 90, IM: 100, MM: 50},
		engine.Notice{Account: 3, From: margin.MarginCall, To: margin.Liquidate, Epoch: 7, Equity: 10, IM: 100, MM: 50},
	)
	for _, c := range []*sseClient{admin, ops} {
		a, b := eventData(t, c.next(t)), eventData(t, c.next(t))
		if a.Account != 1 || a.State != "MARGIN_CALL" || a.From != "HEALTHY" || a.Equity != 900000 || b.Account != 3 || b.Firm != "beta" || b.State != "LIQUIDATE" {
			t.Errorf("all-seeing client got %+v %+v", a, b)
		}
	}
	if n := eventData(t, alpha.next(t)); n.Account != 1 {
		t.Errorf("alpha got %+v", n)
	}
	if n := eventData(t, beta.next(t)); n.Account != 3 {
		t.Errorf("beta got %+v", n)
	}
	// alpha must not have received account 3: the next thing it sees is
	// the following alpha event.
	h.srv.Publish(engine.Notice{Account: 2, Firm: "alpha", To: margin.Healthy, From: margin.MarginCall})
	if n := eventData(t, alpha.next(t)); n.Account != 2 {
		t.Errorf("alpha got %+v, want account 2", n)
	}
}

func TestStreamHeartbeat(t *testing.T) {
	h := newHarness(t, Config{HeartbeatInterval: 20 * time.Millisecond}, newFake())
	c := h.openStream(t, tokOps)
	if got := c.next(t); got != ": heartbeat\n\n" {
		t.Fatalf("%q", got)
	}
}

func TestStreamSlowClientDropped(t *testing.T) {
	h := newHarness(t, Config{HeartbeatInterval: time.Hour, StreamBufferMax: 4, WriteTimeout: 200 * time.Millisecond}, newFake())
	slow := h.openStream(t, tokAdmin)
	fast := h.openStream(t, tokOps)
	waitClients(t, h, 2)
	// The fast client reads every event; the slow one never reads, so the
	// pipe blocks its writer, its queue fills and it is dropped.
	got := make(chan struct{}, 1)
	go func() {
		for {
			_ = fast.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			l, err := fast.r.ReadString('\n')
			if err != nil {
				close(got)
				return
			}
			if l == "event: margin\n" {
				got <- struct{}{}
			}
		}
	}()
	for i := 0; h.srv.metrics.streamDropped.Load() == 0; i++ {
		if i == 100000 {
			t.Fatal("slow client never dropped")
		}
		h.srv.Publish(engine.Notice{Account: 1, Firm: "alpha", To: margin.MarginCall})
		if _, ok := <-got; !ok {
			t.Fatal("fast client's stream ended")
		}
	}
	if got := h.srv.metrics.streamDropped.Load(); got != 1 {
		t.Errorf("dropped %d, want only the slow client", got)
	}
	waitClients(t, h, 1)
	// The slow client's connection is closed once its writer gives up.
	_ = slow.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, slow.r); err != nil {
		t.Errorf("slow client: %v", err)
	}
	h.srv.Publish(engine.Notice{Account: 1, Firm: "alpha", To: margin.Healthy})
	if _, ok := <-got; !ok {
		t.Fatal("fast client's stream ended")
	}
	fast.conn.Close()
}

func TestStreamClientLimit(t *testing.T) {
	h := newHarness(t, Config{StreamClientsMax: 1, HeartbeatInterval: time.Hour}, newFake())
	h.openStream(t, tokOps)
	waitClients(t, h, 1)
	code, body := h.do(t, "GET", "/v1/stream", tokAdmin, "")
	if code != 503 {
		t.Fatalf("%d %s", code, body)
	}
}

func TestSweepLoop(t *testing.T) {
	sent := make(chan struct{}, 1)
	sent <- struct{}{}
	h := newHarness(t, Config{HeartbeatInterval: time.Hour, SweepInterval: time.Millisecond, Sweep: func() []engine.Notice {
		select {
		case <-sent:
			return []engine.Notice{{Account: 3, Firm: "beta", To: margin.Liquidate}}
		default:
			return nil
		}
	}}, newFake())
	// The first sweep may run before the client joins; it is sent again.
	c := h.openStream(t, tokBeta)
	waitClients(t, h, 1)
	sent <- struct{}{}
	if n := eventData(t, c.next(t)); n.Account != 3 || n.State != "LIQUIDATE" {
		t.Errorf("%+v", n)
	}
}

// TestStreamOutlivesWriteTimeout: the write time-out bounds each write, not
// the life of a stream.
func TestStreamOutlivesWriteTimeout(t *testing.T) {
	h := newHarness(t, Config{HeartbeatInterval: 20 * time.Millisecond, WriteTimeout: 60 * time.Millisecond}, newFake())
	c := h.openStream(t, tokOps)
	end := time.Now().Add(300 * time.Millisecond)
	n := 0
	for time.Now().Before(end) {
		if got := c.next(t); got != ": heartbeat\n\n" {
			t.Fatalf("%q", got)
		}
		n++
	}
	if n < 5 {
		t.Fatalf("%d heartbeats in 300ms", n)
	}
}

// TestShutdownEndsStreams: Shutdown closes open streams and returns.
func TestShutdownEndsStreams(t *testing.T) {
	h := newHarness(t, Config{HeartbeatInterval: time.Hour}, newFake())
	c := h.openStream(t, tokAdmin)
	waitClients(t, h, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c.r); err != nil {
		t.Fatalf("stream after shutdown: %v", err)
	}
	h.srv.Publish(engine.Notice{Account: 1}) // after shutdown: dropped, no panic
}
