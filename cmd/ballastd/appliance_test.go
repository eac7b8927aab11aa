package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
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
	c := startChild(t, filepath.Join(dir, "data"), "--shm="+shm, "--token=ops=ops-secret", "--token=firm:mm-002=mm2-secret")
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
}
