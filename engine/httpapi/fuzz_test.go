package httpapi

import (
	"encoding/json"
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// direct runs the handler on a request without a connection.
type direct struct {
	s   *Server
	req fasthttp.Request
	ctx fasthttp.RequestCtx
}

func newDirect(t testing.TB, cfg Config, svc Service) *direct {
	t.Helper()
	if cfg.Tokens == nil {
		cfg.Tokens = testTokens
	}
	s, err := New(cfg, svc)
	if err != nil {
		t.Fatal(err)
	}
	return &direct{s: s}
}

var directAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}

func (d *direct) serve(method, path, token string, body []byte) *fasthttp.Response {
	d.req.Reset()
	d.req.Header.SetMethod(method)
	d.req.SetRequestURI(path)
	if token != "" {
		d.req.Header.Set("Authorization", "Bearer "+token)
	}
	d.req.SetBody(body)
	d.ctx.Init(&d.req, directAddr, nil)
	d.s.handle(&d.ctx)
	return &d.ctx.Response
}

// checkAnswer fails unless resp is a JSON answer with an allowed status.
func checkAnswer(t *testing.T, resp *fasthttp.Response, allowed ...int) {
	code := resp.StatusCode()
	ok := false
	for _, a := range allowed {
		ok = ok || code == a
	}
	if !ok {
		t.Fatalf("status %d: %s", code, resp.Body())
	}
	if !json.Valid(resp.Body()) {
		t.Fatalf("status %d: body not JSON: %q", code, resp.Body())
	}
}

func FuzzCheckBody(f *testing.F) {
	for _, s := range []string{
		`{"account":1,"instrument":10,"side":"buy","qty":1,"price":0}`,
		`[{"account":3,"instrument":10,"side":"sell","qty":101,"price":5}]`,
		`{"account":1,"side":"buy","extra":true}`,
		`[]`, `[{}]`, `{"account":1e30}`, `null`, ` [ `,
	} {
		f.Add([]byte(s), true)
	}
	d := newDirect(f, Config{OrdersMax: 8}, newFake())
	f.Fuzz(func(t *testing.T, body []byte, firm bool) {
		tok := tokAdmin
		if firm {
			tok = tokAlpha
		}
		resp := d.serve("POST", "/v1/check", tok, body)
		checkAnswer(t, resp, 200, 400, 403)
	})
}

func FuzzFillBody(f *testing.F) {
	for _, s := range []string{
		`{"account":1,"instrument":10,"side":"buy","qty":1,"price":10000,"exec_id":1}`,
		`{"account":9,"instrument":10,"side":"sell","qty":1,"price":1,"exec_id":2}`,
		`{"account":1,"instrument":10,"side":"buy","qty":-1,"price":1,"exec_id":3}`,
		`{"exec_id":"x"}`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	d := newDirect(f, Config{}, newFake())
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := d.serve("POST", "/v1/fills", tokAdmin, body)
		checkAnswer(t, resp, 201, 400, 404, 409)
	})
}

func FuzzCollateralBody(f *testing.F) {
	for _, s := range []string{
		`{"tier":"cash","amount":1}`, `{"tier":"credit_line","amount":-5}`,
		`{"tier":"verified","amount":1}`, `{"amount":1e99}`, `[]`,
	} {
		f.Add([]byte(s), "1")
	}
	d := newDirect(f, Config{}, newFake())
	f.Fuzz(func(t *testing.T, body []byte, id string) {
		resp := d.serve("PUT", "/v1/accounts/"+id+"/collateral", tokAdmin, body)
		checkAnswer(t, resp, 200, 400, 404, 405)
	})
}

// FuzzCheckFastAgrees: whatever parseCheckFast accepts, the strict decoder
// accepts too, with the same values.
func FuzzCheckFastAgrees(f *testing.F) {
	for _, s := range []string{
		`{"account":1,"instrument":10,"side":"buy","qty":1,"price":0}`,
		` { "side" : "sell" , "qty":-0, "price":-9223372036854775808 } `,
		`{"account":18446744073709551615,"instrument":4294967295,"side":"buy"}`,
		`{"account":18446744073709551616,"side":"buy"}`,
		`{"Account":1,"side":"buy"}`, `{"account":1,"account":2,"side":"buy"}`,
		`{"account":01,"side":"buy"}`, `{"qty":1.0,"side":"buy"}`, `{"side":"b\u0075y"}`,
		`{"side":"buy"}x`, `{"side":null}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, inst, ok := parseCheckFast(body)
		if !ok {
			return
		}
		var q checkRequest
		if err := decodeStrict(body, &q); err != nil {
			t.Fatalf("fast path accepted %q, strict decoder: %v", body, err)
		}
		side, sideOK := parseSide(q.Side)
		if !sideOK || side != o.Side || q.Account != o.Account || q.Instrument != inst || q.Qty != o.Qty ||
			float64(q.Price)/10000 != o.Price {
			t.Fatalf("%q: fast %+v %d, strict %+v", body, o, inst, q)
		}
	})
}
