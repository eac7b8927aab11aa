package riskfile

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/scenario"
)

func load(t *testing.T) *File {
	t.Helper()
	data, err := os.ReadFile("testdata/portfolio.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestJob(t *testing.T) {
	f := load(t)
	job, rep, err := f.Job(10000, 7, 0.99, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Repaired {
		t.Fatal("a valid matrix was repaired")
	}
	if job.KVaR != 100 || job.KES != 100 {
		t.Fatalf("k = %d/%d, want 100 (ceil(10000·0.01))", job.KVaR, job.KES)
	}
	if job.Scenarios.HorizonYears != 2.0/252 || job.Scenarios.Seed != 7 || job.Scenarios.Count != 10000 {
		t.Fatalf("scenarios %+v", job.Scenarios)
	}
	fut := job.Instruments[1]
	if fut.Kind != accel.Future || math.Abs(fut.Carry-math.Exp(0.03*0.25)) > 1e-15 || fut.Multiplier != 50 {
		t.Fatalf("future %+v", fut)
	}
	call := job.Instruments[2]
	if call.Kind != accel.Call || call.Model != accel.BSM || call.K != 105 || call.Q != 0.01 || call.Sigma != 0.25 || call.T != 0.5 {
		t.Fatalf("call %+v", call)
	}
	if job.Instruments[0].Multiplier != 1 {
		t.Fatal("multiplier does not default to 1")
	}
	if l := job.Scenarios.Cholesky; l[0] != 1 || l[1] != 0 || l[2] != 0.6 || math.Abs(l[3]-0.8) > 1e-15 {
		t.Fatalf("Cholesky factor %v", l)
	}
	h1 := job.Hash()
	job2, _, _ := f.Job(10000, 7, 0.99, false)
	if job2.Hash() != h1 {
		t.Fatal("equal inputs, different hashes")
	}
	job3, _, _ := f.Job(10000, 8, 0.99, false)
	if job3.Hash() == h1 {
		t.Fatal("a different seed gives the same hash")
	}
}

func TestNotPSD(t *testing.T) {
	f := load(t)
	f.Underlyings = append(f.Underlyings, Underlying{Symbol: "CCC", Spot: 10, Vol: 0.3})
	f.Correlation = [][]float64{{1, 0.9, -0.9}, {0.9, 1, 0.9}, {-0.9, 0.9, 1}}
	_, _, err := f.Job(1000, 1, 0.99, false)
	if !errors.Is(err, scenario.ErrNotPSD) {
		t.Fatalf("not PSD accepted: %v", err)
	}
	_, rep, err := f.Job(1000, 1, 0.99, true)
	if err != nil || !rep.Repaired || rep.MinEigenvalue >= 0 {
		t.Fatalf("repair: %+v %v", rep, err)
	}
}

func TestParseErrors(t *testing.T) {
	good, _ := os.ReadFile("testdata/portfolio.json")
	for _, tc := range []struct{ from, to, want string }{
		{`"rate": 0.03`, `"rate": 3`, "rate"},
		{`"horizon_days": 2`, `"horizon_days": 0`, "horizon_days"},
		{`"spot": 100`, `"spot": -1`, "underlyings[0].spot"},
		{`"vol": 0.40`, `"vol": -0.4`, "underlyings[1].vol"},
		{`"div": 0.01`, `"div": 2`, "underlyings[0].div"},
		{`"symbol": "BBB"`, `"symbol": "AAA"`, "listed twice"},
		{`[[1, 0.6], [0.6, 1]]`, `[[1, 0.6]]`, "correlation"},
		{`"kind": "spot"`, `"kind": "swap"`, "positions[0].kind"},
		{`"strike": 105`, `"strike": 0`, "positions[2].strike"},
		{`"underlying": "AAA", "kind": "spot"`, `"underlying": "ZZZ", "kind": "spot"`, "positions[0].underlying"},
		{`"expiry_years": 0.1`, `"expiry_years": -0.1`, "positions[3].expiry_years"},
		{`"multiplier": 50`, `"multiplier": 0`, "positions[1].multiplier"},
		{`"qty": 1000`, `"qty": 1000, "colour": "red"`, "unknown field"},
		{`"rate": 0.03`, `"rate": "x"`, "rate"},
	} {
		doc := strings.Replace(string(good), tc.from, tc.to, 1)
		if doc == string(good) {
			t.Fatalf("case %q does not apply", tc.from)
		}
		_, err := Parse([]byte(doc))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s → %s: %v (want %q)", tc.from, tc.to, err, tc.want)
		}
	}
	if _, err := Parse(append(good, []byte(" {}")...)); err == nil {
		t.Error("trailing data accepted")
	}
}

func FuzzParse(f *testing.F) {
	good, _ := os.ReadFile("testdata/portfolio.json")
	f.Add(good)
	f.Add([]byte(`{"rate":0,"horizon_days":1,"underlyings":[{"symbol":"A","spot":1,"vol":0}],"positions":[{"underlying":"A","kind":"spot","qty":1}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		// An accepted file always builds a valid job or says why not.
		job, _, err := file.Job(100, 1, 0.95, true)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, accel.ErrInvalidJob) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := job.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}
