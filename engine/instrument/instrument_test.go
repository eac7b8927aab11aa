package instrument

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 20, 21, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// baseDoc is a small valid master; each call returns a fresh copy.
func baseDoc() fileMaster {
	return fileMaster{
		Version: 1,
		Rate:    ptr(0.04),
		Underlyings: []fileUnderlying{
			{Symbol: "AAPL", ITCH: "AAPL", Spot: 190.25, Div: 0.005, Vol: json.RawMessage(`{"flat":0.28}`)},
			{Symbol: "MSFT", Spot: 410.5, Vol: json.RawMessage(`{"atm":0.24,"slices":[]}`)},
		},
		Correlation: &fileCorrelation{Symbols: []string{"AAPL", "MSFT"}, Matrix: [][]float64{{1, 0.6}, {0.6, 1}}},
		Instruments: []fileInstrument{
			{ID: 1, Symbol: "AAPL", Kind: "spot", Underlying: "AAPL"},
			{ID: 2, Symbol: "AAPL 2027-03 F", Kind: "future", Underlying: "AAPL", Expiry: "2027-03-19T21:00:00Z", Multiplier: 100},
			{ID: 3, Symbol: "AAPL 2027-03 C190", Kind: "call", Underlying: "AAPL", Strike: 190, Expiry: "2027-03-19T21:00:00Z", Multiplier: 100},
			{ID: 4, Symbol: "AAPL 2027-03 P180 F", Kind: "put", Model: "black76", Underlying: "AAPL", Future: 2, Strike: 180,
				Expiry: "2027-03-12T21:00:00Z", Multiplier: 100},
			{ID: 5, Symbol: "MSFT", Kind: "spot", Underlying: "MSFT"},
		},
	}
}

