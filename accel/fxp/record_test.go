package fxp

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ballast-risk/ballast/accel"
)

// recordInstruments are the golden instruments, random options, linear
// kinds and the σ→0 and T = 0 corners.
func recordInstruments() []accel.Instrument {
	ins := goldenInstruments()
	ins = append(ins,
		accel.Instrument{Kind: accel.Spot, Model: accel.BSM, S: 3.5, Carry: 1, Multiplier: 1000},
		accel.Instrument{Kind: accel.Call, Model: accel.BSM, S: 50, K: 50, T: 0.25, Sigma: 0, Carry: 1, Multiplier: 1},
		accel.Instrument{Kind: accel.Put, Model: accel.Black76, S: 80, K: 90, T: 2, R: -0.01, Sigma: 1e-7, Carry: 0.98, Multiplier: 3},
	)
	r := rand.New(rand.NewPCG(41, 1))
	for range 300 {
		ins = append(ins, randOption(r))
	}
	return ins
}

var recordShocks = []struct {
	x int32
	m uint32
}{
	{0, MOne}, {-XMax, MMin}, {XMax, MMax}, {1 << 24, MOne / 2}, {-3 << 25, 3 * MOne}, {12345, MOne + 777},
}

// The kernel functions of a decoded instrument record give the bits of the
// parameters that wrote it.
func TestInstrumentRecordRoundTrip(t *testing.T) {
	buf := make([]byte, InstrumentRecordBytes+8)
	for i, in := range recordInstruments() {
		p := mustParams(t, &in)
		for k := range buf {
			buf[k] = 0xA5 // PutRecord writes every byte of the record
		}
		p.PutRecord(buf, uint32(i))
		if buf[InstrumentRecordBytes] != 0xA5 {
			t.Fatal("PutRecord wrote beyond the record")
		}
		q, u, err := InstrumentRecord(buf)
		if err != nil {
			t.Fatalf("instrument %d (%+v): %v", i, in, err)
		}
		if u != uint32(i) {
			t.Fatalf("instrument %d: underlying %d", i, u)
		}
		if q.Value0() != p.Value0() || q.Greeks() != p.Greeks() {
			t.Fatalf("instrument %d: V0 %d/%d, Greeks %+v/%+v", i, q.Value0(), p.Value0(), q.Greeks(), p.Greeks())
		}
		for _, s := range recordShocks {
			v, w := p.Value(s.x, s.m), q.Value(s.x, s.m)
			d, e := p.ValueDGV(s.x, s.m), q.ValueDGV(s.x, s.m)
			if v != w || d != e || p.Loss(v) != q.Loss(w) || p.Loss(d) != q.Loss(e) {
				t.Fatalf("instrument %d at (%d, %d): Value %d/%d, DGV %d/%d", i, s.x, s.m, v, w, d, e)
			}
		}
		var again [InstrumentRecordBytes]byte
		q.PutRecord(again[:], uint32(i))
		if !bytes.Equal(again[:], buf[:InstrumentRecordBytes]) {
			t.Fatalf("instrument %d: re-encoding differs", i)
		}
	}
}

func TestInstrumentRecordRejects(t *testing.T) {
	in := goldenInstruments()[0]
	var good [InstrumentRecordBytes]byte
	mustParams(t, &in).PutRecord(good[:], 2)
	cases := map[string]func(b []byte){
		"kind":  func(b []byte) { b[recKind] = 9 },
		"model": func(b []byte) { b[recModel] = 3 },
		"linear model": func(b []byte) {
			b[recKind] = byte(accel.Spot)
		},
		"reserved[3]": func(b []byte) { b[recReserved3] = 1 },
		"lossSh":      func(b []byte) { b[recLossSh] = 63 },
		"lossM":       func(b []byte) { le.PutUint32(b[recLossM:], 1<<24) },
		"v0":          func(b []byte) { le.PutUint64(b[recV0:], uint64(VMax)) },
		"lnFK":        func(b []byte) { le.PutUint32(b[recLnFK:], uint32(XMax+1)) },
		"unnormalised": func(b []byte) {
			le.PutUint32(b[recScaled+8:], 5)
		},
		"zero with exponent": func(b []byte) { putScaled(b[recScaled:], Scaled{M: 0, E: 3}) },
		"exponent":           func(b []byte) { le.PutUint32(b[recScaled+12:], 1<<20) },
		"reserved tail":      func(b []byte) { b[InstrumentRecordBytes-1] = 1 },
	}
	for name, mutate := range cases {
		b := good
		mutate(b[:])
		_, _, err := InstrumentRecord(b[:])
		var re *RangeError
		if !errors.As(err, &re) || !errors.Is(err, ErrRange) || re.Field == "" {
			t.Errorf("%s: %v, want a RangeError", name, err)
		}
	}
	if _, _, err := InstrumentRecord(good[:InstrumentRecordBytes-1]); !errors.Is(err, ErrRange) {
		t.Errorf("short record: %v", err)
	}
}

