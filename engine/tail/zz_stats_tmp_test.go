package tail

import (
	"math"
	"os"
	"sort"
	"testing"
	"time"
)

// stats replicates PostTradeMulti's walk (1 leg) and reports its effort.
func walkStats(a *Account, lg Leg) (j, blocksScanned, c int, t float64, phase3 bool) {
	n := len(a.l)
	kmax := a.spec.Kmax()
	q := lg.Q
	u, blk := lg.In.maxP, lg.In.blockMax
	if q < 0 {
		u, blk = lg.In.minP, lg.In.blockMin
	}
	u = float64(q * u)
	t = math.Inf(1)
	cand := make([]float64, n)
	for j, s := range a.order[:kmax] {
		v := postLoss(a.ls[j], q, lg.In.p[s])
		cand[j] = v
		t = min(t, v)
	}
	c = kmax
	for j = kmax; j < len(a.order); j++ {
		if a.ls[j]+u < t {
			break
		}
		v := postLoss(a.ls[j], q, lg.In.p[a.order[j]])
		cand[c] = v
		if v >= t {
			c++
		}
	}
	if j == len(a.order) {
		phase3 = true
		c, t = tighten(cand[:c], kmax, t)
		for b, rm := range a.restMax {
			if rm+float64(q*blk[b]) < t {
				continue
			}
			blocksScanned++
			lo := b * blockSize
			hi := min(n, lo+blockSize)
			out := ^a.inPrefix[b]
			for s := lo; s < hi; s++ {
				v := postLoss(a.l[s], q, lg.In.p[s])
				if v >= t && out>>(s-lo)&1 != 0 {
					cand[c] = v
					c++
				}
			}
		}
	}
	return
}

func TestDumpStats(t *testing.T) {
	for _, name := range []string{"typical", "new-instrument", "random"} {
		cs := loadDump(t, os.Getenv("TAILDUMPDIR")+"/"+name+".bin")
		sc := NewScratch(10000)
		type row struct {
			ns                 float64
			j, nb, c           int
			p3                 bool
			q, u, gap, spread  float64
			distinct           int
		}
		var rows []row
		for _, cse := range cs {
			var best time.Duration = 1 << 62
			for range 3 {
				t0 := time.Now()
				PostTradeMulti(cse.a, cse.legs, sc)
				best = min(best, time.Since(t0))
			}
			j, nb, c, _, p3 := walkStats(cse.a, cse.legs[0])
			lg := cse.legs[0]
			u := lg.In.maxP
			if lg.Q < 0 {
				u = lg.In.minP
			}
			km := cse.a.spec.Kmax()
			d := map[float64]bool{}
			for _, x := range cse.a.ls {
				d[x] = true
			}
			rows = append(rows, row{float64(best.Nanoseconds()), j, nb, c, p3, lg.Q, lg.Q * u, cse.a.ls[km-1] - cse.a.ls[len(cse.a.ls)-1], cse.a.ls[0] - cse.a.ls[km-1], len(d)})
		}
		sort.Slice(rows, func(i, k int) bool { return rows[i].ns < rows[k].ns })
		for _, f := range []float64{0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99} {
			r := rows[int(f*float64(len(rows)-1))]
			t.Logf("%s p%.0f: %+v", name, f*100, r)
		}
		p3 := 0
		for _, r := range rows {
			if r.p3 {
				p3++
			}
		}
		t.Logf("%s phase3 %d/%d", name, p3, len(rows))
	}
}
