package epoch

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/tail"
)

// linearBackend is a test backend: instrument i loses (i+1)·x_s per unit in
// scenario s, with x_s = (s − S/2)·seed-scaled; accounts aggregate.
type linearBackend struct {
	calls atomic.Int64
	fail  error
}

func (b *linearBackend) Name() string { return "linear-test" }

func (b *linearBackend) Risk(_ context.Context, job *accel.RiskJob, out *accel.RiskResult) error {
	b.calls.Add(1)
	if b.fail != nil {
		return b.fail
	}
	s := job.Scenarios.Total(job.Underlyings)
	nI, nA := len(job.Instruments), job.Positions.Accounts()
	out.Backend, out.Scenarios = b.Name(), s
	out.InstrumentLoss = grow(out.InstrumentLoss, nI*s)
	out.AccountLoss = grow(out.AccountLoss, nA*s)
	out.VaR, out.ES, out.MeanLoss = grow(out.VaR, nA), grow(out.ES, nA), grow(out.MeanLoss, nA)
	for i := 0; i < nI; i++ {
		for k := 0; k < s; k++ {
			out.InstrumentLoss[i*s+k] = float64(i+1) * float64(k-s/2) * float64(job.Scenarios.Seed)
		}
	}
	p := &job.Positions
	var sc tail.Scratch
	for a := 0; a < nA; a++ {
		row := out.AccountLoss[a*s : (a+1)*s]
		clear(row)
		for j := p.Start[a]; j < p.Start[a+1]; j++ {
			for k := range row {
				row[k] += p.Qty[j] * out.InstrumentLoss[int(p.Instrument[j])*s+k]
			}
		}
		r := tail.Compute(row, tail.Spec{KVaR: job.KVaR, KES: job.KES}, &sc)
		out.VaR[a], out.ES[a] = r.VaR, r.ES
	}
	return nil
}

func grow(v []float64, n int) []float64 {
	if cap(v) < n {
		return make([]float64, n)
	}
	return v[:n]
}

func testJob(seed uint64) *accel.RiskJob {
	return &accel.RiskJob{
		Underlyings: 1,
		Instruments: []accel.Instrument{
			{Kind: accel.Spot, S: 100, Carry: 1, Multiplier: 1},
			{Kind: accel.Spot, S: 100, Carry: 1, Multiplier: 1},
		},
		Scenarios: accel.Scenarios{Seed: seed, Count: 200, HorizonYears: 1.0 / 252, Vols: []float64{0.2}},
		Positions: accel.Positions{Start: []uint32{0, 1, 3}, Instrument: []uint32{0, 0, 1}, Qty: []float64{2, -1, 3}},
		KVaR:      2, KES: 5,
	}
}

func TestRunPublishes(t *testing.T) {
	var pub Publisher
	if pub.Acquire() != nil {
		t.Fatal("an epoch before the first run")
	}
	r := &Runner{Backend: &linearBackend{}, Publisher: &pub}
	e, err := r.Run(context.Background(), testJob(1), "meta")
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != 1 || e.Backend != "linear-test" || e.Meta != "meta" || e.Scenarios != 200 || e.Finished.Before(e.Started) {
		t.Fatalf("epoch %+v", e)
	}
	got := pub.Acquire()
	if got != e {
		t.Fatal("Acquire does not return the published epoch")
	}
	// The indexes agree with the vectors: PostTrade with q = 0 is the
	// pre-trade result, equal to the backend's.
	var sc tail.Scratch
	for a := 0; a < e.Accounts(); a++ {
		acct, err := e.Account(a, &sc)
		if err != nil {
			t.Fatal(err)
		}
		pre := tail.PostTrade(acct, &e.Instruments[0], 0, &sc)
		if pre.VaR != e.Result.VaR[a] || pre.ES != e.Result.ES[a] {
			t.Fatalf("account %d: indexed %+v, backend %v/%v", a, pre, e.Result.VaR[a], e.Result.ES[a])
		}
	}
	if math.Abs(e.AccountLoss(1)[0]-(-1*-100+3*2*-100)) > 1e-9 {
		t.Fatalf("account loss %v", e.AccountLoss(1)[0])
	}
	got.Release()
	if e.Hash != testJob(1).Hash() {
		t.Fatal("epoch hash is not the job's")
	}
}

