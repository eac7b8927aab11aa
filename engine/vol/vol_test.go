package vol

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// A calibrated-looking equity smile (negative skew), two expiries.
var (
	s1 = Slice{T: 0.25, A: 0.01, B: 0.1, Rho: -0.4, M: 0.05, Sigma: 0.2}
	s2 = Slice{T: 1.0, A: 0.04, B: 0.12, Rho: -0.35, M: 0.05, Sigma: 0.25}
)

const docExample = `{"underlying":"AAPL","slices":[
  {"t":0.25,"a":0.01,"b":0.1,"rho":-0.4,"m":0.05,"sigma":0.2},
  {"t":1.0,"a":0.04,"b":0.12,"rho":-0.35,"m":0.05,"sigma":0.25}]}`

func svi(s Slice, k float64) float64 {
	return s.A + s.B*(s.Rho*(k-s.M)+math.Sqrt((k-s.M)*(k-s.M)+s.Sigma*s.Sigma))
}

func TestSurfaceInterpolation(t *testing.T) {
	srf, err := NewSurface([]Slice{s2, s1}) // any order
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []float64{-2, -0.3, 0, 0.05, 0.4, 3} {
		w1, w2 := svi(s1, k), svi(s2, k)
		if got := srf.TotalVariance(k, 0.25); math.Abs(got-w1) > 1e-15 {
			t.Errorf("w(%v, 0.25) = %v, want %v", k, got, w1)
		}
		if got := srf.TotalVariance(k, 1); math.Abs(got-w2) > 1e-15 {
			t.Errorf("w(%v, 1) = %v, want %v", k, got, w2)
		}
		// Linear in T between slices.
		mid := 0.25 + 0.75/3
		if got, want := srf.TotalVariance(k, mid), w1+(w2-w1)/3; math.Abs(got-want) > 1e-15 {
			t.Errorf("w(%v, %v) = %v, want %v", k, mid, got, want)
		}
		// Flat vol outside.
		if got, want := srf.Vol(k, 0.01), math.Sqrt(w1/0.25); math.Abs(got-want) > 1e-15 {
			t.Errorf("vol(%v, 0.01) = %v, want %v (first slice)", k, got, want)
		}
		if got, want := srf.Vol(k, 0), math.Sqrt(w1/0.25); got != want {
			t.Errorf("vol(%v, 0) = %v, want %v", k, got, want)
		}
		if got, want := srf.Vol(k, 7), math.Sqrt(w2/1); math.Abs(got-want) > 1e-15 {
			t.Errorf("vol(%v, 7) = %v, want %v (last slice)", k, got, want)
		}
		if got := srf.TotalVariance(k, -1); got != 0 {
			t.Errorf("w(%v, −1) = %v, want 0", k, got)
		}
	}
	// Negative skew: OTM puts (k < 0) carry a higher vol than OTM calls.
	if srf.Vol(-0.3, 0.5) <= srf.Vol(0.3, 0.5) {
		t.Error("expected a negative skew")
	}
	if got := srf.Slices(); len(got) != 2 || got[0] != s1 || got[1] != s2 {
		t.Errorf("Slices() = %+v", got)
	}
}

func TestFlat(t *testing.T) {
	f, err := Flat(0.25)
	if err != nil {
		t.Fatal(err)
	}
	if !f.IsFlat() || f.FlatVol() != 0.25 || f.Vol(-3, 2) != 0.25 || f.Vol(1, 0) != 0.25 || f.TotalVariance(0, 2) != 0.125 {
		t.Error("flat surface")
	}
	for _, v := range []float64{-0.1, math.NaN(), math.Inf(1), volMax * 2} {
		if _, err := Flat(v); !errors.Is(err, ErrInvalid) {
			t.Errorf("Flat(%v) accepted", v)
		}
	}
}