// Row on a decoded scenario record gives the bits of the parameters that
// wrote it, for every configuration of the scenario tests.
func TestScenarioRecordRoundTrip(t *testing.T) {
	for name, sc := range scenarioConfigs(t) {
		p, err := NewScenarioParams(&sc, len(sc.Vols))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, p.RecordBytes()+16)
		for k := range buf {
			buf[k] = 0x5A
		}
		p.PutRecord(buf)
		if buf[p.RecordBytes()] != 0x5A {
			t.Fatalf("%s: PutRecord wrote beyond the record", name)
		}
		q, n, err := ScenarioRecord(buf)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n != p.RecordBytes() || q.XAbsMax() != p.XAbsMax() || q.VolShocks() != p.VolShocks() || q.Underlyings() != p.Underlyings() {
			t.Fatalf("%s: size %d/%d, XAbsMax %d/%d", name, n, p.RecordBytes(), q.XAbsMax(), p.XAbsMax())
		}
		u := p.Underlyings()
		x1, x2 := make([]int32, u), make([]int32, u)
		m1, m2 := make([]uint32, u), make([]uint32, u)
		for _, idx := range []uint64{0, 1, 2, 999, 1 << 32, 1<<40 + 17} {
			p.Row(idx, x1, m1)
			q.Row(idx, x2, m2)
			for k := range x1 {
				if x1[k] != x2[k] || m1[k] != m2[k] {
					t.Fatalf("%s row %d underlying %d: x %d/%d, m %d/%d", name, idx, k, x1[k], x2[k], m1[k], m2[k])
				}
			}
		}
		again := make([]byte, n)
		q.PutRecord(again)
		if !bytes.Equal(again, buf[:n]) {
			t.Fatalf("%s: re-encoding differs", name)
		}
	}
}

func TestScenarioRecordRejects(t *testing.T) {
	sc := scenarioConfigs(t)["vol-shocks"]
	p, err := NewScenarioParams(&sc, len(sc.Vols))
	if err != nil {
		t.Fatal(err)
	}
	good := make([]byte, p.RecordBytes())
	p.PutRecord(good)
	tbl := ScenarioRecordFixedBytes
	chol := tbl + ScenarioUnderlyingBytes*p.Underlyings()
	cases := map[string]func(b []byte){
		"U zero":        func(b []byte) { le.PutUint32(b[scnU:], 0) },
		"U huge":        func(b []byte) { le.PutUint32(b[scnU:], 1<<20) },
		"flags":         func(b []byte) { le.PutUint32(b[scnFlags:], 7) },
		"ν":             func(b []byte) { le.PutUint32(b[scnNu:], 2) },
		"ν without √":   func(b []byte) { le.PutUint32(b[scnNu:], 5) },
		"reserved":      func(b []byte) { b[scnReserved2] = 1 },
		"ρ":             func(b []byte) { le.PutUint32(b[scnRho:], 1<<CFrac+1) },
		"η√h":           func(b []byte) { le.PutUint32(b[scnAm:], 3) },
		"b":             func(b []byte) { le.PutUint64(b[scnB:], 1) },
		"μ":             func(b []byte) { le.PutUint64(b[tbl:], 5) },
		"σ√h":           func(b []byte) { le.PutUint32(b[tbl+12:], 63) },
		"upper":         func(b []byte) { le.PutUint32(b[chol+4:], 1) },
		"cell":          func(b []byte) { le.PutUint32(b[chol:], 1<<CFrac+1) },
		"no vol shocks": func(b []byte) { le.PutUint32(b[scnFlags:], ScenarioFlagCholesky) },
	}
	for name, mutate := range cases {
		b := bytes.Clone(good)
		mutate(b)
		_, _, err := ScenarioRecord(b)
		var re *RangeError
		if !errors.As(err, &re) || !errors.Is(err, ErrRange) || re.Field == "" {
			t.Errorf("%s: %v, want a RangeError", name, err)
		}
	}
	if _, _, err := ScenarioRecord(good[:len(good)-4]); !errors.Is(err, ErrRange) {
		t.Errorf("short record: %v", err)
	}
}

// Any bytes decode to parameters or a *RangeError, never a panic; decoded
// parameters evaluate without panicking and re-encode to the same bytes.
func FuzzInstrumentRecord(f *testing.F) {
	for _, in := range goldenInstruments() {
		b := make([]byte, InstrumentRecordBytes)
		p, err := NewInstrumentParams(&in)
		if err != nil {
			f.Fatal(err)
		}
		p.PutRecord(b, 1)
		f.Add(b)
	}
	f.Add(make([]byte, 7))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, u, err := InstrumentRecord(b)
		if err != nil {
			var re *RangeError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a RangeError", err)
			}
			return
		}
		for _, s := range recordShocks {
			_ = p.Loss(p.Value(s.x, s.m))
			_ = p.Loss(p.ValueDGV(s.x, s.m))
		}
		_ = p.Greeks()
		again := make([]byte, InstrumentRecordBytes)
		p.PutRecord(again, u)
		if !bytes.Equal(again, b[:InstrumentRecordBytes]) {
			t.Fatalf("re-encoding differs:\n%x\n%x", again, b[:InstrumentRecordBytes])
		}
	})
}

// Any bytes decode to parameters or a *RangeError, never a panic; decoded
// parameters generate rows without panicking and re-encode to the same
// bytes.
func FuzzScenarioRecord(f *testing.F) {
	for _, sc := range []accel.Scenarios{
		{Seed: 1, HorizonYears: 1.0 / 252, Vols: []float64{0.2, 0.3}},
		{Seed: 2, HorizonYears: 0.1, Vols: []float64{0.2, 0.3}, Cholesky: []float64{1, 0, 0.5, math.Sqrt(0.75)}, StudentTDoF: 4, VolOfVol: 0.5, SpotVolCorr: -0.5},
	} {
		p, err := NewScenarioParams(&sc, len(sc.Vols))
		if err != nil {
			f.Fatal(err)
		}
		b := make([]byte, p.RecordBytes())
		p.PutRecord(b)
		f.Add(b)
	}
	f.Add(make([]byte, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, n, err := ScenarioRecord(b)
		if err != nil {
			var re *RangeError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a RangeError", err)
			}
			return
		}
		if p.Underlyings() > 64 {
			return // keep a run short; the decoding itself was exercised
		}
		x, m := make([]int32, p.Underlyings()), make([]uint32, p.Underlyings())
		p.Row(3, x, m)
		again := make([]byte, n)
		p.PutRecord(again)
		if !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoding differs")
		}
	})
}
