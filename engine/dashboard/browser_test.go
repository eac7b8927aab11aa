package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/dashboard"
	"github.com/ballast-risk/ballast/engine/dashboard/dashboardtest"
	"github.com/ballast-risk/ballast/engine/httpapi"
	"github.com/ballast-risk/ballast/engine/margin"
	"github.com/ballast-risk/ballast/engine/sbe"
)

// Browser test tokens.
const (
	tokOps   = "ops-token-browser-0123456789"
	tokAdmin = "admin-token-browser-0123456789"
	tokFirm  = "firm-token-browser-0123456789"
)

// worstRows is the worst-accounts list length the test asks for.
const worstRows = 10

// bookAccount is one account of the browser test's book.
type bookAccount struct {
	id     uint64
	firm   string
	equity float64 // currency units
	mm     float64 // maintenance margin; IM = 1.25 MM
	stale  bool
}

// book is a realistic spread of 48 accounts over four firms: a few in
// liquidation and margin call, most healthy, two with no requirement.
func book() []bookAccount {
	firms := []string{"acme", "beta", "gamma", "delta"}
	var out []bookAccount
	hfs := []float64{0.62, 0.91, 1.04, 1.12, 1.19, 1.31, 1.44, 1.7, 1.9, 2.4, 2.8, 3.5}
	for i := 0; i < 48; i++ {
		mm := 40_000 + float64(i%7)*55_000
		hf := hfs[i%len(hfs)] + float64(i/len(hfs))*0.35
		a := bookAccount{id: uint64(1001 + i*13%97 + (i/12)*1000), firm: firms[i%len(firms)], mm: mm, equity: hf * mm}
		if i == 5 || i == 29 {
			a.mm, a.equity = 0, 250_000 // cash only, no positions
		}
		if i == 0 {
			// The worst account: deep in liquidation.
			a.id, a.equity, a.mm = 4242, 96_500.25, 310_000
		}
		a.stale = i%17 == 3
		out = append(out, a)
	}
	return out
}

// The matching engines' check service times the page shows (buckets as
// verdict.CheckBucketsNs): 12,000 checks, most between 2 and 4 µs.
var (
	sbeBoundsNs = []int64{250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 1_024_000, 10_000_000}
	sbeCounts   = []uint64{0, 0, 310, 2_480, 8_120, 890, 150, 41, 7, 2, 0, 0, 0, 0, 0}
)

// fakeService serves the book to the HTTP API.
type fakeService struct {
	accts  []bookAccount
	byID   map[uint64]*bookAccount
	checks atomic.Int64
}

func newFakeService() *fakeService {
	f := &fakeService{accts: book(), byID: map[uint64]*bookAccount{}}
	for i := range f.accts {
		f.byID[f.accts[i].id] = &f.accts[i]
	}
	return f
}

func (f *fakeService) Accounts() []engine.AccountInfo {
	out := make([]engine.AccountInfo, len(f.accts))
	for i, a := range f.accts {
		out[i] = engine.AccountInfo{ID: a.id, Firm: a.firm}
	}
	return out
}

func (f *fakeService) FirmOf(id uint64) (string, bool) {
	a, ok := f.byID[id]
	if !ok {
		return "", false
	}
	return a.firm, true
}

func (f *fakeService) Check(o engine.Order) engine.Verdict {
	f.checks.Add(1)
	a, ok := f.byID[o.Account]
	if !ok {
		return engine.Verdict{Reason: margin.ReasonUnknownAccount}
	}
	im := 1.25 * a.mm
	return engine.Verdict{Accept: a.equity >= im, Epoch: 812, Equity: a.equity, IM: im, MM: a.mm,
		PostEquity: a.equity, PostIM: im + float64(o.Qty)}
}

func (f *fakeService) Status(id uint64) (engine.Status, error) {
	a, ok := f.byID[id]
	if !ok {
		return engine.Status{}, fmt.Errorf("%w: %d", engine.ErrUnknownAccount, id)
	}
	im := 1.25 * a.mm
	st := engine.Status{Account: id, Firm: a.firm, Epoch: 812, Equity: a.equity,
		State: margin.StateOf(a.equity, im, a.mm), HealthFactor: margin.HealthFactor(a.equity, a.mm), Stale: a.stale}
	st.Requirement.IM, st.Requirement.MM = im, a.mm
	return st, nil
}

func (f *fakeService) Fill(context.Context, *sbe.Fill) sbe.ErrorCode {
	return sbe.ErrorCodeUnknownAccount
}

