package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ballast-risk/ballast/feedhandler/latency"
)

const benchOrder = `{"account":1,"instrument":10,"side":"buy","qty":5,"price":1000000}`

// again re-runs the handler on the request last passed to serve.
func (d *direct) again() *fasthttp.Response {
	d.ctx.Response.Reset()
	d.s.handle(&d.ctx)
	return &d.ctx.Response
}

// TestCheckHandlerAllocs: a single-order POST /v1/check (auth, fast
// decode, check, encode, metrics) allocates nothing.
func TestCheckHandlerAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	d := newDirect(t, Config{}, newFake())
	if d.serve("POST", "/v1/check", tokAlpha, []byte(benchOrder)).StatusCode() != 200 {
		t.Fatal("check failed")
	}
	allocs := testing.AllocsPerRun(200, func() {
		if d.again().StatusCode() != 200 {
			t.Fatal("check failed")
		}
	})
	if allocs != 0 {
		t.Errorf("POST /v1/check handler: %.0f allocs/op, want 0", allocs)
	}
}

func TestAuthenticateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	d := newDirect(t, Config{}, newFake())
	d.req.Header.Set("Authorization", "Bearer "+tokBeta)
	d.ctx.Init(&d.req, directAddr, nil)
	allocs := testing.AllocsPerRun(200, func() {
		if d.s.authenticate(&d.ctx).firm != "beta" {
			t.Fatal("auth failed")
		}
	})
	if allocs != 0 {
		t.Errorf("authenticate: %.0f allocs", allocs)
	}
}

// BenchmarkCheckHandler runs the handler without a connection.
func BenchmarkCheckHandler(b *testing.B) {
	d := newDirect(b, Config{}, newFake())
	d.serve("POST", "/v1/check", tokAlpha, []byte(benchOrder))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.again()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

// benchCheckOver drives POST /v1/check over dial with conns concurrent
// keep-alive clients, recording each request's latency.
func benchCheckOver(b *testing.B, dial func() (net.Conn, error), conns int) {
	benchCheckOverBody(b, dial, conns, benchOrder)
}

// benchCheckOverBody is benchCheckOver with the order body given.
func benchCheckOverBody(b *testing.B, dial func() (net.Conn, error), conns int, order string) {
	cl := &fasthttp.HostClient{Addr: "ballast", Dial: func(string) (net.Conn, error) { return dial() },
		MaxConns: conns, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	recs := make([]*latency.Recorder, conns)
	for i := range recs {
		recs[i] = latency.NewRecorder()
	}
	var next atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(rec *latency.Recorder) {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://ballast/v1/check")
			req.Header.SetMethod("POST")
			req.Header.Set("Authorization", "Bearer "+tokAlpha)
			req.SetBodyString(order)
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				err := cl.Do(req, resp)
				rec.Record(int64(time.Since(t0)))
				if err != nil || resp.StatusCode() != 200 {
					failed.Add(1)
				}
			}
		}(recs[w])
	}
	wg.Wait()
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
	all := latency.NewRecorder()
	for _, r := range recs {
		all.Merge(r)
	}
	b.ReportMetric(float64(all.Percentile(50))/1e3, "p50-µs")
	b.ReportMetric(float64(all.Percentile(99))/1e3, "p99-µs")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func benchConns() int { return 2 * runtime.GOMAXPROCS(0) }

func BenchmarkCheckInmemory(b *testing.B) {
	h := newHarness(b, Config{}, newFake())
	b.Run("serial", func(b *testing.B) { benchCheckOver(b, h.ln.Dial, 1) })
	b.Run("parallel", func(b *testing.B) { benchCheckOver(b, h.ln.Dial, benchConns()) })
}

// BenchmarkCheckLoopbackTCP: POST /v1/check over loopback TCP, the
// server's reads parking in the network poller (park) or spinning first
// (busypoll, Config.BusyPoll).
func BenchmarkCheckLoopbackTCP(b *testing.B) {
	for _, mode := range []string{"park", "busypoll"} {
		b.Run(mode, func(b *testing.B) {
			cfg := Config{Tokens: testTokens, Logger: quietLogger()}
			if mode == "busypoll" {
				cfg.BusyPoll = time.Millisecond
			}
			dial := startLoopback(b, cfg)
			b.Run("serial", func(b *testing.B) { benchCheckOver(b, dial, 1) })
			b.Run("parallel", func(b *testing.B) { benchCheckOver(b, dial, benchConns()) })
		})
	}
}

// startLoopback serves a fake service with cfg on a loopback TCP port and
// returns a dialler.
func startLoopback(tb testing.TB, cfg Config) func() (net.Conn, error) {
	tb.Helper()
	s, err := New(cfg, newFake())
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go s.Serve(ln)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	addr := ln.Addr().String()
	return func() (net.Conn, error) { return net.Dial("tcp", addr) }
}

// TestBusyPollLoopback: with Config.BusyPoll the server answers over real
// TCP as it does without, on one keep-alive connection and on several.
func TestBusyPollLoopback(t *testing.T) {
	dial := startLoopback(t, Config{Tokens: testTokens, Logger: quietLogger(), BusyPoll: time.Millisecond, BusyPollers: 1})
	cl := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return dial() }, MaxConnsPerHost: 4}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := range 100 {
				req.Reset()
				req.SetRequestURI("http://ballast/v1/check")
				req.Header.SetMethod("POST")
				req.Header.Set("Authorization", "Bearer "+tokAdmin)
				req.SetBodyString(fmt.Sprintf(`{"account":1,"instrument":10,"side":"buy","qty":%d,"price":1000000}`, c*1000+i+1))
				if err := cl.DoTimeout(req, resp, 5*time.Second); err != nil {
					errs <- err
					return
				}
				if resp.StatusCode() != 200 {
					errs <- fmt.Errorf("status %d: %s", resp.StatusCode(), resp.Body())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestAppendCheckResultMatchesJSON: the hand encoder writes what
// encoding/json writes.
func TestAppendCheckResultMatchesJSON(t *testing.T) {
	for _, r := range []checkResult{
		{},
		{Account: 1<<64 - 1, Instrument: 1<<32 - 1, Decision: "reject", Reason: "insufficient margin", State: "MARGIN_CALL",
			Epoch: 9, Equity: -1 << 63, InitialMargin: 1<<63 - 1, MaintenanceMargin: -5, PostTradeEquity: 0, PostTradeInitialMargin: 42},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendCheckResult(nil, &r); string(got) != string(want)+"\n" {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

// BenchmarkCheckRealEngine: POST /v1/check over the in-memory listener
// against engine.Engine (the engine package's test book, 2,000 scenarios).
func BenchmarkCheckRealEngine(b *testing.B) {
	h := newEngineHarness(b, true)
	dial := h.ln.Dial
	b.Run("serial", func(b *testing.B) { benchCheckOverBody(b, dial, 1, realOrder) })
	b.Run("parallel", func(b *testing.B) { benchCheckOverBody(b, dial, benchConns(), realOrder) })
}

const realOrder = `{"account":1001,"instrument":1,"side":"buy","qty":10,"price":0}`
