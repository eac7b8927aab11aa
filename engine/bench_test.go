package engine

import (
	"context"
	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/cpu"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/kernel"
	"github.com/ballast-risk/ballast/engine/margin"
	"github.com/ballast-risk/ballast/feedhandler/latency"
)

// The reference workload (bench/workload/reference): 20 underlyings, 2,000
// instruments, 10,000 accounts of 20 positions; run at 10,000 scenarios,
// ES 97.5 %, VaR 99 %, 2-day horizon.
const (
	referenceMaster   = "../bench/workload/reference/master.json"
	referenceAccounts = "../bench/workload/reference/accounts.json.gz"
)

var referenceAsOf = time.Date(2026, 11, 20, 21, 0, 0, 0, time.UTC)

var reference struct {
	once sync.Once
	m    *instrument.Master
	set  *account.Set
	err  error
}

// referenceEngine builds an engine over the reference workload with the
// shipped configuration and the float64 reference backend.
func referenceEngine(tb testing.TB) *Engine {
	tb.Helper()
	return referenceEngineOn(tb, &kernel.Reference{})
}

// referenceEngineOn builds an engine over the reference workload with the
// shipped configuration and backend be.
func referenceEngineOn(tb testing.TB, be accel.Backend) *Engine {
	tb.Helper()
	reference.once.Do(func() {
		reference.m, reference.err = instrument.Load(referenceMaster, referenceAsOf)
		if reference.err == nil {
			reference.set, reference.err = account.Load(referenceAccounts, reference.m)
		}
	})
	if reference.err != nil {
		tb.Fatal(reference.err)
	}
	cfg := DefaultConfig(be)
	cfg.Now = func() time.Time { return referenceAsOf }
	e, err := New(cfg, reference.m, reference.set)
	if err != nil {
		tb.Fatal(err)
	}
	e.MarkAllFresh()
	return e
}

// BenchmarkReferenceEpoch is one risk epoch of the reference workload on
// every core (GOMAXPROCS). s/epoch is snapshot + batch on the reference
// backend + instrument summaries, until the epoch is published and serves
// verdicts (the figure against the ≤ 1 s target); indexed-s/epoch adds the
// background pass that builds every account's check summary (a check that
// needs one earlier builds it inline).
func BenchmarkReferenceEpoch(b *testing.B) {
	benchEpoch(b, referenceEngine(b))
}

// BenchmarkReferenceEpochCPU is BenchmarkReferenceEpoch on the fixed-point
// cpu backend (accel/cpu), the accelerator's contract on every core.
func BenchmarkReferenceEpochCPU(b *testing.B) {
	benchEpoch(b, referenceEngineOn(b, &cpu.Backend{}))
}

