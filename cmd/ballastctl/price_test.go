package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ballast-risk/ballast/engine/pricing"
)

// runPriceWith runs `ballastctl price args...` with input on stdin.
func runPriceWith(t *testing.T, input string, args ...string) (code int, out, errOut string) {
	t.Helper()
	saved := stdin
	stdin = strings.NewReader(input)
	defer func() { stdin = saved }()
	var o, e bytes.Buffer
	code = run(append([]string{"price"}, args...), &o, &e)
	return code, o.String(), e.String()
}

// priceOutputLines splits the output into decoded objects with their keys
// in order.
func priceOutputLines(t *testing.T, out string) []map[string]json.RawMessage {
	t.Helper()
	var res []map[string]json.RawMessage
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("output line is not a JSON object: %q: %v", line, err)
		}
		res = append(res, m)
	}
	return res
}

// priceKeys returns m's keys, sorted and comma-separated.
func priceKeys(m map[string]json.RawMessage) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func TestPriceContract(t *testing.T) {
	in := `{"id":1,"model":"bs","type":"call","S":42,"K":40,"T":0.5,"r":0.1,"q":0,"sigma":0.2}` + "\n" +
		`{"id":"f","model":"black76","type":"put","F":20,"K":20,"T":0.3333333333333333,"r":0.09,"sigma":0.25}` + "\n"
	code, out, errOut := runPriceWith(t, in)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := priceOutputLines(t, out)
	if len(lines) != 2 {
		t.Fatalf("%d output lines, want 2:\n%s", len(lines), out)
	}
	// Exactly DESIGN §5.1's keys, in its order.
	if first := strings.SplitN(out, "\n", 2)[0]; !strings.HasPrefix(first, `{"id":1,"price":`) ||
		!regexpKeysInOrder(first, "id", "price", "delta", "gamma", "vega", "theta", "rho") {
		t.Errorf("keys or order differ: %s", first)
	}
	for i, want := range []pricing.Inputs{
		{Model: pricing.ModelBSM, Kind: pricing.Call, S: 42, K: 40, T: 0.5, R: 0.1, Sigma: 0.2},
		{Model: pricing.ModelBlack76, Kind: pricing.Put, S: 20, K: 20, T: 0.3333333333333333, R: 0.09, Sigma: 0.25},
	} {
		g, err := pricing.Compute(want)
		if err != nil {
			t.Fatal(err)
		}
		m := lines[i]
		if priceKeys(m) != "delta,gamma,id,price,rho,theta,vega" {
			t.Errorf("line %d keys %s", i, priceKeys(m))
		}
		// Full precision: the printed numbers parse back bit for bit.
		for key, v := range map[string]float64{"price": g.Price, "delta": g.Delta, "gamma": g.Gamma, "vega": g.Vega, "theta": g.Theta, "rho": g.Rho} {
			got, err := strconv.ParseFloat(string(m[key]), 64)
			if err != nil || got != v {
				t.Errorf("line %d %s = %s, want %v", i, key, m[key], v)
			}
		}
	}
	if string(lines[0]["id"]) != "1" || string(lines[1]["id"]) != `"f"` {
		t.Errorf("ids %s %s", lines[0]["id"], lines[1]["id"])
	}
	// Hull's example to its printed precision.
	if p, _ := strconv.ParseFloat(string(lines[0]["price"]), 64); math.Abs(p-4.76) > 0.005 {
		t.Errorf("Hull call %v, want 4.76", p)
	}
}

// regexpKeysInOrder reports whether the keys appear in this order.
func regexpKeysInOrder(line string, ks ...string) bool {
	at := 0
	for _, k := range ks {
		i := strings.Index(line[at:], `"`+k+`":`)
		if i < 0 {
			return false
		}
		at += i + 1
	}
	return strings.Count(line, `":`) == len(ks)
}

func TestPriceAllGreeks(t *testing.T) {
	code, out, _ := runPriceWith(t, `{"id":1,"model":"bs","type":"call","S":42,"K":40,"T":0.5,"r":0.1,"sigma":0.2}`, "--all-greeks")
	if code != exitOK {
		t.Fatal(code)
	}
	m := priceOutputLines(t, out)[0]
	if priceKeys(m) != "delta,gamma,id,price,rho,theta,vanna,vega,volga" {
		t.Fatalf("keys %s", priceKeys(m))
	}
}

