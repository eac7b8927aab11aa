package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/dashboard/dashboardtest"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// The live browser test's timing.
const (
	// liveCrashAt is when the scripted crash comes, on the exchange
	// session's clock (which starts with the listeners): late enough
	// for Chromium to have opened the page and its notice stream.
	liveCrashAt = 6 * time.Second
	// liveGateMax bounds how long the page's data polls are held (the
	// session runs late on a loaded machine, under the race detector).
	liveGateMax = 60 * time.Second
	// livePollDelay is each data poll's delay once the gate is open:
	// Chromium's virtual clock stands still while a fetch is pending, so
	// the stream's bytes get real time to arrive while virtual seconds
	// pass.
	livePollDelay = 40 * time.Millisecond
	// liveBudgetMs is the page's virtual time budget.
	liveBudgetMs = 6_000
	// shotBudgetMs is the screenshot's page load's virtual time budget.
	shotBudgetMs = 3_000
	// liveChecks is the number of SBE checks made before the page loads.
	liveChecks = 25
	// liveCrashEventsMin is how many margin events the crash must have
	// published before the page's clock is let go.
	liveCrashEventsMin = 10
	// noticeRowsMax is the page's notice list length (dashboard.js's
	// NOTICES_MAX).
	noticeRowsMax = 200
)

// gateProxy serves the child's HTTP API to the browser, holding the
// dashboard's data polls until the gate opens (bounded by liveGateMax), so
// that the page's virtual clock waits for the crash.
type gateProxy struct {
	srv      *http.Server
	base     string
	gate     chan struct{}
	gateOnce sync.Once
	start    time.Time

	mu  sync.Mutex
	log []string // the requests, for a failure's message (at most proxyLogMax)
}

// proxyLogMax bounds the requests a gateProxy remembers.
const proxyLogMax = 256

func (p *gateProxy) logf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.log) < proxyLogMax {
		p.log = append(p.log, fmt.Sprintf("%8.3fs ", time.Since(p.start).Seconds())+fmt.Sprintf(format, args...))
	}
}

// requests returns the requests seen, one per line.
func (p *gateProxy) requests() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

func (p *gateProxy) open() { p.gateOnce.Do(func() { close(p.gate) }) }

func newGateProxy(t *testing.T, target string) *gateProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1 // the notice stream, as it comes
	p := &gateProxy{gate: make(chan struct{}), start: time.Now()}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.logf("%s %s", r.Method, r.URL.Path)
		if r.URL.Path == "/v1/dashboard" {
			select {
			case <-p.gate:
			case <-time.After(liveGateMax):
			case <-r.Context().Done():
				p.logf("%s %s: gone while held", r.Method, r.URL.Path)
				return
			}
			time.Sleep(livePollDelay)
		}
		rp.ServeHTTP(w, r)
		p.logf("%s %s: done", r.Method, r.URL.Path)
	}), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.srv.Serve(ln) }()
	t.Cleanup(func() {
		p.open()
		p.srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("proxy: %v", err)
		}
	})
	p.base = "http://" + ln.Addr().String()
	return p
}

