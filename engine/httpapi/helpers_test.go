package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/margin"
	"github.com/ballast-risk/ballast/engine/sbe"
)

// Test tokens.
const (
	tokAdmin = "admin-token-0123456789"
	tokOps   = "ops-token-0123456789"
	tokAlpha = "alpha-token-0123456789"
	tokBeta  = "beta-token-0123456789"
)

var testTokens = map[string]string{tokAdmin: "admin", tokOps: "ops", tokAlpha: "firm:alpha", tokBeta: "firm:beta"}

// fakeService: accounts 1, 2 (alpha) and 3 (beta); checks accept qty <= 100.
type fakeService struct {
	mu         sync.Mutex
	fills      map[uint64]sbe.Fill
	collateral map[uint64]float64
	hasEpoch   atomic.Bool
	checks     atomic.Int64
}

func newFake() *fakeService {
	f := &fakeService{fills: map[uint64]sbe.Fill{}, collateral: map[uint64]float64{}}
	f.hasEpoch.Store(true)
	return f
}

var fakeFirms = map[uint64]string{1: "alpha", 2: "alpha", 3: "beta"}

func (f *fakeService) Accounts() []engine.AccountInfo {
	return []engine.AccountInfo{{ID: 1, Firm: "alpha"}, {ID: 2, Firm: "alpha"}, {ID: 3, Firm: "beta"}}
}

func (f *fakeService) FirmOf(a uint64) (string, bool) { s, ok := fakeFirms[a]; return s, ok }

func (f *fakeService) Check(o engine.Order) engine.Verdict {
	f.checks.Add(1)
	v := engine.Verdict{Epoch: 7, Equity: 1000, IM: 100, MM: 50, PostEquity: 1000, PostIM: 100 + float64(o.Qty)}
	switch {
	case fakeFirms[o.Account] == "":
		v.Reason = margin.ReasonUnknownAccount
	case o.Firm != "" && fakeFirms[o.Account] != o.Firm:
		v.Reason = margin.ReasonNotAuthorised
	case o.Qty > 100:
		v.Reason = margin.ReasonInsufficientMargin
	default:
		v.Accept = true
	}
	return v
}

func (f *fakeService) Status(a uint64) (engine.Status, error) {
	firm, ok := fakeFirms[a]
	if !ok {
		return engine.Status{}, fmt.Errorf("%w: %d", engine.ErrUnknownAccount, a)
	}
	f.mu.Lock()
	cash := f.collateral[a]
	f.mu.Unlock()
	st := engine.Status{Account: a, Firm: firm, State: margin.MarginCall, Epoch: 7, Equity: 12.5,
		HealthFactor: 1.25, Positions: []engine.PositionStatus{{Instrument: 10, Qty: 3, Price: 1.5, Mark: 2}}}
	st.Collateral[account.Cash] = cash
	st.Requirement.IM, st.Requirement.MM = 20, 10
	return st, nil
}

func (f *fakeService) Fill(ctx context.Context, fl *sbe.Fill) sbe.ErrorCode {
	if _, ok := fakeFirms[fl.Account]; !ok {
		return sbe.ErrorCodeUnknownAccount
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.fills[fl.ExecID]; dup {
		return sbe.ErrorCodeDuplicateFill
	}
	f.fills[fl.ExecID] = *fl
	return sbe.ErrorCodeNone
}

func (f *fakeService) SetCollateral(_ context.Context, a uint64, tier account.Tier, amount float64) error {
	if _, ok := fakeFirms[a]; !ok {
		return fmt.Errorf("%w: %d", engine.ErrUnknownAccount, a)
	}
	if amount < -1e14 || amount > 1e14 {
		return fmt.Errorf("%w: amount", account.ErrInvalid)
	}
	f.mu.Lock()
	f.collateral[a] = amount
	f.mu.Unlock()
	return nil
}

func (f *fakeService) Attest(_ context.Context, s attest.Signed) (attest.Statement, error) {
	if s.Attestor != "custodian-a" {
		return attest.Statement{}, &attest.Rejection{Reason: attest.UnknownAttestor, Detail: s.Attestor}
	}
	return s.Statement, nil
}

func (f *fakeService) Instruments() []InstrumentInfo {
	return []InstrumentInfo{
		{ID: 10, Symbol: "ACME", Kind: "spot", Underlying: "ACME", Multiplier: 1},
		{ID: 11, Symbol: "ACME-C-100", Kind: "call", Model: "bs", Underlying: "ACME", Strike: 100,
			Expiry: time.Date(2027, 3, 19, 21, 0, 0, 0, time.UTC), Multiplier: 100},
	}
}

func (f *fakeService) LatestEpoch() (EpochInfo, bool) {
	if !f.hasEpoch.Load() {
		return EpochInfo{}, false
	}
	return EpochInfo{ID: 7, Seed: 42, Backend: "cpu", Scenarios: 4000, Duration: time.Millisecond}, true
}

// harness is a Server on an in-memory listener with a client.
type harness struct {
	srv *Server
	ln  *fasthttputil.InmemoryListener
	cl  *fasthttp.Client
}

func newHarness(t testing.TB, cfg Config, svc Service) *harness {
	t.Helper()
	if cfg.Tokens == nil {
		cfg.Tokens = testTokens
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	s, err := New(cfg, svc)
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	h := &harness{srv: s, ln: ln, cl: &fasthttp.Client{
		Dial:                func(string) (net.Conn, error) { return ln.Dial() },
		MaxResponseBodySize: 1 << 22,
	}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return h
}

// do sends a request and returns the status and body.
func (h *harness) do(t testing.TB, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://ballast" + path)
	req.Header.SetMethod(method)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.SetBodyString(body)
		req.Header.SetContentType("application/json")
	}
	if err := h.cl.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...)
}

// errorOf decodes an error body, failing the test when it is not one.
func errorOf(t testing.TB, body []byte) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Fatalf("not a JSON error body: %q", body)
	}
	return e.Error
}

// doHeader sends a GET with a raw Authorization header.
func (h *harness) doHeader(t testing.TB, method, path, auth string) (int, []byte) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://ballast" + path)
	req.Header.SetMethod(method)
	req.Header.Set("Authorization", auth)
	if err := h.cl.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...)
}

func quietLogger() Logger { return log.New(io.Discard, "", 0) }
