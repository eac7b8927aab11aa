package fxp

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ballast-risk/ballast/accel"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

// golden pins the kernel's bits: explicit results for a handful of inputs
// and a SHA-256 over a larger deterministic battery. A change of any
// rounding, table or constant fails TestGolden; if the change is intended,
// rerun with -update and say so in the change.
type golden struct {
	TablesHash string     `json:"tables_hash"`
	InvNorm    [][2]int64 `json:"invnorm"`     // w, z
	Exp        [][3]int64 `json:"exp"`         // x, M, E
	NormCDF    [][2]int64 `json:"normcdf"`     // d, N(d)
	NormPDF    [][3]int64 `json:"normpdf"`     // d, M, E
	Recip      [][4]int64 `json:"recip_rsqrt"` // M (E = −30), 1/x M, E; 1/√x M
	Row        [][]int64  `json:"row"`         // config "everything", idx 0..2: x…, m…
	Value      [][6]int64 `json:"value"`       // instrument, x, m, Value, ValueDGV, Loss
	Greeks     [][8]int64 `json:"greeks"`      // per golden instrument
	Battery    string     `json:"battery_sha256"`
}

func goldenInstruments() []accel.Instrument {
	return []accel.Instrument{
		{Kind: accel.Call, Model: accel.BSM, S: 100, K: 105, T: 0.5, R: 0.03, Q: 0.01, Sigma: 0.25, Carry: 1, Multiplier: 100},
		{Kind: accel.Put, Model: accel.Black76, S: 42.5, K: 40, T: 1.0 / 12, R: 0.05, Sigma: 0.6, Carry: 1.004, Multiplier: 10},
		{Kind: accel.Put, Model: accel.BSM, S: 100, K: 100, T: 0, R: 0.03, Q: 0, Sigma: 0.2, Carry: 1, Multiplier: 1},
		{Kind: accel.Future, S: 2500, Carry: 1.012, T: 0.25, R: 0.05, Q: 0.002, Multiplier: 50},
	}
}

func computeGolden(t *testing.T) golden {
	g := golden{TablesHash: fmt.Sprintf("%08x", TablesHash)}
	for _, w := range []uint32{0, 1, 127, 128, 1 << 20, 0x40000000, 0x7fffffff, 0x80000000, 0xdeadbeef, 0xffffffff} {
		g.InvNorm = append(g.InvNorm, [2]int64{int64(w), int64(InvNorm(w))})
	}
	for _, x := range []int32{-XMax, -1 << 27, -1, 0, 1, 12345678, XMax} {
		e := Exp(x)
		g.Exp = append(g.Exp, [3]int64{int64(x), int64(e.M), int64(e.E)})
	}
	for _, d := range []int64{-1 << 31, -3 << 27, -1, 0, 1, 1 << 28, 1<<31 - 1} {
		g.NormCDF = append(g.NormCDF, [2]int64{d, int64(NormCDF(d))})
		p := NormPDF(d)
		g.NormPDF = append(g.NormPDF, [3]int64{d, int64(p.M), int64(p.E)})
	}
	for _, m := range []int32{1 << 30, 1<<30 + 1, 1500000000, 1<<31 - 1} {
		a := Scaled{M: m, E: -30}
		r, s := Recip(a), Rsqrt(a)
		g.Recip = append(g.Recip, [4]int64{int64(m), int64(r.M), int64(r.E), int64(s.M)})
	}
	sc := scenarioConfigs(t)["everything"]
	sp, err := NewScenarioParams(&sc, len(sc.Vols))
	if err != nil {
		t.Fatal(err)
	}
	x, m := make([]int32, len(sc.Vols)), make([]uint32, len(sc.Vols))
	for idx := uint64(0); idx < 3; idx++ {
		sp.Row(idx, x, m)
		var row []int64
		for k := range x {
			row = append(row, int64(x[k]))
		}
		for k := range m {
			row = append(row, int64(m[k]))
		}
		g.Row = append(g.Row, row)
	}
	ins := goldenInstruments()
	for i := range ins {
		p := mustParams(t, &ins[i])
		for _, c := range [][2]int64{{0, MOne}, {-1 << 24, MOne}, {3 << 25, 3 << 23}, {XMax, MMax}} {
			v := p.Value(int32(c[0]), uint32(c[1]))
			g.Value = append(g.Value, [6]int64{int64(i), c[0], c[1], v, p.ValueDGV(int32(c[0]), uint32(c[1])), p.Loss(v)})
		}
		q := p.Greeks()
		g.Greeks = append(g.Greeks, [8]int64{q.Price, q.Delta, q.Gamma, q.Vega, q.Theta, q.Rho, q.Vanna, q.Volga})
	}
	// The battery: 100,000 InvNorm/Exp/NormCDF/NormPDF/Recip/Rsqrt values,
	// 2,000 rows of every scenario configuration and 2,000 random option
	// valuations with their Greeks and losses.
	h := sha256.New()
	put := func(v int64) { h.Write(binary.LittleEndian.AppendUint64(nil, uint64(v))) }
	r := rand.New(rand.NewPCG(41, 42))
	for range 100000 {
		w := r.Uint32()
		put(int64(InvNorm(w)))
		e := Exp(int32(w))
		put(int64(e.M))
		put(int64(e.E))
		put(int64(NormCDF(int64(int32(w)))))
		put(int64(NormPDF(int64(int32(w))).M))
		a := Scaled{M: int32(1<<30 | w>>2), E: int32(w%61) - 30}
		put(int64(Recip(a).M))
		put(int64(Rsqrt(a).M))
	}
	for _, name := range []string{"gaussian", "correlated", "student-t", "t-heavy", "vol-shocks", "everything"} {
		sc := scenarioConfigs(t)[name]
		sp, _ := NewScenarioParams(&sc, len(sc.Vols))
		for idx := uint64(0); idx < 2000; idx++ {
			sp.Row(idx*0x9e3779b97f4a7c15, x, m)
			for k := range x {
				put(int64(x[k]))
				put(int64(m[k]))
			}
		}
	}
	for range 2000 {
		in := randOption(r)
		p := mustParams(t, &in)
		xq, mq := int32(r.Int64N(2*XMax+1)-XMax), uint32(MMin+r.Int64N(MMax-MMin+1))
		v := p.Value(xq, mq)
		put(v)
		put(p.ValueDGV(xq, mq))
		put(p.Loss(v))
		q := p.Greeks()
		for _, v := range []int64{q.Price, q.Delta, q.Gamma, q.Vega, q.Theta, q.Rho, q.Vanna, q.Volga} {
			put(v)
		}
	}
	g.Battery = hex.EncodeToString(h.Sum(nil))
	return g
}

func TestGolden(t *testing.T) {
	got := computeGolden(t)
	path := filepath.Join("testdata", "golden.json")
	if *update {
		// One line per field, so that a diff shows which part changed.
		var b bytes.Buffer
		b.WriteString("{\n")
		gv := reflect.ValueOf(got)
		for i := 0; i < gv.NumField(); i++ {
			v, err := json.Marshal(gv.Field(i).Interface())
			if err != nil {
				t.Fatal(err)
			}
			sep := ","
			if i == gv.NumField()-1 {
				sep = ""
			}
			fmt.Fprintf(&b, "  %q: %s%s\n", strings.Split(gv.Type().Field(i).Tag.Get("json"), ",")[0], v, sep)
		}
		b.WriteString("}\n")
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want golden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < gv.NumField(); i++ {
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("golden %s changed:\n got %v\nwant %v", gv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
}
