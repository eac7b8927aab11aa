package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"

	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
)

// volRecorder is a fake appliance API recording volatility updates.
type volRecorder struct {
	mu   sync.Mutex
	puts []string // "SYMBOL xSCALE"
	bad  []string
}

func (v *volRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sym, ok := strings.CutPrefix(r.URL.Path, "/v1/underlyings/")
	sym, ok2 := strings.CutSuffix(sym, "/vol")
	var body struct {
		ATMScale float64 `json:"atm_scale"`
	}
	err := json.NewDecoder(r.Body).Decode(&body)
	v.mu.Lock()
	defer v.mu.Unlock()
	if !ok || !ok2 || r.Method != http.MethodPut || r.Header.Get("Authorization") != "Bearer admin-secret" || err != nil {
		v.bad = append(v.bad, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		http.Error(w, `{"error":"bad"}`, http.StatusBadRequest)
		return
	}
	if sym == "MSFT" {
		http.Error(w, `{"error":"unknown underlying"}`, http.StatusNotFound)
		return
	}
	if body.ATMScale > 5 {
		http.Error(w, `{"error":"vol: invalid surface"}`, http.StatusUnprocessableEntity)
		return
	}
	v.puts = append(v.puts, fmt.Sprintf("%s x%g", sym, body.ATMScale))
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{}`)
}

// sendSink is a UDP socket that drains whatever is sent to it.
func sendSink(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	return c.LocalAddr().String()
}

type sendEventsSummary struct {
	Messages        uint64      `json:"messages"`
	Generated       uint64      `json:"generated_messages"`
	ElapsedSeconds  float64     `json:"elapsed_s"`
	Events          []firedJSON `json:"events"`
	Silences        uint64      `json:"silences"`
	SilencedSeconds float64     `json:"silenced_s"`
	VolUpdates      uint64      `json:"vol_updates"`
	VolUpdatesSkip  uint64      `json:"vol_updates_skipped"`
	VolUpdateErrors uint64      `json:"vol_update_errors"`
}

func TestSendEventsDriveAppliance(t *testing.T) {
	rec := &volRecorder{}
	api := httptest.NewServer(rec)
	defer api.Close()
	script := filepath.Join(t.TempDir(), "stress.events")
	if err := os.WriteFile(script, []byte("# stress\nvolspike@100ms:x3:200ms:AAPL\noutage@150ms:300ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd("send", "--to", sendSink(t), "--messages", "10000", "--symbols", "2",
		"--msg-rate", "20000", "--events", "@"+script, "--http", api.URL, "--token", "admin-secret")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s sendEventsSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if s.Messages != 10000 || s.Generated != 10000 {
		t.Fatalf("sent %d of %d messages", s.Messages, s.Generated)
	}
	var names []string
	for _, f := range s.Events {
		names = append(names, f.Event+map[bool]string{true: " end"}[f.End])
	}
	if got := strings.Join(names, "; "); got != "volspike@100ms:x3:200ms:AAPL; outage@150ms:300ms; volspike@100ms:x3:200ms:AAPL end" {
		t.Fatalf("events %q", got)
	}
	if s.Silences != 1 || s.SilencedSeconds != 0.3 || s.ElapsedSeconds < 0.3 {
		t.Fatalf("silences %d of %.3f s in a run of %.3f s", s.Silences, s.SilencedSeconds, s.ElapsedSeconds)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := strings.Join(rec.puts, ", "); got != "AAPL x3, AAPL x1" || len(rec.bad) > 0 || s.VolUpdates != 2 || s.VolUpdateErrors != 0 {
		t.Fatalf("appliance saw %q (bad %q); summary %d updates, %d errors", got, rec.bad, s.VolUpdates, s.VolUpdateErrors)
	}
}

func TestSendEventsUnknownAndRefused(t *testing.T) {
	rec := &volRecorder{}
	api := httptest.NewServer(rec)
	defer api.Close()
	run := func(script string) (int, sendEventsSummary, string) {
		t.Helper()
		code, out, errOut := runCmd("send", "--to", sendSink(t), "--messages", "3000", "--symbols", "2",
			"--events", script, "--http", strings.TrimPrefix(api.URL, "http://"), "--token", "admin-secret")
		var s sendEventsSummary
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return code, s, errOut
	}
	// A spike on every symbol: MSFT is not an underlying of the appliance
	// (404) and is skipped; the spike outlives the session and is undone
	// at its end.
	code, s, errOut := run("volspike@0s:x2:1h")
	if code != exitOK || s.VolUpdates != 2 || s.VolUpdatesSkip != 2 || s.VolUpdateErrors != 0 ||
		!strings.Contains(errOut, "MSFT is not an underlying") {
		t.Fatalf("exit %d, summary %+v: %s", code, s, errOut)
	}
	// A spike the appliance refuses (422) fails the run after the summary.
	code, s, errOut = run("volspike@0s:x6:1h:AAPL")
	if code != exitFail || s.VolUpdates != 1 || s.VolUpdateErrors != 1 || !strings.Contains(errOut, "AAPL x6: 422") {
		t.Fatalf("exit %d, summary %+v: %s", code, s, errOut)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := strings.Join(rec.puts, ", "); got != "AAPL x2, AAPL x1, AAPL x1" {
		t.Fatalf("appliance saw %q", got)
	}
}

func TestEventsUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pcap", "--out", "x.pcap", "--messages", "1000", "--events", "boom@1s"}, "unknown event"},
		{[]string{"pcap", "--out", "x.pcap", "--messages", "1000", "--events", "crash@1s:-5%:ZZZ"}, "not in the session"},
		{[]string{"pcap", "--out", "x.pcap", "--messages", "1000", "--events", "@/nonexistent/script"}, "--events"},
		{[]string{"send", "--to", "127.0.0.1:9", "--messages", "1000", "--http", "127.0.0.1:1"}, "--http needs --token"},
		{[]string{"send", "--to", "127.0.0.1:9", "--messages", "1000", "--token", "x"}, "--token needs --http"},
		{[]string{"send", "--to", "127.0.0.1:9", "--messages", "1000", "--http", "ftp://x", "--token", "x"}, "--http"},
	} {
		code, _, errOut := runCmd(tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want usage error with %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestPcapOutage(t *testing.T) {
	s, path := pcapRun(t, "--messages", "20000", "--rate", "20000", "--symbols", "3",
		"--events", "crash@100ms:-10%:AAPL;outage@300ms:5s")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var prev time.Time
	var gaps []time.Duration
	var seqs []uint64
	var it moldudp64.Iterator
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !prev.IsZero() && ci.Timestamp.Sub(prev) > time.Second {
			gaps = append(gaps, ci.Timestamp.Sub(prev))
		}
		prev = ci.Timestamp
		h, err := it.Reset(data[42:]) // Ethernet, IPv4, UDP
		if err != nil {
			t.Fatal(err)
		}
		if !h.IsHeartbeat() && !h.IsEndOfSession() {
			seqs = append(seqs, h.Seq)
		}
	}
	// One silent stretch of the outage's length (plus less than a packet
	// window), no heartbeat in it, and no gap in the sequence numbers.
	if len(gaps) != 1 || gaps[0] < 5*time.Second || gaps[0] > 5*time.Second+time.Millisecond || s.Heartbeats != 0 {
		t.Fatalf("silent stretches %v, %d heartbeats", gaps, s.Heartbeats)
	}
	if s.Messages != 20000 || len(s.Gaps) != 0 {
		t.Fatalf("%d messages, gaps %v", s.Messages, s.Gaps)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("sequence numbers out of order: %d after %d", seqs[i], seqs[i-1])
		}
	}
}
