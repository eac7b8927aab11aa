package httpapi

import (
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/ballast-risk/ballast/engine/dashboard"
)

// dashboardFake is a Summary provider that counts its calls.
type dashboardFake struct {
	calls atomic.Int64
	fail  atomic.Bool
	sum   dashboard.Summary
}

func (d *dashboardFake) summary() (*dashboard.Summary, error) {
	d.calls.Add(1)
	if d.fail.Load() {
		return nil, errors.New("accounts unavailable")
	}
	return &d.sum, nil
}

func newDashboardHarness(t *testing.T) (*harness, *dashboardFake) {
	t.Helper()
	d := &dashboardFake{sum: dashboard.Summary{Accounts: dashboard.Accounts{Total: 3,
		ByState: dashboard.StateCounts{Healthy: 1, MarginCall: 2},
		Worst:   []dashboard.AccountRow{{ID: 2, Firm: "alpha", State: "MARGIN_CALL", HealthFactor: 12_500}}},
		Epochs: []dashboard.EpochPoint{{ID: 7, Backend: "cpu", DurationNs: 1_000_000, Scenarios: 4000}}}}
	return newHarness(t, Config{Dashboard: d.summary}, newFake()), d
}

// get sends a GET and returns the whole response (released by the caller).
func (h *harness) get(t *testing.T, path, token string) *fasthttp.Response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	resp := fasthttp.AcquireResponse()
	req.SetRequestURI("http://ballast" + path)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if err := h.cl.Do(req, resp); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

func TestDashboardRouteAuth(t *testing.T) {
	h, d := newDashboardHarness(t)
	for _, tc := range []struct {
		token string
		code  int
	}{{"", 401}, {"wrong-token", 401}, {tokAlpha, 403}, {tokBeta, 403}, {tokOps, 200}, {tokAdmin, 200}} {
		code, body := h.do(t, "GET", "/v1/dashboard", tc.token, "")
		if code != tc.code {
			t.Errorf("token %q: %d %s, want %d", tc.token, code, body, tc.code)
			continue
		}
		if code != 200 {
			errorOf(t, body)
			continue
		}
		var got dashboard.Summary
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		if got.Accounts.Total != 3 || got.Accounts.ByState.MarginCall != 2 || len(got.Accounts.Worst) != 1 ||
			got.Accounts.Worst[0].ID != 2 || len(got.Epochs) != 1 {
			t.Errorf("summary %+v", got)
		}
		// The server fills in its own check latency histogram.
		if got.CheckLatency == nil || len(got.CheckLatency.Counts) != len(checkBucketsNs)+1 {
			t.Errorf("check latency not filled in: %+v", got.CheckLatency)
		}
	}
	if n := d.calls.Load(); n != 2 {
		t.Errorf("provider called %d times, want 2 (only for allowed roles)", n)
	}
	if d.sum.CheckLatency != nil {
		t.Errorf("the provider's summary was modified")
	}
	if code, _ := h.do(t, "POST", "/v1/dashboard", tokOps, "{}"); code != 405 {
		t.Errorf("POST: %d", code)
	}
	d.fail.Store(true)
	code, body := h.do(t, "GET", "/v1/dashboard", tokOps, "")
	if code != 503 || !strings.Contains(errorOf(t, body), "accounts unavailable") {
		t.Errorf("failing provider: %d %s", code, body)
	}
}

func TestDashboardCheckLatencyCounts(t *testing.T) {
	h, _ := newDashboardHarness(t)
	for i := 0; i < 5; i++ {
		if code, body := h.do(t, "POST", "/v1/check", tokAlpha,
			`{"account":1,"instrument":10,"side":"buy","qty":1,"price":0}`); code != 200 {
			t.Fatalf("check: %d %s", code, body)
		}
	}
	bounds, counts := h.srv.CheckLatency()
	if len(bounds) != len(checkBucketsNs) || len(counts) != len(bounds)+1 {
		t.Fatalf("CheckLatency: %d bounds, %d counts", len(bounds), len(counts))
	}
	var n uint64
	for _, c := range counts {
		n += c
	}
	if n != 5 {
		t.Errorf("%d checks in the histogram, want 5", n)
	}
	if _, err := dashboard.NewLatency(bounds, counts); err != nil {
		t.Errorf("NewLatency refuses CheckLatency's output: %v", err)
	}
	_, body := h.do(t, "GET", "/v1/dashboard", tokOps, "")
	var got dashboard.Summary
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.CheckLatency == nil || got.CheckLatency.Count != 5 || got.CheckLatency.P50Ns <= 0 {
		t.Errorf("summary latency %+v", got.CheckLatency)
	}
}

func TestDashboardAssetsServed(t *testing.T) {
	h, d := newDashboardHarness(t)
	for path, ct := range map[string]string{"/": "text/html; charset=utf-8",
		"/dashboard/dashboard.js": "text/javascript; charset=utf-8", "/dashboard/dashboard.css": "text/css; charset=utf-8"} {
		// No token needed, even a firm's is fine: the files hold no data.
		for _, tok := range []string{"", tokAlpha} {
			resp := h.get(t, path, tok)
			if resp.StatusCode() != 200 || string(resp.Header.ContentType()) != ct ||
				string(resp.Header.Peek("Content-Security-Policy")) != dashboard.ContentSecurityPolicy ||
				len(resp.Header.Peek("ETag")) == 0 {
				t.Errorf("GET %s (token %q): %d %q", path, tok, resp.StatusCode(), resp.Header.ContentType())
			}
			fasthttp.ReleaseResponse(resp)
		}
	}
	if d.calls.Load() != 0 {
		t.Errorf("serving assets called the summary provider")
	}
	if code, _ := h.do(t, "GET", "/dashboard/nope.js", "", ""); code != 404 {
		t.Errorf("unknown asset: %d", code)
	}
	// The routes are labelled in /metrics.
	_, body := h.do(t, "GET", "/metrics", tokOps, "")
	for _, want := range []string{`route="/",code="200"`, `route="/dashboard/*",code="200"`, `route="/dashboard/*",code="404"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestDashboardDisabled(t *testing.T) {
	h := newHarness(t, Config{}, newFake())
	for _, p := range []string{"/", "/dashboard/dashboard.js", "/v1/dashboard"} {
		code, body := h.do(t, "GET", p, tokOps, "")
		if code != 404 {
			t.Errorf("GET %s without a dashboard: %d", p, code)
		}
		errorOf(t, body)
	}
}