func TestPriceBadLines(t *testing.T) {
	good := `{"id":0,"model":"bs","type":"call","S":100,"K":100,"T":1,"r":0,"sigma":0.2}`
	cases := []struct {
		line, id, errSub string
	}{
		{`not json`, "null", "invalid JSON"},
		{`[1,2]`, "null", "invalid JSON"},
		{`null`, "null", "invalid JSON"},
		{`{"id":"a","model":"bsm","type":"call","S":1,"K":1,"T":1,"r":0,"sigma":0.2}`, `"a"`, "unknown model"},
		{`{"id":2,"model":"bs","type":"straddle","S":1,"K":1,"T":1,"r":0,"sigma":0.2}`, "2", "unknown option type"},
		{`{"id":3,"model":"black76","type":"call","S":1,"K":1,"T":1,"r":0,"sigma":0.2}`, "3", `"S" does not apply`},
		{`{"id":4,"model":"bs","type":"call","F":1,"K":1,"T":1,"r":0,"sigma":0.2}`, "4", `"F" does not apply`},
		{`{"id":5,"model":"black76","type":"call","F":1,"K":1,"T":1,"r":0,"q":0.01,"sigma":0.2}`, "5", `"q" does not apply`},
		{`{"id":6,"model":"bs","type":"call","K":1,"T":1,"r":0,"sigma":0.2}`, "6", `missing "S"`},
		{`{"id":7,"model":"bs","type":"call","S":1,"K":1,"T":1,"r":0}`, "7", `missing "sigma"`},
		{`{"id":8,"type":"call","S":1,"K":1,"T":1,"r":0,"sigma":0.2}`, "8", `missing "model"`},
		{`{"id":9,"model":"bs","type":"call","S":"1","K":1,"T":1,"r":0,"sigma":0.2}`, "9", "must be a number"},
		{`{"id":10,"model":"bs","type":"call","S":null,"K":1,"T":1,"r":0,"sigma":0.2}`, "10", "must be a number"},
		{`{"id":11,"model":"bs","type":"call","S":1e999,"K":1,"T":1,"r":0,"sigma":0.2}`, "11", "not a float64"},
		{`{"id":12,"model":"bs","type":"call","S":1,"K":0,"T":1,"r":0,"sigma":0.2}`, "12", "invalid K"},
		{`{"id":13,"model":"bs","type":"call","S":1,"K":1,"T":-1,"r":0,"sigma":0.2}`, "13", "invalid T"},
		{`{"id":14,"model":"bs","type":"call","S":1,"K":1,"T":1,"r":0,"sigma":-0.2}`, "14", "invalid sigma"},
		{`{"id":15,"model":"bs","type":"call","s":1,"K":1,"T":1,"r":0,"sigma":0.2}`, "15", `unknown field "s"`},
		{`{"id":16,"model":1,"type":"call","S":1,"K":1,"T":1,"r":0,"sigma":0.2}`, "16", "must be a string"},
		{`{"id":{"nested":[1,{"x":null}]},"model":"bs","type":"call","S":1,"K":1,"T":1,"r":0}`, `{"nested":[1,{"x":null}]}`, `missing "sigma"`},
		{strings.Repeat("x", priceLineBytesMax+10), "null", "exceeds"},
	}
	var in strings.Builder
	for _, c := range cases {
		in.WriteString(c.line + "\n\n   \n" + good + "\n") // blank lines are skipped
	}
	code, out, errOut := runPriceWith(t, in.String())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := priceOutputLines(t, out)
	if len(lines) != 2*len(cases) {
		t.Fatalf("%d output lines, want %d", len(lines), 2*len(cases))
	}
	for i, c := range cases {
		bad, ok := lines[2*i], lines[2*i+1]
		var msg string
		if err := json.Unmarshal(bad["error"], &msg); err != nil || !strings.Contains(msg, c.errSub) || string(bad["id"]) != c.id || len(bad) != 2 {
			t.Errorf("%.50s: got %v (error %q), want id %s and an error containing %q", c.line, bad, msg, c.id, c.errSub)
		}
		if _, has := ok["price"]; !has || string(ok["id"]) != "0" {
			t.Errorf("line after %.50s was not priced: %v", c.line, ok)
		}
	}
}