// encode is v (a master or an extension document) as JSON.
func encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseBase(t *testing.T) {
	m, err := Parse(encode(t, baseDoc()), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rate != 0.04 || len(m.Underlyings) != 2 || len(m.Instruments) != 5 {
		t.Fatalf("parsed %+v", m)
	}
	if u := m.Underlyings[1]; u.ITCH != "MSFT" || u.ATMVol != 0.24 || u.Div != 0 || string(u.Vol) != `{"atm":0.24,"slices":[]}` {
		t.Errorf("MSFT: %+v (itch defaults to the symbol; atm read from the smile; vol kept raw)", u)
	}
	if m.Underlyings[0].ATMVol != 0.28 {
		t.Errorf("flat vol %v", m.Underlyings[0].ATMVol)
	}
	in := m.Instruments
	if in[0].Multiplier != 1 || in[0].Model != 0 || in[0].Future != -1 || !in[0].Expiry.IsZero() {
		t.Errorf("spot: %+v", in[0])
	}
	if in[1].Kind != Future || in[1].Model != 0 || in[1].Future != -1 || in[1].Multiplier != 100 {
		t.Errorf("future: %+v", in[1])
	}
	if in[2].Model != BSM || in[2].Future != -1 || in[2].Strike != 190 {
		t.Errorf("default model: %+v", in[2])
	}
	if in[3].Model != Black76 || in[3].Future != 1 || in[3].Underlying != 0 {
		t.Errorf("black76: %+v (Future is the index of id 2)", in[3])
	}
	if i, ok := m.Index(4); !ok || i != 3 {
		t.Errorf("Index(4) = %d, %v", i, ok)
	}
	if _, ok := m.Index(6); ok {
		t.Error("Index(6) found")
	}
	if i, ok := m.UnderlyingIndex("MSFT"); !ok || i != 1 {
		t.Errorf("UnderlyingIndex(MSFT) = %d, %v", i, ok)
	}
	if _, ok := m.UnderlyingIndex("msft"); ok {
		t.Error("UnderlyingIndex is case-insensitive")
	}
	want := []float64{1, 0.6, 0.6, 1}
	for i, v := range want {
		if m.Correlation[i] != v {
			t.Fatalf("correlation %v, want %v", m.Correlation, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		mod  func(fm *fileMaster)
		want []string // substrings of the error
	}{
		{"version", func(fm *fileMaster) { fm.Version = 2 }, []string{"version 2"}},
		{"rate missing", func(fm *fileMaster) { fm.Rate = nil }, []string{"rate"}},
		{"rate too high", func(fm *fileMaster) { fm.Rate = ptr(1.5) }, []string{"rate"}},
		{"no underlyings", func(fm *fileMaster) { fm.Underlyings = nil }, []string{"0 underlyings"}},
		{"too many underlyings", func(fm *fileMaster) {
			fm.Underlyings = make([]fileUnderlying, UnderlyingsMax+1)
		}, []string{"4097 underlyings"}},
		{"no instruments", func(fm *fileMaster) { fm.Instruments = nil }, []string{"0 instruments"}},
		{"empty symbol", func(fm *fileMaster) { fm.Underlyings[1].Symbol = "" }, []string{"underlyings[1]", "symbol", "empty"}},
		{"long symbol", func(fm *fileMaster) { fm.Underlyings[0].Symbol = strings.Repeat("X", SymbolBytesMax+1) }, []string{"underlyings[0]", "symbol", "longer than 64"}},
		{"control byte", func(fm *fileMaster) { fm.Underlyings[0].Symbol = "AA\nPL" }, []string{"underlyings[0]", "symbol", "non-printable"}},
		{"non-ASCII", func(fm *fileMaster) { fm.Underlyings[0].Symbol = "AAPLé" }, []string{"underlyings[0]", "non-printable"}},
		{"long itch", func(fm *fileMaster) { fm.Underlyings[0].ITCH = "ABCDEFGHI" }, []string{"underlyings[0]", "itch", "longer than 8"}},
		{"default itch too long", func(fm *fileMaster) {
			fm.Underlyings[1].Symbol = "MICROSOFT"
			fm.Correlation = nil
			fm.Instruments[4].Underlying = "MICROSOFT"
		}, []string{"underlyings[1]", "itch"}},
		{"blank itch", func(fm *fileMaster) { fm.Underlyings[0].ITCH = "    " }, []string{"underlyings[0]", "itch", "empty"}},
		{"spot zero", func(fm *fileMaster) { fm.Underlyings[1].Spot = 0 }, []string{"underlyings[1]", "spot 0"}},
		{"spot negative", func(fm *fileMaster) { fm.Underlyings[1].Spot = -3 }, []string{"underlyings[1]", "spot -3"}},
		{"div", func(fm *fileMaster) { fm.Underlyings[0].Div = -1.5 }, []string{"underlyings[0]", "div -1.5"}},
		{"vol null", func(fm *fileMaster) { fm.Underlyings[0].Vol = json.RawMessage(`null`) }, []string{"underlyings[0]", "vol", `"flat"`}},
		{"vol not an object", func(fm *fileMaster) { fm.Underlyings[0].Vol = json.RawMessage(`0.2`) }, []string{"underlyings[0]", "vol"}},
		{"vol empty", func(fm *fileMaster) { fm.Underlyings[0].Vol = json.RawMessage(`{}`) }, []string{"underlyings[0]", "vol", `"flat"`}},
		{"vol negative", func(fm *fileMaster) { fm.Underlyings[0].Vol = json.RawMessage(`{"flat":-0.1}`) }, []string{"underlyings[0]", "vol", "-0.1 outside"}},
		{"vol huge", func(fm *fileMaster) { fm.Underlyings[1].Vol = json.RawMessage(`{"atm":21}`) }, []string{"underlyings[1]", "vol", "21 outside"}},
		{"duplicate underlying", func(fm *fileMaster) {
			fm.Underlyings[1].Symbol = "AAPL"
			fm.Underlyings[1].ITCH = "AAPL2"
		}, []string{"underlyings[1]", `duplicate symbol "AAPL"`}},
		{"shared itch", func(fm *fileMaster) { fm.Underlyings[1].ITCH = "AAPL  " }, []string{"underlyings[1]", `ITCH symbol "AAPL" marks two`}},
		{"corr rows", func(fm *fileMaster) { fm.Correlation.Matrix = fm.Correlation.Matrix[:1] }, []string{"correlation", "2 symbols but 1 matrix rows"}},
		{"corr unknown", func(fm *fileMaster) { fm.Correlation.Symbols[1] = "IBM" }, []string{"correlation", `"IBM" is not an underlying`}},
		{"corr twice", func(fm *fileMaster) { fm.Correlation.Symbols[1] = "AAPL" }, []string{"correlation", `"AAPL" listed twice`}},
		{"corr short row", func(fm *fileMaster) { fm.Correlation.Matrix[1] = []float64{0.6} }, []string{"correlation", "row 1 has 1 entries"}},
		{"corr empty later row", func(fm *fileMaster) { fm.Correlation.Matrix[1] = []float64{} }, []string{"correlation", "row 1 has 0 entries"}},
		{"corr range", func(fm *fileMaster) {
			fm.Correlation.Matrix[0][1], fm.Correlation.Matrix[1][0] = 1.2, 1.2
		}, []string{"correlation", "entry [0][1] = 1.2"}},
		{"corr diagonal", func(fm *fileMaster) { fm.Correlation.Matrix[1][1] = 0.9 }, []string{"correlation", "diagonal entry [1][1]"}},
		{"corr asymmetric", func(fm *fileMaster) { fm.Correlation.Matrix[1][0] = 0.5 }, []string{"correlation", "not symmetric at [0][1]"}},
		{"id zero", func(fm *fileMaster) { fm.Instruments[2].ID = 0 }, []string{"instruments[2] (id 0)", "id 0"}},
		{"id too big", func(fm *fileMaster) { fm.Instruments[2].ID = 1 << 32 }, []string{"instruments[2]", "id 4294967296"}},
		{"instrument symbol", func(fm *fileMaster) { fm.Instruments[2].Symbol = "" }, []string{"instruments[2] (id 3)", "symbol", "empty"}},
		{"kind", func(fm *fileMaster) { fm.Instruments[2].Kind = "swap" }, []string{"instruments[2] (id 3)", `kind "swap"`}},
		{"kind missing", func(fm *fileMaster) { fm.Instruments[0].Kind = "" }, []string{"instruments[0] (id 1)", `kind ""`}},
		{"underlying", func(fm *fileMaster) { fm.Instruments[2].Underlying = "IBM" }, []string{"instruments[2] (id 3)", `underlying "IBM"`}},
		{"underlying missing", func(fm *fileMaster) { fm.Instruments[3].Underlying = "" }, []string{"instruments[3] (id 4)", `underlying ""`}},
		{"multiplier negative", func(fm *fileMaster) { fm.Instruments[1].Multiplier = -10 }, []string{"instruments[1] (id 2)", "multiplier -10"}},
		{"multiplier huge", func(fm *fileMaster) { fm.Instruments[1].Multiplier = 2e9 }, []string{"instruments[1] (id 2)", "multiplier 2e+09"}},
		{"spot expiry", func(fm *fileMaster) { fm.Instruments[0].Expiry = "2027-03-19T21:00:00Z" }, []string{"instruments[0] (id 1)", "spot takes no"}},
		{"spot strike", func(fm *fileMaster) { fm.Instruments[0].Strike = 100 }, []string{"instruments[0] (id 1)", "spot takes no"}},
		{"spot model", func(fm *fileMaster) { fm.Instruments[0].Model = "bs" }, []string{"instruments[0] (id 1)", "spot takes no"}},
		{"spot future", func(fm *fileMaster) { fm.Instruments[0].Future = 2 }, []string{"instruments[0] (id 1)", "spot takes no"}},
		{"expiry missing", func(fm *fileMaster) { fm.Instruments[1].Expiry = "" }, []string{"instruments[1] (id 2)", "expiry"}},
		{"expiry format", func(fm *fileMaster) { fm.Instruments[2].Expiry = "2027-03-19" }, []string{"instruments[2] (id 3)", "expiry"}},
		{"expiry far", func(fm *fileMaster) { fm.Instruments[2].Expiry = "2077-03-19T21:00:00Z" }, []string{"instruments[2] (id 3)", "more than 50 years"}},
		{"expiry far past year 9999", func(fm *fileMaster) { fm.Instruments[1].Expiry = "9999-12-31T23:59:59Z" }, []string{"instruments[1] (id 2)", "more than 50 years"}},
		{"future strike", func(fm *fileMaster) { fm.Instruments[1].Strike = 5 }, []string{"instruments[1] (id 2)", "future takes no"}},
		{"future model", func(fm *fileMaster) { fm.Instruments[1].Model = "black76" }, []string{"instruments[1] (id 2)", "future takes no"}},
		{"future future", func(fm *fileMaster) { fm.Instruments[1].Future = 2 }, []string{"instruments[1] (id 2)", "future takes no"}},
		{"strike missing", func(fm *fileMaster) { fm.Instruments[2].Strike = 0 }, []string{"instruments[2] (id 3)", "strike 0"}},
		{"strike negative", func(fm *fileMaster) { fm.Instruments[2].Strike = -1 }, []string{"instruments[2] (id 3)", "strike -1"}},
		{"bs with future", func(fm *fileMaster) { fm.Instruments[2].Future = 2 }, []string{"instruments[2] (id 3)", `"future" is only for black76`}},
		{"black76 without future", func(fm *fileMaster) { fm.Instruments[3].Future = 0 }, []string{"instruments[3] (id 4)", `needs "future"`}},
		{"model", func(fm *fileMaster) { fm.Instruments[3].Model = "heston" }, []string{"instruments[3] (id 4)", `model "heston"`}},
		{"duplicate id", func(fm *fileMaster) { fm.Instruments[4].ID = 3 }, []string{"instruments[4]", "duplicate id 3"}},
		{"duplicate symbol", func(fm *fileMaster) { fm.Instruments[4].Symbol = "AAPL" }, []string{"instruments[4]", `duplicate symbol "AAPL"`}},
		{"future unknown", func(fm *fileMaster) { fm.Instruments[3].Future = 99 }, []string{"instruments[3] (id 4)", "future 99 not in the master"}},
		{"future is a call", func(fm *fileMaster) { fm.Instruments[3].Future = 3 }, []string{"instruments[3] (id 4)", "instrument 3 is a call, not a future"}},
		{"future is itself", func(fm *fileMaster) { fm.Instruments[3].Future = 4 }, []string{"instruments[3] (id 4)", "instrument 4 is a put"}},
		{"future other underlying", func(fm *fileMaster) {
			fm.Instruments[1].Underlying = "MSFT"
			fm.Instruments[1].Symbol = "MSFT 2027-03 F"
		}, []string{"instruments[3] (id 4)", "future 2 is on MSFT, the option on AAPL"}},
		{"future expires first", func(fm *fileMaster) { fm.Instruments[3].Expiry = "2027-03-26T21:00:00Z" }, []string{"instruments[3] (id 4)", "future 2 expires before the option"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fm := baseDoc()
			c.mod(&fm)
			m, err := Parse(encode(t, fm), testNow)
			if err == nil {
				t.Fatalf("accepted: %+v", m)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	good := string(encode(t, baseDoc()))
	cases := []struct {
		name, doc, want string
	}{
		{"empty", "", "EOF"},
		{"not JSON", "version: 1", "invalid character"},
		{"array", "[1]", "cannot unmarshal array"},
		{"unknown field", strings.Replace(good, `"version":1`, `"version":1,"currency":"USD"`, 1), `unknown field "currency"`},
		{"unknown instrument field", strings.Replace(good, `"id":1,`, `"id":1,"isin":"US0378331005",`, 1), `unknown field "isin"`},
		{"trailing data", good + " {}", "trailing data"},
		{"vol missing", strings.Replace(good, `,"vol":{"flat":0.28}`, ``, 1), `underlyings[0]: vol: missing`},
		{"id string", strings.Replace(good, `"id":1,`, `"id":"1",`, 1), "cannot unmarshal string"},
		{"negative id", strings.Replace(good, `"id":1,`, `"id":-1,`, 1), "cannot unmarshal number -1"},
		{"number overflow", strings.Replace(good, `"spot":190.25`, `"spot":1e999`, 1), "cannot unmarshal number 1e999"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.doc), testNow)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrInvalid containing %q", c.name, err, c.want)
		}
	}
	// Trailing white space is not trailing data.
	if _, err := Parse([]byte(good+"\n\t "), testNow); err != nil {
		t.Errorf("trailing white space: %v", err)
	}
}

func TestBlack76Resolution(t *testing.T) {
	fm := baseDoc()
	// The future may come after the option in the file, and may expire at
	// the same instant as the option.
	fm.Instruments = append(fm.Instruments,
		fileInstrument{ID: 10, Symbol: "MSFT 2027-06 C400 F", Kind: "call", Model: "black76", Underlying: "MSFT", Future: 11,
			Strike: 400, Expiry: "2027-06-18T21:00:00Z", Multiplier: 100},
		fileInstrument{ID: 11, Symbol: "MSFT 2027-06 F", Kind: "future", Underlying: "MSFT", Expiry: "2027-06-18T16:00:00-05:00", Multiplier: 50},
	)
	m, err := Parse(encode(t, fm), testNow)
	if err != nil {
		t.Fatal(err)
	}
	opt := m.Instruments[5]
	if opt.Future != 6 || m.Instruments[opt.Future].ID != 11 {
		t.Errorf("Future = %d, want 6 (the index of id 11)", opt.Future)
	}
	if !m.Instruments[6].Expiry.Equal(opt.Expiry) {
		t.Error("expiries in different zones should be the same instant")
	}
	// One nanosecond before the option: refused.
	fm.Instruments[len(fm.Instruments)-1].Expiry = "2027-06-18T20:59:59.999999999Z"
	if _, err := Parse(encode(t, fm), testNow); err == nil || !strings.Contains(err.Error(), "expires before the option") {
		t.Errorf("future 1 ns before the option: %v", err)
	}
}

func TestCorrelationSubset(t *testing.T) {
	fm := baseDoc()
	fm.Underlyings = append(fm.Underlyings,
		fileUnderlying{Symbol: "NVDA", Spot: 120, Vol: json.RawMessage(`{"flat":0.5}`)},
		fileUnderlying{Symbol: "AMZN", Spot: 180, Vol: json.RawMessage(`{"flat":0.35}`)})
	// Names two of four underlyings, in a different order from the file.
	fm.Correlation = &fileCorrelation{Symbols: []string{"AMZN", "MSFT"}, Matrix: [][]float64{{1, -0.25}, {-0.25, 1}}}
	m, err := Parse(encode(t, fm), testNow)
	if err != nil {
		t.Fatal(err)
	}
	n := 4
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			want := 0.0
			switch {
			case i == j:
				want = 1
			case (i == 1 && j == 3) || (i == 3 && j == 1):
				want = -0.25
			}
			if got := m.Correlation[i*n+j]; got != want {
				t.Errorf("correlation[%d][%d] = %v, want %v", i, j, got, want)
			}
		}
	}
	// No correlation at all: the identity.
	fm.Correlation = nil
	if m, err = Parse(encode(t, fm), testNow); err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Correlation {
		if want := map[bool]float64{true: 1, false: 0}[i/n == i%n]; v != want {
			t.Errorf("identity: entry %d = %v", i, v)
		}
	}
	// An empty list is allowed and means the same.
	fm.Correlation = &fileCorrelation{Symbols: []string{}, Matrix: [][]float64{}}
	if _, err = Parse(encode(t, fm), testNow); err != nil {
		t.Errorf("empty correlation: %v", err)
	}
	// Symmetry is checked to 1e-12.
	fm.Correlation = &fileCorrelation{Symbols: []string{"AAPL", "MSFT"}, Matrix: [][]float64{{1, 0.3}, {0.3 + 1e-13, 1}}}
	if _, err = Parse(encode(t, fm), testNow); err != nil {
		t.Errorf("asymmetry of 1e-13: %v", err)
	}
}

func TestExpiryPastAndBound(t *testing.T) {
	fm := baseDoc()
	fm.Instruments[2].Expiry = "2020-01-17T21:00:00Z" // expired: accepted
	if _, err := Parse(encode(t, fm), testNow); err != nil {
		t.Errorf("expired option: %v", err)
	}
	// 50 ACT/365 years: 18,250 days.
	fm.Instruments[2].Expiry = testNow.AddDate(0, 0, 50*365).Format(time.RFC3339)
	if _, err := Parse(encode(t, fm), testNow); err != nil {
		t.Errorf("expiry at exactly 50 years: %v", err)
	}
	fm.Instruments[2].Expiry = testNow.AddDate(0, 0, 50*365).Add(time.Second).Format(time.RFC3339)
	if _, err := Parse(encode(t, fm), testNow); err == nil {
		t.Error("expiry beyond 50 years accepted")
	}
}

func TestYearsBetween(t *testing.T) {
	cases := []struct {
		to   time.Time
		want float64
	}{
		{testNow, 0},
		{testNow.Add(-time.Hour), 0},
		{testNow.AddDate(-5, 0, 0), 0},
		{testNow.Add(365 * 24 * time.Hour), 1},
		{testNow.Add(12 * time.Hour), 0.5 / 365},
		{testNow.Add(730 * 24 * time.Hour), 2},
		{testNow.AddDate(4, 0, 0), 1461.0 / 365}, // a leap day on the way
		{testNow.In(time.FixedZone("x", -5*3600)).Add(73 * 24 * time.Hour), 0.2},
	}
	for _, c := range cases {
		if got := YearsBetween(testNow, c.to); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("YearsBetween(now, %s) = %v, want %v", c.to, got, c.want)
		}
	}
}

func TestByITCH(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "master.json"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		sym  string
		want int
		ok   bool
	}{
		{"AAPL", 0, true},
		{"AAPL    ", 0, true}, // an 8-byte ITCH field
		{"MSFT", 1, true},     // itch defaults to the symbol
		{"BRK B", 2, true},    // the file's "BRK B   ", trimmed
		{"BRK B   ", 2, true},
		{"BRK.B", 0, false}, // the symbol is not the ITCH name
		{"  AAPL", 0, false},
		{"aapl", 0, false},
		{"", 0, false},
	}
	for _, c := range cases {
		got, ok := m.ByITCH(c.sym)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("ByITCH(%q) = %d, %v; want %d, %v", c.sym, got, ok, c.want, c.ok)
		}
	}
	if m.Underlyings[2].ITCH != "BRK B" {
		t.Errorf("ITCH %q, want trailing spaces trimmed", m.Underlyings[2].ITCH)
	}
}

