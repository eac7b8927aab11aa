package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/ballast-risk/ballast/engine/vol"
)

// volFake is the fake Service with volatility overrides, recording them.
type volFake struct {
	*fakeService
	mu    sync.Mutex
	specs map[string]VolSpec
}

func (f *volFake) SetVol(_ context.Context, symbol string, spec VolSpec) (VolInfo, error) {
	if symbol != "ACME" {
		return VolInfo{}, ErrUnknownUnderlying
	}
	if spec.Scale > 5 {
		return VolInfo{}, vol.ErrInvalid
	}
	f.mu.Lock()
	f.specs[symbol] = spec
	f.mu.Unlock()
	return VolInfo{Underlying: symbol, ITCH: symbol, Scale: spec.Scale, Flat: spec.Flat, ATMVol: 0.2}, nil
}

func TestVolRoute(t *testing.T) {
	f := &volFake{fakeService: newFake(), specs: map[string]VolSpec{}}
	h := newHarness(t, Config{}, f)
	const path = "/v1/underlyings/ACME/vol"
	for _, tc := range []struct {
		method, path, token, body string
		code                      int
	}{
		{"PUT", path, "", `{"atm_scale":2}`, 401},
		{"PUT", path, "nope", `{"atm_scale":2}`, 401},
		{"PUT", path, tokOps, `{"atm_scale":2}`, 403},
		{"PUT", path, tokAlpha, `{"atm_scale":2}`, 403},
		{"GET", path, tokAdmin, "", 405},
		{"PUT", "/v1/underlyings/NOPE/vol", tokAdmin, `{"atm_scale":2}`, 404},
		{"PUT", "/v1/underlyings//vol", tokAdmin, `{"atm_scale":2}`, 404},
		{"PUT", "/v1/underlyings/A/B/vol", tokAdmin, `{"atm_scale":2}`, 404},
		{"PUT", path, tokAdmin, ``, 400},
		{"PUT", path, tokAdmin, `{}`, 400},
		{"PUT", path, tokAdmin, `{"atm_scale":2,"flat":0.3}`, 400},
		{"PUT", path, tokAdmin, `{"atm_scale":0}`, 400},
		{"PUT", path, tokAdmin, `{"atm_scale":-1}`, 400},
		{"PUT", path, tokAdmin, `{"atm_scale":11}`, 400},
		{"PUT", path, tokAdmin, `{"flat":101}`, 400},
		{"PUT", path, tokAdmin, `{"flat":"0.3"}`, 400},
		{"PUT", path, tokAdmin, `{"scale":2}`, 400},
		{"PUT", path, tokAdmin, `{"atm_scale":2} {}`, 400},
		{"PUT", path, tokAdmin, `{"atm_scale":6}`, 422},
	} {
		code, body := h.do(t, tc.method, tc.path, tc.token, tc.body)
		if code != tc.code {
			t.Errorf("%s %s %q (%q): %d %s, want %d", tc.method, tc.path, tc.body, tc.token, code, body, tc.code)
			continue
		}
		errorOf(t, body)
	}
	if len(f.specs) != 0 {
		t.Fatalf("refused requests reached the service: %+v", f.specs)
	}
	code, body := h.do(t, "PUT", path, tokAdmin, `{"atm_scale":2.5}`)
	if code != 200 || string(body) != `{"underlying":"ACME","itch":"ACME","atm_scale":2.5,"flat":null,"atm_vol":0.2}`+"\n" {
		t.Fatalf("%d %s", code, body)
	}
	if code, body = h.do(t, "PUT", path, tokAdmin, `{"flat":0.6}`); code != 200 || !strings.Contains(string(body), `"atm_scale":null,"flat":0.6`) {
		t.Fatalf("%d %s", code, body)
	}
	if f.specs["ACME"] != (VolSpec{Flat: 0.6}) {
		t.Fatalf("service saw %+v", f.specs)
	}
	// A service without overrides says so.
	plain := newHarness(t, Config{}, newFake())
	if code, body := plain.do(t, "PUT", path, tokAdmin, `{"atm_scale":2}`); code != 501 {
		t.Fatalf("%d %s", code, body)
	}
}

