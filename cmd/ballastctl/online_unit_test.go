package main

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseUnits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"100", 1000000, true}, {"100.5", 1005000, true}, {"0.0001", 1, true},
		{"-2.5", -25000, true}, {"+3", 30000, true}, {".5", 5000, true}, {"5.", 50000, true},
		{"1234567.8901", 12345678901, true}, {"-0.0001", -1, true}, {"000012.3400", 123400, true},
		{"922337203685477.5807", math.MaxInt64, true}, {"-922337203685477.5808", math.MinInt64, true},
		{"922337203685477.5808", 0, false}, {"-922337203685477.5809", 0, false}, {"99999999999999999999", 0, false},
		{"", 0, false}, {".", 0, false}, {"-", 0, false}, {"+", 0, false}, {"1.23456", 0, false}, {"1e3", 0, false},
		{"1,000", 0, false}, {" 1", 0, false}, {"1.2.3", 0, false}, {"--1", 0, false}, {"0x10", 0, false},
		{"١٢", 0, false}, {strings.Repeat("0", 41), 0, false},
	} {
		got, err := parseUnits(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseUnits(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestFormatUnits(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{
		{0, "0.0000"}, {1, "0.0001"}, {-1, "-0.0001"}, {12345600, "1,234.5600"}, {13000000, "1,300.0000"},
		{1000000 * 10000, "1,000,000.0000"}, {-123456789, "-12,345.6789"}, {9999, "0.9999"}, {10000, "1.0000"},
		{math.MaxInt64, "922,337,203,685,477.5807"}, {math.MinInt64, "-922,337,203,685,477.5808"},
	} {
		if got := formatUnits(tc.in); got != tc.want {
			t.Errorf("formatUnits(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {-50, "-50"}, {-1234567, "-1,234,567"}, {math.MinInt64, "-9,223,372,036,854,775,808"}} {
		if got := formatQty(tc.in); got != tc.want {
			t.Errorf("formatQty(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzParseUnits: a parsed amount formats back to the same value, and
// formatting then parsing (without separators) is the identity.
func FuzzParseUnits(f *testing.F) {
	for _, s := range []string{"0", "100.5", "-2.5", ".0001", "922337203685477.5807", "-922337203685477.5808", "1e3", "1.23456", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseUnits(s)
		if err != nil {
			return
		}
		back, err := parseUnits(strings.ReplaceAll(formatUnits(v), ",", ""))
		if err != nil || back != v {
			t.Fatalf("%q → %d → %q → %d, %v", s, v, formatUnits(v), back, err)
		}
	})
}

func TestReasonNames(t *testing.T) {
	for text, name := range map[string]string{"insufficient margin": "INSUFFICIENT_MARGIN", "none": "NONE",
		"attestation expired": "ATTESTATION_EXPIRED", "not authorised": "NOT_AUTHORISED"} {
		if reasonName(text) != name {
			t.Errorf("reasonName(%q) = %q", text, reasonName(text))
		}
	}
}

// --- server-sent events ---

func readAllEvents(t testing.TB, in string) ([]sseEvent, int, error) {
	t.Helper()
	r := newSSEReader(strings.NewReader(in))
	var evs []sseEvent
	for {
		ev, err := r.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return evs, r.comments, err
		}
		evs = append(evs, ev)
	}
}

func TestSSEReader(t *testing.T) {
	in := ": connected\nretry: 2000\n\n" +
		"id: 41\nevent: margin\ndata: {\"a\":1}\n\n" +
		": heartbeat\n\n" +
		"data:no space\r\ndata:  two spaces\r\n\r\n" + // CRLF; one leading space removed
		"event: x\rdata\r\r" + // CR only; a field with no colon has an empty value
		"id: 7\n\n" + // no data: not dispatched, but the id sticks
		"data: last\n\n" +
		"data: incomplete\n" // no blank line: dropped at EOF
	evs, comments, err := readAllEvents(t, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []sseEvent{
		{ID: "41", Event: "margin", Data: []byte(`{"a":1}`)},
		{ID: "41", Event: "message", Data: []byte("no space\n two spaces")},
		{ID: "41", Event: "x", Data: []byte("")},
		{ID: "7", Event: "message", Data: []byte("last")},
	}
	if len(evs) != len(want) || comments != 2 {
		t.Fatalf("%d events %q, %d comments", len(evs), evs, comments)
	}
	for i := range want {
		if evs[i].ID != want[i].ID || evs[i].Event != want[i].Event || string(evs[i].Data) != string(want[i].Data) {
			t.Errorf("event %d: %q, want %q", i, evs[i], want[i])
		}
	}
}

func TestSSEReaderBounds(t *testing.T) {
	if _, _, err := readAllEvents(t, "data: "+strings.Repeat("x", sseLineBytesMax)+"\n\n"); !errors.Is(err, errSSELineTooLong) {
		t.Errorf("long line: %v", err)
	}
	line := "data: " + strings.Repeat("x", sseLineBytesMax-10) + "\n"
	if _, _, err := readAllEvents(t, strings.Repeat(line, sseEventBytesMax/(sseLineBytesMax-10)+1)+"\n"); !errors.Is(err, errSSEEventTooLarge) {
		t.Errorf("large event: %v", err)
	}
	if _, err := readBounded(strings.NewReader("12345"), 4); !errors.Is(err, errResponseTooLarge) {
		t.Errorf("readBounded: %v", err)
	}
	if b, err := readBounded(strings.NewReader("1234"), 4); err != nil || string(b) != "1234" {
		t.Errorf("readBounded: %q %v", b, err)
	}
}

// FuzzSSEReader: the reader never fails on any input except by its bounds,
// and events it returns hold no line terminators in the id or event.
func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{": connected\nretry: 2000\n\nid: 1\nevent: margin\ndata: {}\n\n", "data:a\r\ndata:b\r\n\r\n",
		"event: x\rdata\r\r", "id\n\n", "data: x", ":\n\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		evs, _, err := readAllEvents(t, s)
		if err != nil && !errors.Is(err, errSSELineTooLong) && !errors.Is(err, errSSEEventTooLarge) {
			t.Fatalf("error %v", err)
		}
		for _, ev := range evs {
			if strings.ContainsAny(ev.ID+ev.Event, "\r\n") || strings.ContainsAny(string(ev.Data), "\r") {
				t.Fatalf("terminator inside %q", ev)
			}
			if len(ev.Data) > sseEventBytesMax {
				t.Fatalf("event of %d bytes", len(ev.Data))
			}
		}
	})
}

// TestStreamIdle: a stream that goes silent (no heartbeat) ends with
// errStreamIdle.
func TestStreamIdle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	release := make(chan struct{})
	defer close(release)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Read(make([]byte, 4096))
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n: connected\n\n"))
		<-release
	}()
	base, _ := url.Parse("http://" + ln.Addr().String())
	h := newHTTPClient(&conn{token: "t", timeout: time.Second, base: base})
	h.idle = 100 * time.Millisecond
	opened := false
	err = h.stream(context.Background(), "/v1/stream", func(sseEvent) bool { return true }, func() { opened = true })
	if !errors.Is(err, errStreamIdle) || !opened {
		t.Fatalf("opened %v, err %v", opened, err)
	}
}

// TestHTTPErrorBodies: JSON error bodies give their message, others a
// bounded quote; redirects are reported, not followed.
func TestHTTPErrorBodies(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/json", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(422)
		_, _ = io.WriteString(w, `{"error":"attestation rejected: replay","reason":"replay"}`)
	})
	mux.HandleFunc("/v1/text", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(502)
		_, _ = io.WriteString(w, "<html>"+strings.Repeat("x", 1000))
	})
	mux.HandleFunc("/v1/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusFound)
	})
	mux.HandleFunc("/v1/big", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"x":"`+strings.Repeat("y", responseBytesMax)+`"}`)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base, _ := url.Parse("http://" + ln.Addr().String())
	h := newHTTPClient(&conn{token: "t", timeout: 5 * time.Second, base: base})
	defer h.close()
	var out map[string]any
	var he *httpError
	err = h.do(context.Background(), "GET", "/v1/json", nil, &out)
	if !errors.As(err, &he) || he.Status != 422 || he.Reason != "replay" || he.Message != "attestation rejected: replay" {
		t.Errorf("json: %v", err)
	}
	err = h.do(context.Background(), "GET", "/v1/text", nil, &out)
	if !errors.As(err, &he) || he.Status != 502 || len(he.Message) > errorBodyBytesShown+10 || !strings.HasPrefix(he.Message, `"<html>x`) {
		t.Errorf("text: %v", err)
	}
	err = h.do(context.Background(), "GET", "/v1/redirect", nil, &out)
	if !errors.As(err, &he) || he.Status != 302 {
		t.Errorf("redirect: %v", err)
	}
	if err = h.do(context.Background(), "GET", "/v1/big", nil, &out); !errors.Is(err, errResponseTooLarge) {
		t.Errorf("big: %v", err)
	}
}