func TestValidation(t *testing.T) {
	bad := func(mut func(*Slice)) Slice { s := s1; mut(&s); return s }
	for _, c := range []struct {
		name   string
		slices []Slice
		want   string
	}{
		{"none", nil, "no slices"},
		{"t", []Slice{bad(func(s *Slice) { s.T = 0 })}, "expiry must be in (0, 100] years"},
		{"t max", []Slice{bad(func(s *Slice) { s.T = 101 })}, "expiry must be in (0, 100] years"},
		{"m", []Slice{bad(func(s *Slice) { s.M = 1.7e154 })}, "m = 1.7e+154 must be within ±10"},
		{"sigma max", []Slice{bad(func(s *Slice) { s.Sigma = 11 })}, "sigma = 11 exceeds 10"},
		{"a", []Slice{bad(func(s *Slice) { s.A = 1e300 })}, "a = 1e+300 must be within ±100"},
		{"b", []Slice{bad(func(s *Slice) { s.B = -0.1 })}, "b = -0.1"},
		{"rho", []Slice{bad(func(s *Slice) { s.Rho = 1 })}, "rho = 1"},
		{"sigma", []Slice{bad(func(s *Slice) { s.Sigma = 0 })}, "sigma = 0"},
		{"min variance", []Slice{bad(func(s *Slice) { s.A = -0.1 })}, "minimum total variance"},
		{"nan", []Slice{bad(func(s *Slice) { s.M = math.NaN() })}, "not finite"},
		{"lee", []Slice{bad(func(s *Slice) { s.B = 1.9 })}, "Lee"},
		{"duplicate", []Slice{s1, s1}, "two slices with expiry t=0.25"},
		{"calendar", []Slice{s1, {T: 0.5, A: 0.0, B: 0.1, Rho: -0.4, M: 0.05, Sigma: 0.2}}, "calendar arbitrage between slices t=0.25 and t=0.5"},
		{"calendar wings", []Slice{{T: 0.25, A: 0, B: 0.5, Rho: 0, M: 0, Sigma: 0.1}, {T: 0.5, A: 0.7, B: 0.4, Rho: 0, M: 0, Sigma: 0.1}}, "in the wings"},
		{"too many", make([]Slice, slicesMax+1), "exceed the bound"},
	} {
		_, err := NewSurface(c.slices)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	u, srf, err := Parse([]byte(docExample))
	if err != nil || u != "AAPL" {
		t.Fatalf("Parse(example) = %q, %v", u, err)
	}
	if got := srf.Slices(); len(got) != 2 || got[0] != s1 || got[1] != s2 {
		t.Fatalf("slices %+v", got)
	}
	u, srf, err = Parse([]byte(`{"underlying":"X","flat":0.25}`))
	if err != nil || u != "X" || srf.Vol(0, 1) != 0.25 {
		t.Fatalf("flat: %q %v", u, err)
	}
	// Round trip through Encode.
	for _, s := range []string{docExample, `{"underlying":"X","flat":0.25}`} {
		u, srf, _ := Parse([]byte(s))
		b, err := Encode(u, srf)
		if err != nil {
			t.Fatal(err)
		}
		u2, srf2, err := Parse(b)
		if err != nil || u2 != u || srf2.FlatVol() != srf.FlatVol() || len(srf2.Slices()) != len(srf.Slices()) {
			t.Fatalf("round trip of %s: %s, %v", s, b, err)
		}
		for i, x := range srf.Slices() {
			if srf2.Slices()[i] != x {
				t.Fatalf("round trip slice %d: %+v vs %+v", i, srf2.Slices()[i], x)
			}
		}
	}
	for _, c := range []struct{ doc, want string }{
		{`{"underlying":"X"}`, "one of"},
		{`{"underlying":"X","flat":0.2,"slices":[]}`, "both"},
		{`{"flat":0.2}`, "missing \"underlying\""},
		{`{"underlying":"","flat":0.2}`, "missing \"underlying\""},
		{`{"underlying":"X","flat":-1}`, "flat volatility"},
		{`{"underlying":"X","flat":0.2,"extra":1}`, "unknown field"},
		{`{"underlying":"X","flat":0.2} {}`, "trailing"},
		{`{"underlying":"X","slices":[{"t":1,"a":0,"b":0.1,"rho":0,"m":0}]}`, "missing \"sigma\""},
		{`{"underlying":"X","slices":[{"t":1,"a":0,"b":0.1,"rho":0,"m":0,"sigma":0.1,"z":1}]}`, "unknown field"},
		{`{"underlying":"X","slices":[]}`, "no slices"},
		{`{"underlying":"X","slices":[{"t":"1"}]}`, "slice 0"},
		{`[1,2]`, "cannot unmarshal"},
		{`{"underlying":"` + strings.Repeat("A", underlyingBytesMax+1) + `","flat":0.2}`, "at most"},
		{`{"underlying":"X","slices":[` + strings.Repeat(`{},`, slicesMax) + `{}]}`, "exceed the bound"},
		{strings.Repeat(" ", inputBytesMax+1), "exceeds"},
	} {
		if _, _, err := Parse([]byte(c.doc)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%.60s): %v, want an error containing %q", c.doc, err, c.want)
		}
	}
}

// TestNoNaN: a valid surface gives a finite, non-negative vol everywhere.
func TestNoNaN(t *testing.T) {
	_, srf, err := Parse([]byte(docExample))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []float64{-1e6, -50, -3, 0, 3, 50, 1e6} {
		for _, tt := range []float64{-1, 0, 1e-9, 0.1, 0.25, 0.6, 1, 30, 1e6} {
			v := srf.Vol(k, tt)
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Errorf("Vol(%v, %v) = %v", k, tt, v)
			}
		}
	}
}

func BenchmarkVol(b *testing.B) {
	slices := make([]Slice, 12)
	for i := range slices {
		T := 0.05 * math.Pow(1.6, float64(i))
		slices[i] = Slice{T: T, A: 0.04 * T, B: 0.1, Rho: -0.4, M: 0.02, Sigma: 0.2}
	}
	srf, err := NewSurface(slices)
	if err != nil {
		b.Fatal(err)
	}
	s := 0.0
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s += srf.Vol(float64(i&255)/128-1, float64(i&1023)/256)
	}
	if s == 0 {
		b.Fatal("zero")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}