// TestVolRealEngine scales the test book's AAA surface (flat 25 %) and
// checks the epoch's risk follows, then restores it.
func TestVolRealEngine(t *testing.T) {
	h := newEngineHarness(t, true)
	es := func() float64 {
		t.Helper()
		if _, err := h.eng.RunEpoch(context.Background()); err != nil {
			t.Fatal(err)
		}
		st, err := h.eng.Status(1001) // 1000 AAA
		if err != nil {
			t.Fatal(err)
		}
		return st.ES
	}
	base := es()
	put := func(sym, body string) volBody {
		t.Helper()
		code, out := h.do(t, "PUT", "/v1/underlyings/"+sym+"/vol", tokAdmin, body)
		var b volBody
		if code != 200 || json.Unmarshal(out, &b) != nil {
			t.Fatalf("PUT %s %s: %d %s", sym, body, code, out)
		}
		return b
	}
	if b := put("AAA", `{"atm_scale":2}`); b.Underlying != "AAA" || math.Abs(b.ATMVol-0.5) > 1e-12 || b.ATMScale == nil || *b.ATMScale != 2 {
		t.Fatalf("%+v", b)
	}
	spiked := es()
	if r := spiked / base; r < 1.8 || r > 2.2 {
		t.Fatalf("ES %v → %v after doubling the vol (ratio %.2f)", base, spiked, r)
	}
	// Scales apply to the master's surface: they do not compound (a second
	// x2 would make it x4), and 1 restores it. Each epoch draws new
	// scenarios, so ES compares within Monte Carlo noise.
	put("AAA", `{"atm_scale":2}`)
	if r := es() / base; r < 1.8 || r > 2.2 {
		t.Fatalf("ES ratio %.2f after a repeated x2, want about 2", r)
	}
	put("AAA", `{"atm_scale":1}`)
	if r := es() / base; r < 0.9 || r > 1.1 {
		t.Fatalf("ES ratio %.2f after restoring, want about 1", r)
	}
	// The ITCH symbol names the underlying too (BBB trades as BBBX).
	if b := put("BBBX", `{"flat":0.6}`); b.Underlying != "BBB" || b.ITCH != "BBBX" || b.Flat == nil || b.ATMVol != 0.6 {
		t.Fatalf("%+v", b)
	}
	if code, body := h.do(t, "PUT", "/v1/underlyings/ZZZ/vol", tokAdmin, `{"atm_scale":2}`); code != 404 {
		t.Fatalf("unknown underlying: %d %s", code, body)
	}
}

func TestScaleSurface(t *testing.T) {
	// Wings near Lee's bound: b·(1+|ρ|) = 1.9 on the long slice, which a
	// stretch by scale² would break at any scale above 1.03.
	s, err := vol.NewSurface([]vol.Slice{
		{T: 0.25, A: 0.01, B: 0.1, Rho: -0.4, M: 0.05, Sigma: 0.2},
		{T: 1, A: 0.04, B: 1.4, Rho: -0.357142857, M: 0.05, Sigma: 0.25},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, scale := range []float64{1, 1.3, 2, 3, 10} {
		x, err := ScaleSurface(s, scale)
		if err != nil {
			t.Fatalf("scale %v: %v", scale, err)
		}
		// ATM vol scales at every expiry, inside, between and beyond the
		// slices; every strike moves by the same total variance.
		for _, tt := range []float64{0.1, 0.25, 0.6, 1, 2} {
			if got, want := x.Vol(0, tt), scale*s.Vol(0, tt); math.Abs(got-want) > 1e-12*want {
				t.Fatalf("scale %v: ATM vol at t=%v: %v, want %v", scale, tt, got, want)
			}
		}
		for _, tt := range []float64{0.25, 1} {
			shift := (scale*scale - 1) * s.TotalVariance(0, tt)
			for _, k := range []float64{-3, -0.2, 0.3, 4} {
				if got, want := x.TotalVariance(k, tt), s.TotalVariance(k, tt)+shift; math.Abs(got-want) > 1e-12*want {
					t.Fatalf("scale %v: w(%v, %v) = %v, want %v", scale, k, tt, got, want)
				}
			}
		}
	}
	// Calming a smile below its wings' minimum is refused.
	if _, err := ScaleSurface(s, 0.05); !errors.Is(err, vol.ErrInvalid) {
		t.Fatalf("scale 0.05: %v, want vol.ErrInvalid", err)
	}
	for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := ScaleSurface(s, bad); !errors.Is(err, vol.ErrInvalid) {
			t.Fatalf("scale %v: %v", bad, err)
		}
	}
	flat, _ := vol.Flat(0.3)
	if x, err := ScaleSurface(flat, 2); err != nil || !x.IsFlat() || x.FlatVol() != 0.6 {
		t.Fatalf("flat: %v %v", x, err)
	}
}

func FuzzVolBody(f *testing.F) {
	for _, s := range []string{`{"atm_scale":2}`, `{"flat":0.6}`, `{}`, `{"atm_scale":2,"flat":1}`,
		`{"atm_scale":1e309}`, `{"flat":-0}`, `[1]`, `{"atm_scale":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		spec, err := parseVolBody(body)
		if err != nil {
			return
		}
		if err := spec.validate(); err != nil {
			t.Fatalf("accepted %q as %+v: %v", body, spec, err)
		}
		if (spec.Scale != 0) == (spec.Flat != 0) {
			t.Fatalf("accepted %q as %+v", body, spec)
		}
	})
}
