package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
	"github.com/ballast-risk/ballast/sim/loadgen/loadgentest"
)

func TestCheckJSON(t *testing.T) {
	o := Order{Account: 1001, Instrument: 7, Side: sbe.SideSell, Qty: 12, Price: 61000}
	var got map[string]any
	if err := json.Unmarshal(AppendCheckJSON(nil, &o), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"account": 1001.0, "instrument": 7.0, "side": "sell", "qty": 12.0, "price": 61000.0}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: %v, want %v", k, got[k], v)
		}
	}
	var f map[string]any
	if err := json.Unmarshal(AppendFillJSON(nil, &o, 1<<53), &f); err != nil || f["exec_id"] != float64(1<<53) || len(f) != 6 {
		t.Fatalf("%v %v", f, err)
	}
	b := make([]byte, 0, 256)
	if a := testing.AllocsPerRun(100, func() { b = AppendCheckJSON(b[:0], &o) }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}

func TestParseCheckReply(t *testing.T) {
	good := []byte(`{"account":1001,"instrument":1,"decision":"reject","reason":"insufficient margin","state":"HEALTHY","epoch":1}`)
	var r Reply
	if err := ParseCheckReply(good, &r); err != nil {
		t.Fatal(err)
	}
	if r.Kind != KindCheck || r.Account != 1001 || r.Decision != sbe.DecisionReject || r.Reason != sbe.ReasonInsufficientMargin {
		t.Fatalf("%+v", r)
	}
	if a := testing.AllocsPerRun(100, func() { _ = ParseCheckReply(good, &r) }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
	for _, bad := range []string{
		``, `[]`, `{}`, `{"account":"1"}`, `{"account":18446744073709551616,"decision":"accept","reason":"none"}`,
		`{"account":1,"decision":"maybe","reason":"none"}`, `{"account":1,"decision":"accept","reason":"bored"}`,
		`{"account":1,"decision":"accept"}`, `{"account":1,"decision":"acc\"ept","reason":"none"}`,
		`{"account":1,"decision":"accept","reason":"none`,
	} {
		if err := ParseCheckReply([]byte(bad), &r); !errors.Is(err, ErrReply) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if err := ParseCheckReply([]byte(`{"account":18446744073709551615,"decision":"accept","reason":"attestation expired"}`), &r); err != nil ||
		r.Account != 1<<64-1 || r.Reason != sbe.ReasonCreditLimit {
		t.Fatalf("%+v %v", r, err)
	}
}

// FuzzParseCheckReply: any body either parses to a check reply or is
// ErrReply; never a panic.
func FuzzParseCheckReply(f *testing.F) {
	f.Add([]byte(`{"account":1001,"instrument":1,"decision":"accept","reason":"none","state":"HEALTHY"}`))
	f.Add([]byte(`{"account":99999999999999999999,"decision":"reject","reason":"unknown account"}`))
	f.Add([]byte(`{"error":"account not accessible to this token"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r Reply
		err := ParseCheckReply(body, &r)
		switch {
		case err == nil:
			if r.Kind != KindCheck || !r.Decision.Valid() || !r.Reason.Valid() || !bytes.HasPrefix(body, []byte("{")) {
				t.Fatalf("%q parsed to %+v", body, r)
			}
		case !errors.Is(err, ErrReply):
			t.Fatalf("%q: %v", body, err)
		}
	})
}

// BenchmarkHTTPClient compares fasthttp's client, client.HTTPDirect
// (polled, no goroutine) and net/http's for one keep-alive connection
// posting single-order checks back to back to the in-process API (the
// choice of HTTPTarget's clients). BALLAST_LOADGEN_BUSY_POLL (a duration)
// turns on the servers' busy polling.
func BenchmarkHTTPClient(b *testing.B) {
	s := loadgentest.StartWith(b, loadgentest.Options{BusyPoll: busyPollFromEnv(b)})
	o := Order{Account: 1001, Instrument: 1, Side: sbe.SideBuy, Qty: 5}
	body := AppendCheckJSON(nil, &o)
	b.Run("fasthttp", func(b *testing.B) {
		hc := &fasthttp.HostClient{Addr: s.HTTPURL[len("http://"):], MaxConns: 1}
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.Header.SetMethod(fasthttp.MethodPost)
		req.SetRequestURI(s.HTTPURL + "/v1/check")
		req.Header.Set("Authorization", "Bearer "+loadgentest.Token)
		req.SetBodyRaw(body)
		var r Reply
		for b.Loop() {
			if err := hc.Do(req, resp); err != nil || ParseCheckReply(resp.Body(), &r) != nil {
				b.Fatal(err, string(resp.Body()))
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	})
	b.Run("direct", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h, err := client.DialHTTPDirect(ctx, s.HTTPURL, loadgentest.Token)
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		var resp client.HTTPResponse
		var r Reply
		for b.Loop() {
			if err := h.Post("/v1/check", body); err != nil {
				b.Fatal(err)
			}
			for {
				ok, err := h.Poll(&resp)
				if err != nil {
					b.Fatal(err)
				}
				if ok {
					break
				}
			}
			if resp.Status != fasthttp.StatusOK || ParseCheckReply(resp.Body, &r) != nil {
				b.Fatal(resp.Status, string(resp.Body))
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	})
	b.Run("nethttp", func(b *testing.B) {
		hc := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
		ctx := context.Background()
		buf := make([]byte, 0, 4096)
		var r Reply
		for b.Loop() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.HTTPURL+"/v1/check", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+loadgentest.Token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			buf = buf[:0]
			for {
				n, err := resp.Body.Read(buf[len(buf):cap(buf)])
				buf = buf[:len(buf)+n]
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			resp.Body.Close()
			if ParseCheckReply(buf, &r) != nil {
				b.Fatal(string(buf))
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	})
}
