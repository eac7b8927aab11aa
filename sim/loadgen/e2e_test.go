package loadgen

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
	"github.com/ballast-risk/ballast/sim/loadgen/loadgentest"
)

// checkClean fails unless every request was answered, correctly, without
// error.
func checkClean(t *testing.T, res Result) {
	t.Helper()
	if res.Sent == 0 || res.Sent != res.Received || res.Lost != 0 || res.Mismatches != 0 || res.Errors != 0 || res.Aborted != "" {
		t.Fatalf("sent %d received %d lost %d mismatches %d errors %d (%v) aborted %q",
			res.Sent, res.Received, res.Lost, res.Mismatches, res.Errors, res.ErrorCodes, res.Aborted)
	}
	if res.Latency.Count == 0 || uint64(res.Latency.Count) != res.MeasuredSent {
		t.Fatalf("latency samples %d, measured sent %d", res.Latency.Count, res.MeasuredSent)
	}
}

// dialServers opens a TCP session to s, closed at the end of the test,
// and returns it with a context of 2 s for its calls.
func dialServers(t *testing.T, s *loadgentest.Servers) (context.Context, *client.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	c, err := client.Dial(ctx, s.TCPAddr, loadgentest.Token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return ctx, c
}

// checkBooked fails unless a repeat of execId is refused as a duplicate
// (so the fill that carried it was booked).
func checkBooked(t *testing.T, s *loadgentest.Servers, execID uint64) {
	t.Helper()
	ctx, c := dialServers(t, s)
	err := c.Fill(ctx, sbe.Fill{Account: 1001, Instrument: 1, Side: sbe.SideBuy, Qty: 1, Price: 1, ExecID: execID})
	var se *client.ServerError
	if !errors.As(err, &se) || se.Code != sbe.ErrorCodeDuplicateFill {
		t.Fatalf("repeat of execId %d: %v", execID, err)
	}
}

// checkResponsive fails unless the servers still answer at once.
func checkResponsive(t *testing.T, s *loadgentest.Servers) {
	t.Helper()
	ctx, c := dialServers(t, s)
	v, err := c.Check(ctx, sbe.OrderCheck{Account: 1001, Instrument: 1, Side: sbe.SideBuy, Qty: 1})
	if err != nil || v.Account != 1001 || v.Decision != sbe.DecisionAccept {
		t.Fatalf("check after load: %+v %v", v, err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.HTTPURL+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after load: %s", resp.Status)
	}
}

// TestOpenLoopTransports runs each transport open loop at a modest rate
// for about a second: nothing is dropped or mismatched, verdicts are a mix
// of accepts and rejects, and the servers stay responsive.
func TestOpenLoopTransports(t *testing.T) {
	s := loadgentest.Start(t)
	for _, tr := range []string{"tcp", "tcp-direct", "shm", "shm-direct", "http", "http-direct"} {
		t.Run(tr, func(t *testing.T) {
			res, err := Run(context.Background(), target(t, s, tr), Options{Rate: 4000, Poisson: tr != "shm", Seed: 5,
				Warmup: 200 * time.Millisecond, Duration: 800 * time.Millisecond, Conns: 2, Mix: bookMix()})
			if err != nil {
				t.Fatal(err)
			}
			checkClean(t, res)
			if res.Accepts == 0 || res.Rejects == 0 || res.Reasons["UNKNOWN_INSTRUMENT"] == 0 || res.Reasons["INSUFFICIENT_MARGIN"] == 0 {
				t.Fatalf("verdict mix %d accepts %d rejects %v", res.Accepts, res.Rejects, res.Reasons)
			}
			if res.Lag == nil || res.Transport != strings.TrimSuffix(tr, "-direct") || res.Host.NumCPU == 0 {
				t.Fatalf("result metadata %+v", res)
			}
			checkResponsive(t, s)
		})
	}
}

// TestMaxPipelined runs the closed-loop pipelined mode over TCP and shared
// memory.
func TestMaxPipelined(t *testing.T) {
	s := loadgentest.Start(t)
	for _, tr := range []string{"tcp", "shm", "shm-direct"} {
		t.Run(tr, func(t *testing.T) {
			res, err := RunMax(context.Background(), target(t, s, tr), Options{Conns: 2, InflightMax: 64,
				Warmup: 100 * time.Millisecond, Duration: 400 * time.Millisecond, Mix: bookMix(), Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			checkClean(t, res)
			if res.AchievedRate <= 0 || res.Lag != nil {
				t.Fatalf("rate %g lag %+v", res.AchievedRate, res.Lag)
			}
			checkResponsive(t, s)
		})
	}
}

// TestFills books fills with unique execIds over TCP and HTTP; every one is
// acked, and a repeat of the first is refused as a duplicate (so they were
// booked).
func TestFills(t *testing.T) {
	s := loadgentest.Start(t)
	mix, err := CrossMix(loadgentest.Accounts, loadgentest.Instruments, 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range []string{"tcp", "http"} {
		base := uint64(1+i) << 40 // disjoint execIds per run
		t.Run(tr, func(t *testing.T) {
			res, err := RunFills(context.Background(), target(t, s, tr), Options{Conns: 4, ExecIDBase: base,
				Duration: 300 * time.Millisecond, Mix: mix})
			if err != nil {
				t.Fatal(err)
			}
			res.MeasuredSent = uint64(res.Latency.Count) // no warm-up: every fill is measured
			checkClean(t, res)
			if res.ExecIDBase != base || res.AchievedRate <= 0 {
				t.Fatalf("base %d rate %g", res.ExecIDBase, res.AchievedRate)
			}
			checkBooked(t, s, base)
		})
	}
}

// TestOpenFills sends fills open loop (as a matching engine reports
// executions) over every transport: each is acked durably, timed from its
// intended send time, and a repeat of the first execId is refused.
func TestOpenFills(t *testing.T) {
	s := loadgentest.Start(t)
	mix, err := CrossMix(loadgentest.Accounts, loadgentest.Instruments, 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range []string{"tcp", "tcp-direct", "shm-direct", "http", "http-direct"} {
		base := uint64(8+i) << 40 // disjoint execIds per run
		t.Run(tr, func(t *testing.T) {
			res, err := RunOpenFills(context.Background(), target(t, s, tr), Options{Rate: 2000, Conns: 2, ExecIDBase: base,
				Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond, Mix: mix, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			checkClean(t, res)
			if res.Mode != "open-fills" || res.ExecIDBase != base || res.Lag == nil || res.Rate != 2000 {
				t.Fatalf("result %+v", res)
			}
			if res.Sent < 500 || res.Sent > 800 {
				t.Fatalf("%d fills sent in 350 ms at 2000/s", res.Sent)
			}
			checkBooked(t, s, base)
		})
	}
}

func TestDiscover(t *testing.T) {
	s := loadgentest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	accts, insts, err := Discover(ctx, s.HTTPURL, loadgentest.Token)
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != len(loadgentest.Accounts) || len(insts) != len(loadgentest.Instruments) {
		t.Fatalf("accounts %v instruments %v", accts, insts)
	}
	if _, _, err := Discover(ctx, s.HTTPURL, "wrong"); !errors.Is(err, ErrDiscover) {
		t.Fatalf("bad token: %v", err)
	}
}

func TestDialFailures(t *testing.T) {
	s := loadgentest.Start(t)
	opts := Options{Rate: 100, Duration: 100 * time.Millisecond, Mix: bookMix()}
	for name, tgt := range map[string]Target{
		"tcp token": &TCPTarget{Addr: s.TCPAddr, Token: "nope"},
		"shm dir":   &ShmTarget{Dir: t.TempDir(), Token: loadgentest.Token},
		"http url":  &HTTPTarget{URL: "ftp://x", Token: loadgentest.Token},
	} {
		if _, err := Run(context.Background(), tgt, opts); err == nil {
			t.Errorf("%s: run started", name)
		}
	}
	// A wrong HTTP token is answered 401 on every request: all errors.
	res, err := Run(context.Background(), &HTTPTarget{URL: s.HTTPURL, Token: "nope"}, opts)
	if err != nil || res.Errors != res.Sent || res.ErrorCodes["http:401"] != res.Sent || res.Latency.Count != 0 {
		t.Fatalf("bad http token: %+v %v", res, err)
	}
}

// TestOpenLoopDirectPolled: an open-loop run over direct sessions (shared
// memory, and TCP to servers that busy-poll) is polled by its sender (no
// receiver goroutines), and at 20k checks/s over two sessions every
// request is answered, correctly, and timed.
func TestOpenLoopDirectPolled(t *testing.T) {
	s := loadgentest.StartWith(t, loadgentest.Options{BusyPoll: 200 * time.Microsecond})
	for _, tr := range []string{"shm-direct", "tcp-direct"} {
		t.Run(tr, func(t *testing.T) { testOpenLoopDirectPolled(t, s, tr) })
	}
}

func testOpenLoopDirectPolled(t *testing.T, s *loadgentest.Servers, tr string) {
	tgt := target(t, s, tr)
	opts := Options{Rate: 20_000, Duration: time.Second, Conns: 2, Mix: bookMix()}
	if err := opts.fill(false, false); err != nil {
		t.Fatal(err)
	}
	r, err := start(context.Background(), tgt, opts, "open", KindCheck, true)
	if err != nil {
		t.Fatal(err)
	}
	polled := r.polled
	r.close()
	if !polled {
		t.Fatalf("%s sessions were not polled", tr)
	}
	opts.Warmup = 100 * time.Millisecond
	opts.Duration = 400 * time.Millisecond
	res, err := Run(context.Background(), tgt, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, res)
	if res.Accepts == 0 || res.Rejects == 0 || res.Lag == nil || res.Lag.P50Ns < 0 {
		t.Fatalf("verdicts %d/%d lag %+v", res.Accepts, res.Rejects, res.Lag)
	}
	checkResponsive(t, s)
}

// TestDirectClosedLoopRefused: closed-loop runs need a receiver per
// session, which a TCP or HTTP Direct session (one goroutine) cannot have.
func TestDirectClosedLoopRefused(t *testing.T) {
	s := loadgentest.Start(t)
	for _, tr := range []string{"tcp-direct", "http-direct"} {
		tgt := target(t, s, tr)
		opts := Options{Conns: 1, InflightMax: 8, Duration: 100 * time.Millisecond, Mix: bookMix()}
		if _, err := RunMax(context.Background(), tgt, opts); !errors.Is(err, ErrOptions) {
			t.Fatalf("RunMax over %s: %v, want ErrOptions", tr, err)
		}
		if _, err := RunFills(context.Background(), tgt, opts); !errors.Is(err, ErrOptions) {
			t.Fatalf("RunFills over %s: %v, want ErrOptions", tr, err)
		}
	}
}