func TestBuffersReusedOnlyWhenReleased(t *testing.T) {
	var pub Publisher
	r := &Runner{Backend: &linearBackend{}, Publisher: &pub, RetireWaitMax: 20 * time.Millisecond}
	e1, _ := r.Run(context.Background(), testJob(1), nil)
	e2, _ := r.Run(context.Background(), testJob(2), nil)
	if e2.ID != 2 || pub.Current() != e2 {
		t.Fatal("second epoch not current")
	}
	// Nobody holds e1: epoch 3 reuses its buffers.
	e3, _ := r.Run(context.Background(), testJob(3), nil)
	if e3.buf != e1.buf {
		t.Fatal("epoch 3 did not reuse epoch 1's buffers")
	}
	// A reader holds e2 past the wait: epoch 4 must not overwrite it.
	held := pub.Acquire() // e3
	held.Release()
	e2.refs.Add(1) // simulate a straggler still reading epoch 2
	before := append([]float64(nil), e2.AccountLoss(0)...)
	e4, _ := r.Run(context.Background(), testJob(4), nil)
	if e4.buf == e2.buf {
		t.Fatal("buffers of a held epoch were reused")
	}
	for i, v := range e2.AccountLoss(0) {
		if v != before[i] {
			t.Fatal("a held epoch changed")
		}
	}
	e2.Release()
}

// Account summaries are built in the background after publication, or on
// demand, exactly once each.
func TestLazyAccountIndex(t *testing.T) {
	var pub Publisher
	r := &Runner{Backend: &linearBackend{}, Publisher: &pub}
	e, err := r.Run(context.Background(), testJob(5), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]*tail.Account, 8)
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sc tail.Scratch
			a, err := e.Account(1, &sc)
			if err != nil {
				t.Error(err)
			}
			got[g] = a
		}()
	}
	wg.Wait()
	for _, a := range got {
		if a != got[0] || a.Result().ES != e.Result.ES[1] {
			t.Fatal("concurrent builders disagree")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	if e.Indexed().Before(e.Finished) {
		t.Fatal("indexed before it was published")
	}
}

func TestBackendFailureKeepsCurrent(t *testing.T) {
	var pub Publisher
	b := &linearBackend{}
	r := &Runner{Backend: b, Publisher: &pub}
	e1, _ := r.Run(context.Background(), testJob(1), nil)
	b.fail = errors.New("device timeout")
	if _, err := r.Run(context.Background(), testJob(2), nil); !errors.Is(err, ErrBackend) {
		t.Fatalf("err = %v", err)
	}
	if pub.Current() != e1 {
		t.Fatal("a failed run replaced the current epoch")
	}
}

func TestBadLossVectorRefused(t *testing.T) {
	var pub Publisher
	r := &Runner{Backend: &nanBackend{}, Publisher: &pub}
	if _, err := r.Run(context.Background(), testJob(1), nil); !errors.Is(err, ErrBackend) {
		t.Fatalf("NaN losses published: %v", err)
	}
	if pub.Current() != nil {
		t.Fatal("published")
	}
}

type nanBackend struct{ linearBackend }

func (*nanBackend) Risk(ctx context.Context, job *accel.RiskJob, out *accel.RiskResult) error {
	var b linearBackend
	_ = b.Risk(ctx, job, out)
	out.AccountLoss[3] = math.NaN()
	out.MeanLoss[0] = math.NaN() // what a mean over a NaN loss is
	return nil
}

// Readers acquire and release while epochs are published; none ever sees a
// buffer change under it (run with -race).
func TestConcurrentReaders(t *testing.T) {
	var pub Publisher
	r := &Runner{Backend: &linearBackend{}, Publisher: &pub}
	if _, err := r.Run(context.Background(), testJob(1), nil); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				e := pub.Acquire()
				seed := float64(e.Seed)
				v := e.InstrumentLoss(0)
				for k := range v {
					if v[k] != float64(k-100)*seed {
						bad.Add(1)
					}
				}
				e.Release()
			}
		}()
	}
	for seed := uint64(2); seed < 40; seed++ {
		if _, err := r.Run(context.Background(), testJob(seed), nil); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d torn reads", bad.Load())
	}
}
