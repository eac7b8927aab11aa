package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/rerequest"
	"github.com/ballast-risk/ballast/sim/udpsend"
)

// syncBuffer is a bytes.Buffer safe for the daemon's goroutines and the
// test's polling.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logLines parses JSON log lines.
func logLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, sc.Text())
		}
		lines = append(lines, m)
	}
	return lines
}

// find returns the log lines with message msg.
func find(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// num returns the number at a dotted path ("feed.gaps_lost") of a log line.
func num(t *testing.T, line map[string]any, path string) float64 {
	t.Helper()
	v := field(t, line, path)
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("%s = %v (%T), want a number", path, v, v)
	}
	return f
}

func field(t *testing.T, line map[string]any, path string) any {
	t.Helper()
	var v any = line
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: %v is not an object", path, v)
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("%s: no %q in %v", path, k, m)
		}
	}
	return v
}

func runAsync(ctx context.Context, args []string) (stdout, stderr *syncBuffer, code <-chan int) {
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	c := make(chan int, 1)
	go func() { c <- run(ctx, args, stdout, stderr) }()
	return stdout, stderr, c
}

func wait(t *testing.T, code <-chan int, limit time.Duration, stderr *syncBuffer) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(limit):
		t.Fatalf("ballastd still running after %v; log:\n%s", limit, stderr)
		return 0
	}
}

// TestDemoRecoversGaps runs the default configuration (simulated exchange
// and feed handler over loopback) with deliberate packet loss and checks the
// final summary: every message of the session arrived or was recovered,
// no gap was lost, ticks reached the consumer, and the feed handler's books
// equal both the marks table and the exchange's own reference books.
func TestDemoRecoversGaps(t *testing.T) {
	const symbols = 16
	_, stderr, code := runAsync(context.Background(), []string{"--duration=2s", "--drop-rate=0.05",
		"--stats-every=500ms", "--log-format=json", "--symbols=16", "--seed=7"})
	if c := wait(t, code, 8*time.Second, stderr); c != exitOK {
		t.Fatalf("exit %d; log:\n%s", c, stderr)
	}
	lines := logLines(t, stderr.String())

	listen := find(lines, "feed handler listening")
	if len(listen) != 1 {
		t.Fatalf("want one start-up line for the feed handler, log:\n%s", stderr)
	}
	feedAddr, _ := listen[0]["feed"].(string)
	if _, err := resolveIPv4(feedAddr); err != nil || strings.HasSuffix(feedAddr, ":0") {
		t.Errorf("feed address %q is not a bound address (%v)", feedAddr, err)
	}
	if rr := find(lines, "re-request server listening"); len(rr) != 1 || listen[0]["rerequest_server"] != rr[0]["addr"] {
		t.Errorf("re-request server: start-up lines %v, feed handler requests to %v", rr, listen[0]["rerequest_server"])
	}

	periodic := find(lines, "feed")
	if len(periodic) < 2 {
		t.Fatalf("%d statistics lines in 2 s at --stats-every=500ms, want >= 2; log:\n%s", len(periodic), stderr)
	}
	busy := periodic[0]
	if num(t, busy, "msgs_per_s") <= 0 || num(t, busy, "pkts_per_s") <= 0 || num(t, busy, "ticks") <= 0 {
		t.Errorf("first statistics line shows no traffic: %v", busy)
	}
	if num(t, busy, "lat_p50") <= 0 || num(t, busy, "lat_p99") < num(t, busy, "lat_p50") ||
		num(t, busy, "lat_max") < num(t, busy, "lat_p99") {
		t.Errorf("latency percentiles out of order: %v", busy)
	}
	if m, _ := busy["marks"].(string); !strings.HasPrefix(m, "AAPL ") {
		t.Errorf("marks %q do not start with the first symbol", m)
	}

	sums := find(lines, "summary")
	if len(sums) != 1 {
		t.Fatalf("want one summary line; log:\n%s", stderr)
	}
	s := sums[0]
	if s["reason"] != "duration" {
		t.Errorf("reason %v, want duration", s["reason"])
	}
	sent := num(t, s, "exchange.session_messages")
	if sent < 10_000 {
		t.Errorf("exchange sent %v messages in 2 s at 20,000/s", sent)
	}
	if num(t, s, "exchange.dropped_packets") == 0 {
		t.Error("--drop-rate=0.05 dropped no packet")
	}
	if got := num(t, s, "feed.messages"); got != sent {
		t.Errorf("feed handler applied %v messages, exchange sent %v", got, sent)
	}
	if num(t, s, "feed.gaps_recovered") == 0 || num(t, s, "feed.recovered_messages") != num(t, s, "exchange.dropped_messages") {
		t.Errorf("gaps recovered %v, messages recovered %v, dropped %v", num(t, s, "feed.gaps_recovered"),
			num(t, s, "feed.recovered_messages"), num(t, s, "exchange.dropped_messages"))
	}
	if num(t, s, "feed.gaps_lost") != 0 || num(t, s, "feed.lost_messages") != 0 {
		t.Errorf("gaps lost %v (%v messages)", num(t, s, "feed.gaps_lost"), num(t, s, "feed.lost_messages"))
	}
	if num(t, s, "rerequest.messages_sent") < num(t, s, "exchange.dropped_messages") {
		t.Errorf("re-request server sent %v messages for %v dropped", num(t, s, "rerequest.messages_sent"),
			num(t, s, "exchange.dropped_messages"))
	}
	if field(t, s, "feed.drained") != true || field(t, s, "feed.end_of_session") != true || field(t, s, "feed.stale") != false {
		t.Errorf("feed not drained cleanly: %v", s["feed"])
	}
	ticks := num(t, s, "ticks.count")
	if ticks == 0 || ticks != num(t, s, "ring.published") || ticks != num(t, s, "ring.consumed") {
		t.Errorf("ticks consumed %v, ring %v", ticks, s["ring"])
	}
	if num(t, s, "ticks.lat_max") < num(t, s, "ticks.lat_p50") || num(t, s, "ticks.lat_p50") <= 0 {
		t.Errorf("tick latency %v", s["ticks"])
	}
	for _, k := range []string{"books.count", "books.marks_match", "books.exchange_match"} {
		if got := num(t, s, k); got != symbols {
			t.Errorf("%s = %v, want %d", k, got, symbols)
		}
	}
}

