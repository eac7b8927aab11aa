package tail

// TEMPORARY (analysis only; removed before hand-back).

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"os"
	"sort"
	"testing"
	"time"
)

type dumpCase struct {
	a    *Account
	legs []Leg
}

func loadDump(tb testing.TB, path string) []dumpCase {
	f, err := os.Open(path)
	if err != nil {
		tb.Skip(err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	rd := func(v any) bool { return binary.Read(r, binary.LittleEndian, v) == nil }
	vecs := map[int64][]float64{}
	accts := map[int64]*Account{}
	ins := map[int64]*Instrument{}
	vec := func() (int64, []float64) {
		var id, n int64
		rd(&id)
		rd(&n)
		if n > 0 {
			v := make([]float64, n)
			for i := range v {
				var u uint64
				rd(&u)
				v[i] = math.Float64frombits(u)
			}
			vecs[id] = v
		}
		return id, vecs[id]
	}
	var out []dumpCase
	for {
		var kv, kes, nl int64
		if !rd(&kv) {
			break
		}
		rd(&kes)
		rd(&nl)
		id, l := vec()
		a := accts[id]
		if a == nil {
			var err error
			a, err = NewAccount(l, Spec{KVaR: int(kv), KES: int(kes)})
			if err != nil {
				tb.Fatal(err)
			}
			accts[id] = a
		}
		c := dumpCase{a: a}
		for range nl {
			var q float64
			rd(&q)
			id, p := vec()
			in := ins[id]
			if in == nil {
				in, _ = NewInstrument(p)
				ins[id] = in
			}
			c.legs = append(c.legs, Leg{in, q})
		}
		out = append(out, c)
	}
	_ = io.EOF
	return out
}

func TestDumpReplay(t *testing.T) {
	for _, name := range []string{"typical", "new-instrument", "random"} {
		cs := loadDump(t, os.Getenv("TAILDUMPDIR")+"/"+name+".bin")
		sc := NewScratch(10000)
		// exactness on a subset
		for i := 0; i < len(cs); i += 10 {
			c := cs[i]
			want := brute(materialise(c.a.l, c.legs), c.a.spec)
			if got := PostTradeMulti(c.a, c.legs, sc); !sameBits(got, want) {
				t.Fatalf("%s case %d: got %+v want %+v", name, i, got, want)
			}
		}
		var lat []float64
		for rep := 0; rep < 3; rep++ {
			lat = lat[:0]
			for _, c := range cs {
				t0 := time.Now()
				PostTradeMulti(c.a, c.legs, sc)
				lat = append(lat, float64(time.Since(t0).Nanoseconds()))
			}
		}
		sort.Float64s(lat)
		pc := func(p float64) float64 { return lat[int(p*float64(len(lat)-1))] }
		mean := 0.0
		for _, x := range lat {
			mean += x
		}
		t.Logf("%-15s n=%d legs0=%d mean %.0f p50 %.0f p90 %.0f p99 %.0f p99.9 %.0f max %.0f", name, len(cs), len(cs[0].legs), mean/float64(len(lat)), pc(.5), pc(.9), pc(.99), pc(.999), lat[len(lat)-1])
	}
}