func (f *fakeService) SetCollateral(context.Context, uint64, account.Tier, float64) error {
	return engine.ErrUnknownAccount
}

func (f *fakeService) Attest(_ context.Context, s attest.Signed) (attest.Statement, error) {
	return attest.Statement{}, &attest.Rejection{Reason: attest.UnknownAttestor, Detail: s.Attestor}
}

func (f *fakeService) Instruments() []httpapi.InstrumentInfo { return nil }

func (f *fakeService) LatestEpoch() (httpapi.EpochInfo, bool) {
	return httpapi.EpochInfo{ID: 812, Backend: "vsim", Scenarios: 20_000, Duration: 41 * time.Millisecond}, true
}

// served is an httpapi server on loopback TCP with the dashboard enabled.
type served struct {
	srv  *httpapi.Server
	base string
	svc  *fakeService
	// gate, once closed, lets dashboard polls through (see newServed).
	gate     chan struct{}
	gateOnce sync.Once
}

func (s *served) open() { s.gateOnce.Do(func() { close(s.gate) }) }

// newServed starts the server. Dashboard polls wait (up to 10 s) for the
// gate to open, then each takes pollDelay: Chromium's virtual clock stands
// still while a fetch is pending, so this keeps the page's clock from
// running out before the test has published its notices, and gives the
// stream's bytes real time to arrive while virtual seconds pass.
func newServed(t *testing.T, pollDelay time.Duration, edit func(*httpapi.Config)) *served {
	t.Helper()
	svc := newFakeService()
	tl, err := dashboard.NewEpochTimeline(dashboard.EpochsMax)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-4 * time.Minute).Truncate(time.Second)
	for i := 0; i < 48; i++ {
		backend, d := "vsim", 38*time.Millisecond+time.Duration(i%5)*3*time.Millisecond
		if i%4 == 3 || i >= 40 {
			backend, d = "cpu", 118*time.Millisecond+time.Duration(i%7)*9*time.Millisecond
		}
		tl.Record(uint64(765+i), backend, base.Add(time.Duration(i)*5*time.Second), d, 20_000)
	}
	// A clock that advances one second per poll, and feed totals growing
	// at a rate that wanders around 60k messages/s, so the feed rates and
	// sparkline look like a live session however fast the page polls.
	var (
		clockMu           sync.Mutex
		clock             = time.Now()
		packets, messages float64
		step              int
	)
	tick := func() {
		clockMu.Lock()
		defer clockMu.Unlock()
		step++
		clock = clock.Add(time.Second)
		mps := 61_000 + 14_000*math.Sin(float64(step)/4) + float64(step%3)*2_500
		messages += mps
		packets += mps / 6.4
	}
	prov, err := dashboard.NewProvider(dashboard.ProviderConfig{
		Accounts: svc, Worst: worstRows, Epochs: tl,
		Now: func() time.Time {
			clockMu.Lock()
			defer clockMu.Unlock()
			return clock
		},
		Feed: func() (dashboard.Feed, bool) {
			clockMu.Lock()
			defer clockMu.Unlock()
			return dashboard.Feed{Packets: uint64(packets), Messages: uint64(messages), GapsOpened: 3, GapsRecovered: 2,
				GapsLost: 1, RingDepth: 17, RingCapacity: 65_536, LastTickAgeNs: 1_300_000}, true
		},
		Accelerator: func() (dashboard.Accelerator, bool) {
			return dashboard.Accelerator{Backend: "vsim", Healthy: true, Detail: "Verilator model, 250 MHz"}, true
		},
		SBECheckLatency: func() ([]int64, []uint64) { return sbeBoundsNs, sbeCounts },
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &served{svc: svc, gate: make(chan struct{})}
	cfg := httpapi.Config{
		Tokens: map[string]string{tokOps: "ops", tokAdmin: "admin", tokFirm: "firm:acme"},
		Logger: log.New(io.Discard, "", 0),
		Dashboard: func() (*dashboard.Summary, error) {
			select {
			case <-s.gate:
			case <-time.After(10 * time.Second):
			}
			time.Sleep(pollDelay)
			tick()
			return prov.Summary()
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := httpapi.New(cfg, svc)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		s.open()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	s.srv, s.base = srv, "http://"+ln.Addr().String()
	return s
}

// get fetches path with token, returning the status and body.
func (s *served) get(t *testing.T, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(s.base + path)
	req.Header.SetMethod(method)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.SetBodyString(body)
	}
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...)
}

// streamClients reads the connected stream clients from /metrics.
func (s *served) streamClients(t *testing.T) string {
	_, body := s.get(t, "GET", "/metrics", tokOps, "")
	m := regexp.MustCompile(`(?m)^ballast_http_stream_clients (\d+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no stream gauge in /metrics")
	}
	return string(m[1])
}

func TestBrowserDashboard(t *testing.T) {
	bin := dashboardtest.Chromium(t)
	s := newServed(t, 40*time.Millisecond, nil)

	// Real checks through the server, so the latency histogram has data.
	const checks = 200
	for i := 0; i < checks; i++ {
		code, body := s.get(t, "POST", "/v1/check", tokAdmin,
			fmt.Sprintf(`{"account":%d,"instrument":1,"side":"buy","qty":%d,"price":0}`, s.svc.accts[i%48].id, 1+i%9))
		if code != 200 {
			t.Fatalf("check: %d %s", code, body)
		}
	}

	notices := []engine.Notice{
		{Account: 1014, Firm: "beta", From: margin.Healthy, To: margin.MarginCall, Epoch: 812, Equity: 301_250, IM: 330_000, MM: 264_000},
		{Account: 4242, Firm: "acme", From: margin.MarginCall, To: margin.Liquidate, Epoch: 812, Equity: 96_500.25, IM: 387_500, MM: 310_000},
		{Account: 2027, Firm: "gamma", From: margin.MarginCall, To: margin.Healthy, Epoch: 812, Equity: 512_000, IM: 400_000, MM: 320_000},
		{Account: 3058, Firm: "delta", From: margin.Healthy, To: margin.MarginCall, Epoch: 812, Equity: 88_100, IM: 93_750, MM: 75_000},
	}
	published := make(chan struct{})
	go func() {
		defer close(published)
		defer s.open()
		deadline := time.Now().Add(dashboardtest.DefaultTimeout)
		for time.Now().Before(deadline) {
			if s.streamClients(t) == "1" {
				for _, n := range notices {
					s.srv.Publish(n)
					time.Sleep(5 * time.Millisecond)
				}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	shot := filepath.Join(t.TempDir(), "dashboard.png")
	dom := dashboardtest.Run(t, bin, s.base+"/#token="+tokOps, dashboardtest.Options{Shot: shot, BudgetMs: 12_000})
	<-published

	// The figures the page must show, computed independently from the book.
	var healthy, call, liq, stale int
	for _, a := range s.svc.accts {
		switch margin.StateOf(a.equity, 1.25*a.mm, a.mm) {
		case margin.Healthy:
			healthy++
		case margin.MarginCall:
			call++
		default:
			liq++
		}
		if a.stale {
			stale++
		}
	}
	if liq == 0 || call == 0 {
		t.Fatalf("book has %d liquidations, %d margin calls: not a useful test", liq, call)
	}
	for id, want := range map[string]string{
		"count-total": "48", "count-healthy": fmt.Sprint(healthy), "count-margin-call": fmt.Sprint(call),
		"count-liquidate": fmt.Sprint(liq), "count-stale": fmt.Sprint(stale), "count-risk-unknown": "0",
		"lat-count": fmt.Sprint(checks), "lat-sbe-count": "12,000", "lat-sbe-p50": "2.79 µs", "feed-gaps-lost": "1", "feed-ring": "17 / 65,536",
		"conn-data": "data: live", "conn-stream": "notices: live", "accel": "accelerator: vsim",
		"h-notices-count": fmt.Sprint(len(notices)),
	} {
		if got := dashboardtest.Text(t, dom, id); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	// The worst account first, with its health factor 96,500.25 / 310,000.
	rows := regexp.MustCompile(`<tr data-account="(\d+)">`).FindAllStringSubmatch(dom, -1)
	if len(rows) != worstRows || rows[0][1] != "4242" {
		t.Errorf("worst rows %v, want %d starting with 4242", rows, worstRows)
	}
	if !strings.Contains(dom, `<td class="num">0.311</td>`) || !strings.Contains(dom, "96,500.25") {
		t.Errorf("worst account's health factor 0.311 or equity 96,500.25 not shown")
	}
	// Notices, newest first.
	lis := dashboardtest.Notices(dom)
	if len(lis) != len(notices) {
		t.Fatalf("notice rows %v, want %d", lis, len(notices))
	}
	for i, n := range notices {
		li := lis[len(lis)-1-i]
		if li.Account != fmt.Sprint(n.Account) || li.State != n.To.String() {
			t.Errorf("notice row %d = %v, want %d %s", len(lis)-1-i, li, n.Account, n.To)
		}
	}
	if !strings.Contains(dom, "Latest: epoch 812 on cpu, 20,000 scenarios") {
		t.Errorf("epoch caption missing")
	}
	if !regexp.MustCompile(`id="banner"[^>]*hidden`).MatchString(dom) {
		t.Errorf("error banner shown: %s", regexp.MustCompile(`id="banner".*?</div></div>`).FindString(dom))
	}
	if !regexp.MustCompile(`id="login"[^>]*hidden`).MatchString(dom) {
		t.Errorf("sign-in box shown with a valid token")
	}

	dashboardtest.CheckPNG(t, shot)
	if err := copyFile(shot, "/tmp/dashboard.png"); err != nil {
		t.Logf("copy to /tmp/dashboard.png: %v", err)
	}
	t.Logf("screenshot: %s (copied to /tmp/dashboard.png)", shot)
}

func TestBrowserDashboardAuthErrors(t *testing.T) {
	bin := dashboardtest.Chromium(t)
	s := newServed(t, 0, nil)
	s.open()
	dom := dashboardtest.Run(t, bin, s.base+"/#token="+tokFirm, dashboardtest.Options{BudgetMs: 3000})
	if !strings.Contains(dom, "Access denied (403)") {
		t.Errorf("no 403 error banner")
	}
	if regexp.MustCompile(`id="login"[^>]*hidden`).MatchString(dom) {
		t.Errorf("sign-in box not shown after 403")
	}
	if got := dashboardtest.Text(t, dom, "count-total"); got != "—" {
		t.Errorf("figures shown to a firm token: total %q", got)
	}
	if got := dashboardtest.Text(t, dom, "conn-data"); got != "data: signed out" {
		t.Errorf("data pill %q after 403", got)
	}

	dom = dashboardtest.Run(t, bin, s.base+"/#token=not-a-token", dashboardtest.Options{BudgetMs: 3000})
	if !strings.Contains(dom, "Not signed in (401)") {
		t.Errorf("no 401 error banner")
	}
	// No token at all: the sign-in box, and no request for data.
	dom = dashboardtest.Run(t, bin, s.base+"/", dashboardtest.Options{BudgetMs: 2000})
	if regexp.MustCompile(`id="login"[^>]*hidden`).MatchString(dom) || !strings.Contains(dom, `id="token-input"`) {
		t.Errorf("sign-in box not shown without a token")
	}
}

// TestBrowserDashboardOutages checks the page's error states when the
// summary cannot be built (503) and the stream is refused (its only slot
// taken), and that it keeps retrying.
func TestBrowserDashboardOutages(t *testing.T) {
	bin := dashboardtest.Chromium(t)
	var polls atomic.Int64
	s := newServed(t, 0, func(c *httpapi.Config) {
		c.StreamClientsMax = 1
		c.Dashboard = func() (*dashboard.Summary, error) {
			polls.Add(1)
			return nil, errors.New("engine busy")
		}
	})
	s.open()
	// Take the only stream slot.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", tokOps)
	head := make([]byte, 12)
	if _, err := io.ReadFull(conn, head); err != nil || string(head) != "HTTP/1.1 200" {
		t.Fatalf("holding stream: %q %v", head, err)
	}
	dom := dashboardtest.Run(t, bin, s.base+"/#token="+tokOps, dashboardtest.Options{BudgetMs: 5000})
	if got := dashboardtest.Text(t, dom, "conn-data"); got != "data: HTTP 503" {
		t.Errorf("data pill %q", got)
	}
	if got := dashboardtest.Text(t, dom, "conn-stream"); got != "notices: lost" {
		t.Errorf("stream pill %q", got)
	}
	for _, want := range []string{"Dashboard data unavailable (HTTP 503: dashboard summary unavailable: engine busy)",
		"Notice stream lost (HTTP 503 stream client limit reached"} {
		if !strings.Contains(dom, want) {
			t.Errorf("banner lacks %q", want)
		}
	}
	if regexp.MustCompile(`id="banner"[^>]*hidden`).MatchString(dom) {
		t.Errorf("banner hidden during an outage")
	}
	if n := polls.Load(); n < 3 {
		t.Errorf("%d polls in 5 virtual seconds: not retrying", n)
	}
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