// TestSignalStopsGracefully cancels the context as a signal would and
// checks the orderly stop: the session is closed and drained, exit 0.
func TestSignalStopsGracefully(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	_, stderr, code := runAsync(ctx, []string{"--log-format=json", "--stats-every=1h"})
	time.Sleep(300 * time.Millisecond)
	cancel(errors.New("test signal"))
	if c := wait(t, code, 5*time.Second, stderr); c != exitOK {
		t.Fatalf("exit %d; log:\n%s", c, stderr)
	}
	lines := logLines(t, stderr.String())
	sums := find(lines, "summary")
	if len(sums) != 1 || sums[0]["reason"] != "test signal" {
		t.Fatalf("summary %v, want one with reason \"test signal\"", sums)
	}
	s := sums[0]
	if num(t, s, "exchange.end_of_session") < 1 || field(t, s, "feed.end_of_session") != true ||
		field(t, s, "feed.drained") != true || num(t, s, "feed.messages") != num(t, s, "exchange.session_messages") {
		t.Errorf("session not closed and drained: %v %v", s["exchange"], s["feed"])
	}
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

// TestExternalFeed runs the feed handler alone (--demo=false) against a
// sender and re-request server driven by the test, losing chosen packets.
func TestExternalFeed(t *testing.T) {
	const session = "EXTERNAL1"
	store, err := rerequest.NewStore(rerequest.StoreConfig{Session: moldudp64.MakeSession(session)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rerequest.Listen("127.0.0.1:0", rerequest.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stopSrv := context.WithCancel(context.Background())
	srvDone := make(chan struct{})
	go func() {
		defer close(srvDone)
		_ = srv.Serve(srvCtx)
	}()
	defer func() { stopSrv(); srv.Close(); <-srvDone }()

	feed := freeUDPPort(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	_, stderr, code := runAsync(ctx, []string{"--demo=false", "--master=" + testMaster, "--accounts=" + testAccounts, "--feed=" + feed, "--rerequest=" + srv.Addr().String(),
		"--log-format=json", "--stats-every=1h", "--duration=10s"})
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(stderr.String(), "feed handler listening") {
		if time.Now().After(deadline) {
			t.Fatalf("feed handler did not start; log:\n%s", stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// A short session: 3,000 messages, packets 2, 5 and 9-11 lost (the
	// first packet arrives, so the handler joins at message 1).
	conn, err := udpsend.Dial(udpsend.DialConfig{Addr: feed})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	snd, err := udpsend.New(conn, udpsend.Config{Session: moldudp64.MakeSession(session), Store: store,
		PacketsPerSec: 2000, DropPackets: []uint64{2, 5, 9, 10, 11}})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := itchgen.New(itchgen.Config{SymbolCount: 4, Seed: 3, Messages: 3000})
	if err != nil {
		t.Fatal(err)
	}
	var m itch.Message
	if err := snd.Run(context.Background(), func(dst []byte) ([]byte, bool) {
		if !gen.Next(&m) {
			return dst, false
		}
		return m.Append(dst), true
	}); err != nil {
		t.Fatal(err)
	}
	st := snd.Stats()
	if st.DroppedPackets != 5 {
		t.Fatalf("sender dropped %d packets, want 5", st.DroppedPackets)
	}

	// Wait for the handler to apply everything, as its periodic snapshot
	// is not visible here: stop once the recovery has had ample time.
	time.Sleep(500 * time.Millisecond)
	cancel(errors.New("test stop"))
	if c := wait(t, code, 5*time.Second, stderr); c != exitOK {
		t.Fatalf("exit %d; log:\n%s", c, stderr)
	}
	lines := logLines(t, stderr.String())
	if n := len(find(lines, "re-request server listening")) + len(find(lines, "simulated exchange sending")); n != 0 {
		t.Errorf("--demo=false started the simulated exchange; log:\n%s", stderr)
	}
	sums := find(lines, "summary")
	if len(sums) != 1 {
		t.Fatalf("want one summary; log:\n%s", stderr)
	}
	s := sums[0]
	if _, ok := s["exchange"]; ok {
		t.Errorf("summary reports a simulated exchange: %v", s["exchange"])
	}
	if got := num(t, s, "feed.messages"); got != 3000 {
		t.Errorf("feed applied %v messages, want 3000", got)
	}
	// Packets 9-11 are one range; 2 and 5 one each.
	if got := num(t, s, "feed.gaps_recovered"); got != 3 {
		t.Errorf("gaps recovered %v, want 3", got)
	}
	if got := num(t, s, "feed.recovered_messages"); got != float64(st.DroppedMessages) {
		t.Errorf("recovered %v messages, dropped %d", got, st.DroppedMessages)
	}
	if num(t, s, "feed.gaps_lost") != 0 || field(t, s, "feed.end_of_session") != true {
		t.Errorf("feed %v", s["feed"])
	}
	if num(t, s, "books.count") != 4 || num(t, s, "books.marks_match") != 4 {
		t.Errorf("books %v", s["books"])
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--symbols=0"}, "--symbols"},
		{[]string{"--symbols=70000"}, "--symbols"},
		{[]string{"--msg-rate=-1"}, "--msg-rate"},
		{[]string{"--msg-rate=NaN"}, "--msg-rate"},
		{[]string{"--drop-rate=0.95"}, "--drop-rate"},
		{[]string{"--drop-rate=-0.1"}, "--drop-rate"},
		{[]string{"--stats-every=1ns"}, "--stats-every"},
		{[]string{"--duration=-1s"}, "--duration"},
		{[]string{"--log-format=xml"}, "--log-format"},
		{[]string{"--feed=nonsense"}, "--feed"},
		{[]string{"--feed=[::1]:9000"}, "--feed"},
		{[]string{"--feed=239.1.1.1:9000"}, "unicast"},
		{[]string{"--rerequest=127.0.0.1:9000"}, "--demo=false"},
		{[]string{"--demo=false", "--drop-rate=0.1"}, "--drop-rate"},
		{[]string{"--demo=false", "--rerequest=127.0.0.1:0"}, "port"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		var stdout, stderr bytes.Buffer
		if c := run(context.Background(), tc.args, &stdout, &stderr); c != exitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, c, exitUsage)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: stderr %q does not mention %q", tc.args, stderr.String(), tc.want)
		}
	}
}

func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if c := run(context.Background(), []string{"-h"}, &stdout, &stderr); c != exitOK {
		t.Fatalf("exit %d", c)
	}
	for _, f := range []string{"-demo", "-feed", "-symbols", "-msg-rate", "-drop-rate", "-seed", "-stats-every", "-duration"} {
		if !strings.Contains(stdout.String(), f) {
			t.Errorf("usage lacks %s:\n%s", f, stdout.String())
		}
	}
}

// TestFeedPortInUse checks that a start-up failure is reported, exit 1.
func TestFeedPortInUse(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--feed=" + c.LocalAddr().String(), "--duration=1s"}, &stdout, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "start-up failed") {
		t.Fatalf("exit %d, log %q; want %d and a start-up failure", code, stderr.String(), exitFail)
	}
}

func TestFormatPrice(t *testing.T) {
	for _, tc := range []struct {
		units int64
		want  string
	}{
		{0, "-"}, {-5, "-"}, {1, "0.0001"}, {100, "0.01"}, {1_871_200, "187.12"},
		{1_871_234, "187.1234"}, {10_000, "1.00"}, {2_000_050, "200.0050"},
	} {
		if got := formatPrice(tc.units); got != tc.want {
			t.Errorf("formatPrice(%d) = %q, want %q", tc.units, got, tc.want)
		}
	}
}

func TestPerSecond(t *testing.T) {
	if got := perSecond(500, int64(250*time.Millisecond)); got != 2000 {
		t.Errorf("500 in 250ms = %d/s, want 2000", got)
	}
	if got := perSecond(5, 0); got != 0 {
		t.Errorf("rate over no time = %d, want 0", got)
	}
}

func TestSymbolDir(t *testing.T) {
	d := newSymbolDir(4)
	d.set(1, itch.StockFromString("AAPL"))
	d.set(3, itch.StockFromString("ABCDEFGH"))
	d.set(9, itch.StockFromString("OUT")) // outside: ignored
	for _, tc := range []struct {
		locate uint32
		want   string
	}{{0, ""}, {1, "AAPL"}, {2, ""}, {3, "ABCDEFGH"}, {9, ""}, {1 << 20, ""}} {
		if got := d.name(tc.locate); got != tc.want {
			t.Errorf("name(%d) = %q, want %q", tc.locate, got, tc.want)
		}
	}
}