func benchEpoch(b *testing.B, e *Engine) {
	ctx := context.Background()
	if _, err := e.RunEpoch(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var batch, published, indexed time.Duration
	for b.Loop() {
		t0 := time.Now()
		ep, err := e.RunEpoch(ctx)
		if err != nil {
			b.Fatal(err)
		}
		published += time.Since(t0)
		batch += ep.Duration
		if err := ep.WaitIndexed(ctx); err != nil {
			b.Fatal(err)
		}
		indexed += time.Since(t0)
	}
	b.ReportMetric(published.Seconds()/float64(b.N), "s/epoch")
	b.ReportMetric(batch.Seconds()/float64(b.N), "batch-s/epoch")
	b.ReportMetric(indexed.Seconds()/float64(b.N), "indexed-s/epoch")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
}

// BenchmarkCheck is the in-process pre-trade check on the reference workload
// at 10,000 scenarios, with latency percentiles from an HDR histogram.
// "typical": orders in an instrument the account holds, 1–10 % of the
// position (at least one contract) — the flow of a market maker adjusting
// its book — for accounts drawn from all 10,000, so each check reads its
// loss vectors from DRAM (~1 GB of them); "typical-hot": the same orders
// from 64 busy accounts, whose own vectors stay in cache (the instruments'
// do not: up to 1,280 of them, 80 KB each); "typical-resident": the same
// orders from 4 accounts, whose vectors and whose instruments' vectors
// (≤ 80 × 80 KB) all fit in the last-level cache — the kernel's cost without
// DRAM; "new-instrument": an instrument of an underlying the account holds
// but not the instrument itself, 1–10 contracts; "random": any instrument,
// 1–100 contracts — often larger than the account's whole book, which moves
// the tail and costs up to a full pass over the scenarios.
func BenchmarkCheck(b *testing.B) {
	e := referenceEngine(b)
	if _, err := e.RunEpoch(context.Background()); err != nil {
		b.Fatal(err)
	}
	accts := e.Accounts()
	m := e.Master()
	nI := len(m.Instruments)
	byUnderlying := map[int][]instrument.ID{}
	for _, in := range m.Instruments {
		byUnderlying[in.Underlying] = append(byUnderlying[in.Underlying], in.ID)
	}
	const ordersN = 8192
	hot := accts[:64]     // a few busy accounts: their vectors stay in cache
	resident := accts[:4] // so few that their instruments' vectors stay too
	// typical is an order of 1–10 % (at least one contract) of one of a's
	// positions.
	typical := func(a AccountInfo, rng *rand.Rand) Order {
		st := e.state(a.ID)
		p := st.acct.Positions[rng.IntN(len(st.acct.Positions))]
		q := max(1, int64(float64(abs64(p.Qty))*(0.01+0.09*rng.Float64())))
		return Order{Account: a.ID, Instrument: p.Instrument, Side: Side(1 + rng.IntN(2)), Qty: q}
	}
	mix := map[string]func(rng *rand.Rand) Order{
		"typical-hot": func(rng *rand.Rand) Order { return typical(hot[rng.IntN(len(hot))], rng) },
		"typical-resident": func(rng *rand.Rand) Order {
			return typical(resident[rng.IntN(len(resident))], rng)
		},
		"typical": func(rng *rand.Rand) Order { return typical(accts[rng.IntN(len(accts))], rng) },
		"new-instrument": func(rng *rand.Rand) Order {
			a := accts[rng.IntN(len(accts))]
			st := e.state(a.ID)
			p := st.acct.Positions[rng.IntN(len(st.acct.Positions))]
			idx, _ := m.Index(p.Instrument)
			ids := byUnderlying[m.Instruments[idx].Underlying]
			return Order{Account: a.ID, Instrument: ids[rng.IntN(len(ids))], Side: Side(1 + rng.IntN(2)), Qty: int64(1 + rng.IntN(10))}
		},
		"random": func(rng *rand.Rand) Order {
			return Order{Account: accts[rng.IntN(len(accts))].ID, Instrument: m.Instruments[rng.IntN(nI)].ID,
				Side: Side(1 + rng.IntN(2)), Qty: int64(1 + rng.IntN(100))}
		},
	}
	// Warm every account's live state on this epoch, as a running appliance
	// has.
	for _, a := range accts {
		e.Check(Order{Account: a.ID, Instrument: m.Instruments[0].ID, Side: Buy, Qty: 1})
	}
	for _, name := range []string{"typical", "typical-hot", "typical-resident", "new-instrument", "random"} {
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(7, 7))
			orders := make([]Order, ordersN)
			for i := range orders {
				orders[i] = mix[name](rng)
			}
			rec := latency.NewRecorder()
			var reasons [16]int
			i := 0
			for b.Loop() {
				o := &orders[i%ordersN]
				t0 := time.Now()
				v := e.Check(*o)
				rec.Record(time.Since(t0).Nanoseconds())
				reasons[v.Reason]++
				i++
			}
			b.ReportMetric(float64(rec.Percentile(50)), "p50-ns")
			b.ReportMetric(float64(rec.Percentile(99)), "p99-ns")
			b.ReportMetric(float64(rec.Percentile(99.9)), "p99.9-ns")
			b.ReportMetric(float64(rec.Max()), "max-ns")
			if reasons[margin.ReasonUnknownAccount]+reasons[margin.ReasonUnknownInstrument]+reasons[margin.ReasonInvalidOrder] != 0 {
				b.Fatalf("malformed benchmark orders: %v", reasons)
			}
		})
	}
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// The check allocates nothing once warm.
func TestCheckDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop its items: allocation counts are meaningless under -race")
	}
	f := newFixture(t, nil)
	f.epoch(t)
	o := Order{Account: 1002, Instrument: 3, Side: Sell, Qty: 5}
	f.e.Check(o)
	if n := testing.AllocsPerRun(200, func() { f.e.Check(o) }); n != 0 {
		t.Fatalf("%v allocations per check", n)
	}
}
