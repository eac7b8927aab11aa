package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// get fetches path from the child's HTTP API with token ("" for none).
func (c *child) get(t *testing.T, path, token string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.httpAddr+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// TestApplianceInterfaces starts ballastd as `make run` does (the demo
// universe, the simulated feed, every transport) and queries each
// interface: readiness once an epoch exists and the feed is live, a check
// over SBE/TCP and SBE/shared memory giving the same verdict, the HTTP API,
// the dashboard page and its data, and the metrics.
func TestApplianceInterfaces(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ballastd")
	}
	dir := t.TempDir()
	shm := filepath.Join(dir, "shm")
	// Busy polling on: the TCP session below goes through it.
	c := startChild(t, filepath.Join(dir, "data"), "--shm="+shm, "--token=ops=ops-secret", "--token=firm:mm-002=mm2-secret",
		"--busy-poll=2ms", "--busy-pollers=2", "--http-busy-poll=2ms")
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, body := c.get(t, "/readyz", "")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %d %s; log:\n%s", code, body, c.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tcp, err := client.Dial(ctx, c.sbeAddr, crashToken, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	mem, err := client.DialShm(ctx, shm, crashToken, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	order := sbe.OrderCheck{Account: 1001, Instrument: 1, Side: sbe.SideBuy, Qty: 10, Price: 0}
	v1, err := tcp.Check(ctx, order)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := mem.Check(ctx, order)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Epoch == 0 || v1.Decision != v2.Decision || v1.Reason != v2.Reason || v1.Account != 1001 {
		t.Errorf("verdicts: TCP %+v, shared memory %+v", v1, v2)
	}
	if st, err := tcp.Query(ctx, 1001); err != nil || st.Epoch == 0 || st.InitialMargin <= 0 {
		t.Errorf("query: %+v %v", st, err)
	}

	if code, ctype, body := c.get(t, "/", ""); code != 200 || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(string(body), "dashboard") {
		t.Errorf("GET /: %d %s", code, ctype)
	}
	code, _, body := c.get(t, "/v1/dashboard", "ops-secret")
	var dash struct {
		Accounts struct {
			Total int `json:"total"`
		} `json:"accounts"`
		SBECheckLatency *struct {
			Count  uint64   `json:"count"`
			Counts []uint64 `json:"counts"`
		} `json:"sbe_check_latency"`
		CheckLatency *struct {
			Count uint64 `json:"count"`
		} `json:"check_latency"`
		Epochs []struct {
			Backend string `json:"backend"`
		} `json:"epochs"`
		Feed *struct {
			Messages uint64 `json:"messages"`
		} `json:"feed"`
	}
	if err := json.Unmarshal(body, &dash); code != 200 || err != nil || dash.Accounts.Total != 100 || len(dash.Epochs) == 0 ||
		dash.Epochs[0].Backend != "cpu" || dash.Feed == nil || dash.Feed.Messages == 0 {
		t.Errorf("GET /v1/dashboard: %d %v %s", code, err, body)
	}
	// The dashboard's latency panel counts the matching engines' checks:
	// the two SBE checks above (TCP and shared memory), apart from the
	// HTTP what-if checks (none).
	if l := dash.SBECheckLatency; l == nil || l.Count != 2 || len(l.Counts) != len(verdict.CheckBucketsNs)+1 {
		t.Errorf("dashboard SBE check latency %+v, want 2 checks in %d buckets; body %s", l, len(verdict.CheckBucketsNs)+1, body)
	}
	if l := dash.CheckLatency; l == nil || l.Count != 0 {
		t.Errorf("dashboard HTTP check latency %+v, want 0 checks", l)
	}
	if code, _, _ := c.get(t, "/v1/dashboard", "mm2-secret"); code != 403 {
		t.Errorf("a firm read the dashboard: %d", code)
	}
	if code, _, _ := c.get(t, "/v1/accounts/1001", "mm2-secret"); code != 403 {
		t.Errorf("firm mm-002 read account 1001 of vol-001: %d", code)
	}
	code, _, body = c.get(t, "/metrics", "ops-secret")
	for _, m := range []string{"ballast_feed_packets_total", "ballast_epoch_duration_seconds_bucket{backend=\"cpu\"",
		"ballast_ring_depth", "ballast_accel_healthy{backend=\"cpu\"} 1", "ballast_sbe_verdicts_total", "ballast_sbe_check_seconds_count 2", "ballast_tick_to_verdict_seconds_count"} {
		if code != 200 || !strings.Contains(string(body), m) {
			t.Errorf("metrics lack %s (%d)", m, code)
		}
	}
	// The TCP session's reads went through the busy poller (each one
	// either found data while spinning or parked).
	// So did the HTTP requests' with --http-busy-poll.
	for _, family := range []string{"ballast_sbe_busy_poll_reads_total", "ballast_http_busy_poll_reads_total"} {
		reads := uint64(0)
		for _, outcome := range []string{"spun", "parked"} {
			m := regexp.MustCompile(`(?m)^` + family + `\{outcome="` + outcome + `"\} (\d+)$`).FindSubmatch(body)
			if m == nil {
				t.Fatalf("metrics lack %s{outcome=%q}", family, outcome)
			}
			n, _ := strconv.ParseUint(string(m[1]), 10, 64)
			reads += n
		}
		if reads == 0 {
			t.Errorf("%s: no read went through the busy poller", family)
		}
	}
	for _, line := range []string{`"msg":"verdict server listening (SBE over TCP)"`, `"msg":"HTTP API listening"`} {
		if !regexp.MustCompile(regexp.QuoteMeta(line) + `.*"busy_poll":2000000,"busy_pollers":2`).MatchString(c.logText()) {
			t.Errorf("%s does not show the busy polling; log:\n%s", line, c.logText())
		}
	}
}

// TestStartupLinesMatchREADME runs `make run`'s configuration (the demo,
// text log) briefly and checks that the universe the README and
// docs/ballastd.md quote is what the `risk engine ready` line prints, and
// that the busy polling is on the SBE listening line.
func TestStartupLinesMatchREADME(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"--data=" + filepath.Join(t.TempDir(), "data"), "--shm=", "--duration=200ms",
		"--busy-poll=500us", "--busy-pollers=3"}
	if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d; log:\n%s", code, stderr.String())
	}
	log := stderr.String()
	ready := regexp.MustCompile(`msg="risk engine ready" (universe=demo underlyings=\d+ instruments=\d+ accounts=\d+ firms=\d+) `).FindStringSubmatch(log)
	if ready == nil {
		t.Fatalf("no risk engine ready line with the universe's sizes; log:\n%s", log)
	}
	for _, doc := range []string{"../../README.md", "../../docs/ballastd.md"} {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(text, []byte("`"+ready[1]+"`")) {
			t.Errorf("%s does not quote the printed universe `%s`", doc, ready[1])
		}
	}
	if !regexp.MustCompile(`msg="verdict server listening \(SBE over TCP\)" addr=\S+ busy_poll=500µs busy_pollers=3\n`).MatchString(log) {
		t.Errorf("the SBE listening line does not show the busy polling; log:\n%s", log)
	}
}