func TestLoad(t *testing.T) {
	plain, err := Load(filepath.Join("testdata", "master.json"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	gz, err := Load(filepath.Join("testdata", "master.json.gz"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !sameMaster(plain, gz) {
		t.Error("gzip and plain loads differ")
	}
	if len(plain.Instruments) != 9 || len(plain.Underlyings) != 3 {
		t.Fatalf("loaded %d instruments, %d underlyings", len(plain.Instruments), len(plain.Underlyings))
	}
	i, ok := plain.Index(4_000_000_000)
	if !ok || plain.Instruments[i].Symbol != "BRK.B" {
		t.Error("large id not indexed")
	}
	// The Black-76 option names a future later in the file.
	i, _ = plain.Index(5)
	if f := plain.Instruments[i].Future; f < 0 || plain.Instruments[f].ID != 7 {
		t.Errorf("id 5's future resolved to index %d", f)
	}
	// The correlation names MSFT before AAPL; BRK.B is unnamed.
	n := 3
	if plain.Correlation[0*n+1] != 0.6 || plain.Correlation[1*n+0] != 0.6 || plain.Correlation[0*n+2] != 0 {
		t.Errorf("correlation %v", plain.Correlation)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json"), testNow); !errors.Is(err, ErrInvalid) {
		t.Errorf("missing file: %v", err)
	}
	// A corrupt gzip stream is an error, not a panic.
	bad := filepath.Join(t.TempDir(), "bad.json.gz")
	raw, _ := os.ReadFile(filepath.Join("testdata", "master.json.gz"))
	if err := os.WriteFile(bad, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad, testNow); !errors.Is(err, ErrInvalid) {
		t.Errorf("truncated gzip: %v", err)
	}
}

func TestKindsAndModels(t *testing.T) {
	for _, k := range []Kind{Spot, Future, Call, Put} {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if Kind(0).String() != "kind(0)" || Kind(9).String() != "kind(9)" {
		t.Errorf("unknown kinds: %s %s", Kind(0), Kind(9))
	}
	if _, err := ParseKind("kind(0)"); !errors.Is(err, ErrInvalid) {
		t.Error("ParseKind accepted an unknown kind")
	}
	if !Call.IsOption() || !Put.IsOption() || Spot.IsOption() || Future.IsOption() {
		t.Error("IsOption")
	}
	if BSM.String() != "bs" || Black76.String() != "black76" || Model(0).String() != "model(0)" {
		t.Errorf("models: %s %s %s", BSM, Black76, Model(0))
	}
}

// toFile writes m back in the file format.
func toFile(m *Master) fileMaster {
	fm := fileMaster{Version: 1, Rate: ptr(m.Rate)}
	n := len(m.Underlyings)
	fc := &fileCorrelation{}
	for i, u := range m.Underlyings {
		fm.Underlyings = append(fm.Underlyings, fileUnderlying{Symbol: u.Symbol, ITCH: u.ITCH, Spot: u.Spot, Div: u.Div, Vol: u.Vol})
		fc.Symbols = append(fc.Symbols, u.Symbol)
		fc.Matrix = append(fc.Matrix, append([]float64(nil), m.Correlation[i*n:(i+1)*n]...))
	}
	fm.Correlation = fc
	for _, in := range m.Instruments {
		fi := fileInstrument{ID: uint64(in.ID), Symbol: in.Symbol, Kind: in.Kind.String(),
			Underlying: m.Underlyings[in.Underlying].Symbol, Strike: in.Strike, Multiplier: in.Multiplier}
		if in.Kind != Spot {
			fi.Expiry = in.Expiry.Format(time.RFC3339Nano)
		}
		if in.Kind.IsOption() {
			fi.Model = in.Model.String()
		}
		if in.Model == Black76 {
			fi.Future = uint64(m.Instruments[in.Future].ID)
		}
		fm.Instruments = append(fm.Instruments, fi)
	}
	return fm
}

// sameMaster compares two masters field by field (times as instants).
func sameMaster(a, b *Master) bool {
	if a.Rate != b.Rate || len(a.Underlyings) != len(b.Underlyings) || len(a.Instruments) != len(b.Instruments) ||
		len(a.Correlation) != len(b.Correlation) {
		return false
	}
	for i := range a.Underlyings {
		x, y := a.Underlyings[i], b.Underlyings[i]
		if x.Symbol != y.Symbol || x.ITCH != y.ITCH || x.Spot != y.Spot || x.Div != y.Div || x.ATMVol != y.ATMVol ||
			!sameJSON(x.Vol, y.Vol) {
			return false
		}
	}
	for i := range a.Correlation {
		if a.Correlation[i] != b.Correlation[i] {
			return false
		}
	}
	for i := range a.Instruments {
		x, y := a.Instruments[i], b.Instruments[i]
		if x.ID != y.ID || x.Symbol != y.Symbol || x.Kind != y.Kind || x.Model != y.Model || x.Underlying != y.Underlying ||
			x.Future != y.Future || x.Strike != y.Strike || !x.Expiry.Equal(y.Expiry) || x.Multiplier != y.Multiplier {
			return false
		}
	}
	return true
}

// sameJSON compares two JSON texts ignoring insignificant white space.
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func TestRoundTrip(t *testing.T) {
	for _, path := range []string{filepath.Join("testdata", "master.json")} {
		m, err := Load(path, testNow)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(encode(t, toFile(m)), testNow)
		if err != nil {
			t.Fatalf("%s: re-parse: %v", path, err)
		}
		if !sameMaster(m, again) {
			t.Errorf("%s: round trip changed the master", path)
		}
	}
}

// checkMaster verifies the invariants a parsed master promises.
func checkMaster(t *testing.T, m *Master) {
	n := len(m.Underlyings)
	if len(m.Correlation) != n*n {
		t.Fatalf("correlation has %d entries for %d underlyings", len(m.Correlation), n)
	}
	for i := 0; i < n; i++ {
		if m.Correlation[i*n+i] != 1 {
			t.Fatalf("diagonal %d = %v", i, m.Correlation[i*n+i])
		}
		if u, ok := m.ByITCH(m.Underlyings[i].ITCH); !ok || u != i {
			t.Fatalf("ByITCH(%q) = %d, %v", m.Underlyings[i].ITCH, u, ok)
		}
	}
	for i, in := range m.Instruments {
		if j, ok := m.Index(in.ID); !ok || j != i {
			t.Fatalf("Index(%d) = %d, %v", in.ID, j, ok)
		}
		if in.Underlying < 0 || in.Underlying >= n || !(in.Multiplier > 0) {
			t.Fatalf("instrument %d: %+v", i, in)
		}
		if in.Model == Black76 {
			if in.Future < 0 || in.Future >= len(m.Instruments) || m.Instruments[in.Future].Kind != Future {
				t.Fatalf("instrument %d: future index %d", i, in.Future)
			}
		} else if in.Future != -1 {
			t.Fatalf("instrument %d: Future %d without Black-76", i, in.Future)
		}
	}
}

func FuzzParseMaster(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "master.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(encode(f, baseDoc()))
	fm := baseDoc()
	fm.Correlation.Matrix[1] = []float64{}
	f.Add(encode(f, fm))
	f.Add([]byte(`{"version":1,"rate":0,"underlyings":[{"symbol":"A","spot":1,"vol":{"flat":0}}],"instruments":[{"id":1,"symbol":"A","kind":"spot","underlying":"A"}]}`))
	f.Add([]byte(`{"version":1,"rate":0.1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, testNow)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		checkMaster(t, m)
		again, err := Parse(encode(t, toFile(m)), testNow)
		if err != nil {
			t.Fatalf("accepted master does not re-validate: %v", err)
		}
		if !sameMaster(m, again) {
			t.Fatal("round trip changed the master")
		}
	})
}

func BenchmarkParseMaster(b *testing.B) {
	fm := baseDoc()
	for i := 0; i < 2000; i++ {
		fm.Instruments = append(fm.Instruments, fileInstrument{ID: uint64(100 + i), Symbol: fmt.Sprintf("AAPL 2027-03 BENCH C%d", 100+i),
			Kind: "call", Underlying: "AAPL", Strike: float64(100 + i), Expiry: "2027-03-19T21:00:00Z", Multiplier: 100})
	}
	data := encode(b, fm)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, testNow); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(fm.Instruments))*float64(b.N)/b.Elapsed().Seconds(), "instruments/s")
}