// metric reads one unlabelled sample from the child's /metrics.
func (c *child) metric(t *testing.T, name string) uint64 {
	t.Helper()
	code, _, body := c.get(t, "/metrics", crashToken)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\d+)$`).FindSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("/metrics: %d, no %s", code, name)
	}
	n, _ := strconv.ParseUint(string(m[1]), 10, 64)
	return n
}

// TestBrowserLiveAppliance loads the dashboard of a running ballastd (the
// demo universe, the cpu backend, the simulated exchange with a scripted
// crash) in headless Chromium and checks what the page shows: 100
// accounts, the cpu backend, the matching engines' checks in the latency
// panel, and the margin notices the crash sets off, as they arrive on the
// stream. The screenshot is kept in the test's temporary directory.
func TestBrowserLiveAppliance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ballastd and Chromium")
	}
	bin := dashboardtest.Chromium(t)
	dir := t.TempDir()
	crash := fmt.Sprintf("crash@%v:-30%%", liveCrashAt)
	// A lighter load than startChild's (a slower feed, fewer epochs), so
	// that the session keeps time beside Chromium on a small machine.
	c := startChild(t, filepath.Join(dir, "data"), "--events="+crash, "--msg-rate=2000", "--epoch-every=500ms")
	ctx, cancel := context.WithTimeout(context.Background(), liveGateMax+30*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, c.sbeAddr, crashToken, client.Options{NoticesMax: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := 0; i < liveChecks; i++ {
		if _, err := conn.Check(ctx, sbe.OrderCheck{Account: 1001 + uint64(i%100), Instrument: 1, Side: sbe.SideBuy, Qty: 1}); err != nil {
			t.Fatal(err)
		}
	}

	p := newGateProxy(t, c.httpAddr)
	shot := filepath.Join(t.TempDir(), "dashboard-live.png")
	type loaded struct {
		dom string
		err error
	}
	domc := make(chan loaded, 1)
	profile := t.TempDir()
	load, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		dom, err := dashboardtest.Load(load, bin, p.base+"/#token="+crashToken, profile,
			dashboardtest.Options{BudgetMs: liveBudgetMs, Timeout: liveGateMax + 30*time.Second})
		domc <- loaded{dom, err}
	}()
	// A test that stops early stops Chromium before its profile goes.
	t.Cleanup(func() {
		stop()
		<-done
	})
	start := time.Now()
	// The page is open and its stream connected before the crash: it
	// sees the crash's notices arrive.
	deadline := time.Now().Add(liveGateMax)
	for c.metric(t, "ballast_http_stream_clients") != 1 {
		if time.Now().After(deadline) {
			p.open()
			t.Fatalf("the page's notice stream did not connect")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Events published to the stream from here on reach the page.
	eventsOpen := c.metric(t, "ballast_http_stream_events_total")
	if strings.Contains(c.logText(), crash) {
		p.open()
		t.Fatalf("the crash came before the page was open (a slow start): its notices cannot be told from the page's")
	}
	c.waitLog(t, time.Until(deadline), `"msg":"market event"`, `crash`, `"phase":"start"`)
	eventsCrash := c.metric(t, "ballast_http_stream_events_total")
	// Hold the page until the crash's notices are on their way to it.
	for c.metric(t, "ballast_http_stream_events_total") < eventsCrash+liveCrashEventsMin {
		if time.Now().After(deadline) {
			p.open()
			t.Fatalf("fewer than %d margin events on the stream after the crash; log:\n%s", liveCrashEventsMin, c.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.open()
	opened := time.Since(start)
	ld := <-domc
	if ld.err != nil {
		t.Fatalf("%v\nrequests:\n%s", ld.err, p.requests())
	}
	dom := ld.dom

	for id, want := range map[string]string{
		"count-total": "100", "accel": "accelerator: cpu", "conn-data": "data: live", "conn-stream": "notices: live",
		"lat-sbe-count": fmt.Sprint(liveChecks),
	} {
		if got := dashboardtest.Text(t, dom, id); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	rows := dashboardtest.Notices(dom)
	count, err := strconv.Atoi(dashboardtest.Text(t, dom, "h-notices-count"))
	if err != nil || len(rows) != min(count, noticeRowsMax) {
		t.Fatalf("notice count %d (%v), %d rows", count, err, len(rows))
	}
	// Those the page received after the crash: all it received but those
	// published between the stream's opening and the crash.
	if afterCrash := count - int(eventsCrash-eventsOpen); afterCrash < 1 {
		t.Fatalf("%d notices on the page, %d published before the crash: none of the crash's; log:\n%s",
			count, eventsCrash-eventsOpen, c.logText())
	}
	liquidations := 0
	for _, r := range rows {
		if r.State == "LIQUIDATE" {
			liquidations++
		}
	}
	if liquidations == 0 {
		t.Errorf("no LIQUIDATE notice row after the crash: %v", rows)
	}
	// Each row is a notice the matching engines were sent too.
	seen := map[dashboardtest.Notice]bool{}
	missing := func() []dashboardtest.Notice {
		for {
			select {
			case n := <-conn.Notices():
				seen[dashboardtest.Notice{Account: fmt.Sprint(n.Account), State: n.State.String()}] = true
				continue
			default:
			}
			break
		}
		var out []dashboardtest.Notice
		for _, r := range rows {
			if !seen[r] {
				out = append(out, r)
			}
		}
		return out
	}
	for deadline := time.Now().Add(5 * time.Second); len(missing()) > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if m := missing(); len(m) > 0 {
		t.Errorf("notice rows not sent over SBE: %v", m)
	}
	// The screenshot, from a second, short page load of the appliance as
	// the crash left it (accounts, latency, epochs; the notice list
	// starts empty: notices are not replayed). Taking it in the long,
	// gated load above made Chromium hang now and then under the race
	// detector on a loaded 2-core machine.
	dashboardtest.Run(t, bin, p.base+"/#token="+crashToken, dashboardtest.Options{Shot: shot, BudgetMs: shotBudgetMs})
	dashboardtest.CheckPNG(t, shot)
	t.Logf("Chromium: page held %v, done %v; %d notices on the page (%d after the crash, %d to LIQUIDATE in the rows); screenshot: %s",
		opened.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), count, count-int(eventsCrash-eventsOpen), liquidations, shot)
}