func TestPriceMissingIDAndLastLine(t *testing.T) {
	// No id → null; a last line without a newline is still answered.
	code, out, _ := runPriceWith(t, `{"model":"bs","type":"put","S":100,"K":100,"T":1,"r":0,"sigma":0.2}`)
	if code != exitOK || !strings.HasPrefix(out, `{"id":null,"price":`) || !strings.HasSuffix(out, "}\n") {
		t.Fatalf("exit %d: %q", code, out)
	}
	if code, out, _ := runPriceWith(t, ""); code != exitOK || out != "" {
		t.Fatalf("empty input: exit %d, %q", code, out)
	}
}

func TestPriceGoldenFile(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "price_sample.golden"))
	if err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if code := run([]string{"price", "--file", filepath.Join("testdata", "price_sample.jsonl")}, &o, &e); code != exitOK {
		t.Fatalf("exit %d: %s", code, e.String())
	}
	if o.String() != string(want) {
		t.Fatalf("output differs from testdata/price_sample.golden:\n%s", o.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("device gone") }

func TestPriceIOFailures(t *testing.T) {
	saved := stdin
	defer func() { stdin = saved }()
	stdin = strings.NewReader(`{"id":1,"model":"bs","type":"call","S":1,"K":1,"T":1,"r":0,"sigma":0.2}` + "\n")
	var e bytes.Buffer
	if code := run([]string{"price"}, failingWriter{}, &e); code != exitFail || !strings.Contains(e.String(), "disk full") {
		t.Errorf("write failure: exit %d, %q", code, e.String())
	}
	stdin = failingReader{}
	e.Reset()
	if code := run([]string{"price"}, &bytes.Buffer{}, &e); code != exitFail || !strings.Contains(e.String(), "device gone") {
		t.Errorf("read failure: exit %d, %q", code, e.String())
	}
	e.Reset()
	if code := run([]string{"price", "--file", filepath.Join(t.TempDir(), "absent")}, &bytes.Buffer{}, &e); code != exitFail {
		t.Errorf("missing file: exit %d", code)
	}
	if code := run([]string{"price", "extra"}, &bytes.Buffer{}, &e); code != exitUsage {
		t.Errorf("extra argument: exit %d", code)
	}
	if code := run([]string{"price", "--bogus"}, &bytes.Buffer{}, &e); code != exitUsage {
		t.Errorf("unknown flag: exit %d", code)
	}
	if code := run([]string{"price", "--help"}, &bytes.Buffer{}, &e); code != exitOK {
		t.Errorf("--help: exit %d", code)
	}
}

// FuzzPriceLine: any line gets exactly one JSON object back, with either
// the six numbers or an error, and never a NaN or an infinity.
func FuzzPriceLine(f *testing.F) {
	f.Add([]byte(`{"id":1,"model":"bs","type":"call","S":42,"K":40,"T":0.5,"r":0.1,"q":0,"sigma":0.2}`))
	f.Add([]byte(`{"id":"f","model":"black76","type":"put","F":20,"K":20,"T":0.33,"r":0.09,"sigma":0.25}`))
	f.Add([]byte(`{"id":[1,{}],"model":"bs","type":"put","S":1e-300,"K":1e300,"T":1e3,"r":-0.5,"q":0.5,"sigma":50}`))
	f.Add([]byte(`{"id":null,"model":"bs","type":"call","S":"1"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, line []byte) {
		out := priceLine(nil, line, true)
		if len(out) == 0 || out[len(out)-1] != '\n' || bytes.Count(out, []byte("\n")) != 1 {
			t.Fatalf("not one line: %q", out)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("not a JSON object: %q: %v", out, err)
		}
		if _, ok := m["id"]; !ok {
			t.Fatalf("no id: %s", out)
		}
		if _, isErr := m["error"]; isErr {
			if len(m) != 2 {
				t.Fatalf("error line with extra keys: %s", out)
			}
			return
		}
		if priceKeys(m) != "delta,gamma,id,price,rho,theta,vanna,vega,volga" {
			t.Fatalf("keys %s", priceKeys(m))
		}
		for k, v := range m {
			if k == "id" {
				continue
			}
			if f, err := strconv.ParseFloat(string(v), 64); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				t.Fatalf("%s = %s", k, v)
			}
		}
	})
}