// --- benchmarks (the per-event paths of watch) ---

func BenchmarkSSEReader(b *testing.B) {
	ev := "id: 41\nevent: margin\ndata: {\"account\":1001,\"firm\":\"acme\",\"from\":\"HEALTHY\",\"state\":\"MARGIN_CALL\",\"epoch\":12,\"equity\":208000000,\"initial_margin\":215000000,\"maintenance_margin\":161250000}\n\n"
	const perRead = 64
	in := strings.Repeat(ev, perRead)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	r := newSSEReader(strings.NewReader(""))
	src := strings.NewReader(in)
	for i := 0; i < b.N; i++ {
		src.Reset(in)
		r.br.Reset(src)
		for j := 0; j < perRead; j++ {
			if _, err := r.next(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)*perRead/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkFormatNotice(b *testing.B) {
	n := noticeOut{ReceivedAt: "2026-11-21T22:00:01.123456789Z", Account: 1001, Firm: "acme", From: "HEALTHY",
		State: "MARGIN_CALL", Epoch: 12, Equity: 208000000, InitialMargin: 215000000, MaintenanceMargin: 161250000}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if len(formatNotice(&n)) == 0 {
			b.Fatal("empty")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notices/s")
}

func BenchmarkAppendUnits(b *testing.B) {
	buf := make([]byte, 0, 32)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = appendUnits(buf[:0], int64(i)*7919-1<<40)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "amounts/s")
}

func TestAppendUnitsNoAlloc(t *testing.T) {
	buf := make([]byte, 0, 32)
	if n := testing.AllocsPerRun(100, func() { buf = appendUnits(buf[:0], -123456789) }); n != 0 {
		t.Errorf("appendUnits: %v allocs", n)
	}
	r := newSSEReader(strings.NewReader(""))
	src := strings.NewReader("")
	ev := "id: 1\nevent: margin\ndata: {}\n\n"
	// Warm the reader's buffers, then an event costs only its Data copy
	// and the id string.
	src.Reset(ev)
	r.br.Reset(src)
	_, _ = r.next()
	if n := testing.AllocsPerRun(100, func() {
		src.Reset(ev)
		r.br.Reset(src)
		if _, err := r.next(); err != nil {
			t.Fatal(err)
		}
	}); n > 2 {
		t.Errorf("sse event: %v allocs", n)
	}
}
