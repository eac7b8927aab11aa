package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/ballast-risk/ballast/accel/cpu"
	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/feedhandler/ring"
	"github.com/ballast-risk/ballast/feedhandler/source"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/portfolio"
	"github.com/ballast-risk/ballast/sim/udpsend"
)

// Tick-to-verdict bounds.
const (
	// t2vRateMax bounds the feed's and the checker's rates (per second).
	t2vRateMax = 2e6
	// t2vRingSlots is the tick ring between the feed handler and the engine.
	t2vRingSlots = 1 << 14
	// t2vReadTimeout lets the feed loop notice the end of the run.
	t2vReadTimeout = 50 * time.Millisecond
	// t2vScenarios is the epoch the checks are answered from.
	t2vScenarios = 2000
	// t2vSession names the simulated feed's MoldUDP64 session.
	t2vSession = "T2V001"
	// t2vQtyMax is the largest order quantity of the checker.
	t2vQtyMax = 10
	// t2vPaceQuantum is the sender's shortest sleep.
	t2vPaceQuantum = 200 * time.Microsecond
)

// sleepClock is udpsend's clock sleeping at least t2vPaceQuantum and never
// busy-waiting.
type sleepClock struct{ base time.Time }

// Now implements udpsend.Clock.
func (c *sleepClock) Now() int64 { return int64(time.Since(c.base)) }

// WaitUntil implements udpsend.Clock (spin is ignored).
func (c *sleepClock) WaitUntil(ns int64, _ bool) {
	if d := time.Duration(ns - c.Now()); d > 0 {
		time.Sleep(min(max(d, t2vPaceQuantum), 50*time.Millisecond))
	}
}

// t2vConfig configures the in-process tick-to-verdict figure.
type t2vConfig struct {
	root string
	// small is the workload (the demo universe, whose underlyings are the
	// simulated feed's first symbols).
	small workload
	// feedRate is the simulated exchange's messages/s; checkRates are the
	// checker's open-loop rates, one run each.
	feedRate         float64
	checkRates       []float64
	warmup, duration time.Duration
	seed             uint64
}

// runT2V measures tick-to-verdict in this process over the real path: the
// simulated exchange (itchgen, stamping each message with its wall-clock
// send time) sends MoldUDP64 over loopback UDP (udpsend); the feed handler
// (UDP source, MoldUDP64, ITCH, books) publishes ticks on the ring; the
// engine applies them to its marks; a checker goroutine asks pre-trade
// checks at a fixed rate, and the engine records, for each tick that moved
// a mark, the time from its send to the first verdict that used the new
// mark. One run per check rate, each with the histogram's growth over its
// measured window.
func runT2V(ctx context.Context, c *t2vConfig, progress func(float64)) ([]LatencyRun, error) {
	if !(c.feedRate > 0 && c.feedRate <= t2vRateMax) || len(c.checkRates) == 0 || c.duration <= 0 || c.warmup < 0 {
		return nil, fmt.Errorf("%w: tick-to-verdict feed %v/s, %d check rates, %v", errUsage, c.feedRate, len(c.checkRates), c.duration)
	}
	for _, r := range c.checkRates {
		if !(r > 0 && r <= t2vRateMax) {
			return nil, fmt.Errorf("%w: check rate %v/s outside (0, %g]", errUsage, r, t2vRateMax)
		}
	}
	m, set, err := loadWorkload(c.root, c.small)
	if err != nil {
		return nil, err
	}
	cfg := engine.DefaultConfig(&cpu.Backend{})
	cfg.Scenarios = t2vScenarios
	e, err := engine.New(cfg, m, set) // on the wall clock: send times are wall-clock instants
	if err != nil {
		return nil, err
	}
	e.MarkAllFresh()
	if _, err := e.RunEpoch(ctx); err != nil {
		return nil, err
	}
	gen, err := itchgen.New(itchgen.Config{SymbolCount: portfolio.DemoFeedSymbols, Seed: portfolio.DemoFeedSeed, Rate: c.feedRate})
	if err != nil {
		return nil, err
	}
	bound := 0
	for i, sym := range gen.Symbols() {
		if e.BindLocate(uint16(i+1), sym) { // itchgen: locate = index + 1
			bound++
		}
	}
	if bound == 0 {
		return nil, errors.New("tick-to-verdict: no feed symbol is an underlying of the workload")
	}
	e.SetTickToVerdict(true)

	feed, err := startFeed(ctx, e, gen, c.feedRate)
	if err != nil {
		return nil, err
	}
	defer feed.stop()

	accts := e.Accounts()
	rng := rand.New(rand.NewPCG(c.seed, 0x7432))
	var runs []LatencyRun
	for i, r := range c.checkRates {
		run, err := t2vRun(ctx, e, feed, accts, m.Instruments, rng, r, c, func(f float64) {
			progress((float64(i) + f) / float64(len(c.checkRates)))
		})
		if err != nil {
			return runs, err
		}
		runs = append(runs, run)
	}
	if err := feed.stop(); err != nil {
		return runs, err
	}
	return runs, nil
}

// t2vFeed is the running feed: sender, feed handler and tick consumer.
type t2vFeed struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
	mu       sync.Mutex
	err      error
	ticks    *ring.Ring[ring.Tick]
	sendConn *net.UDPConn
	src      *source.UDP
	consumed chan struct{} // closed when the engine has drained the ring
	stopErr  error
}

func (f *t2vFeed) fail(err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

// failed returns the first error of the feed's goroutines.
func (f *t2vFeed) failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// stop ends the feed and returns its first error (idempotent).
func (f *t2vFeed) stop() error {
	f.once.Do(func() {
		f.cancel()
		f.sendConn.Close()
		f.wg.Wait() // sender and feed handler are done: the ring has no producer
		f.ticks.Close()
		<-f.consumed
		f.src.Close()
		f.stopErr = f.failed()
	})
	return f.stopErr
}

// startFeed starts the simulated exchange, the feed handler and the
// engine's tick consumer.
func startFeed(ctx context.Context, e *engine.Engine, gen *itchgen.Generator, rate float64) (*t2vFeed, error) {
	ticks, err := ring.New[ring.Tick](t2vRingSlots, nil)
	if err != nil {
		return nil, err
	}
	h, err := feedhandler.New(feedhandler.Config{Ticks: ticks})
	if err != nil {
		return nil, err
	}
	src, err := source.ListenUDP(source.UDPConfig{Addr: net.IPv4(127, 0, 0, 1), ReadTimeout: t2vReadTimeout, RecvBufferBytes: 4 << 20})
	if err != nil {
		return nil, err
	}
	conn, err := udpsend.Dial(udpsend.DialConfig{Addr: src.LocalAddr().String()})
	if err != nil {
		src.Close()
		return nil, err
	}
	// A sleeping clock (never a busy-wait) and a burst of twice a pace
	// quantum: the sender must not take a core from the path it measures.
	snd, err := udpsend.New(conn, udpsend.Config{Session: moldudp64.MakeSession(t2vSession), MessagesPerSec: rate,
		Clock: &sleepClock{base: time.Now()}, Burst: max(2, 2*rate*t2vPaceQuantum.Seconds())})
	if err != nil {
		src.Close()
		conn.Close()
		return nil, err
	}
	fctx, cancel := context.WithCancel(ctx)
	f := &t2vFeed{cancel: cancel, ticks: ticks, sendConn: conn, src: src, consumed: make(chan struct{})}
	go func() {
		defer close(f.consumed)
		f.fail(e.ConsumeTicks(ticks))
	}()
	f.wg.Add(2)
	go func() {
		defer f.wg.Done()
		err := feedhandler.Run(fctx, h, src, feedhandler.RunOptions{Now: source.Now})
		f.fail(err)
	}()
	go func() {
		defer f.wg.Done()
		var msg itch.Message
		next := func(dst []byte) ([]byte, bool) {
			// Stamped when the sender takes it for the packet about to go.
			if !gen.NextWallClock(&msg, time.Now()) {
				return dst, false
			}
			return msg.Append(dst), true
		}
		err := snd.Run(fctx, next)
		if fctx.Err() == nil {
			f.fail(err)
		}
	}()
	return f, nil
}

// t2vRun asks checks at rate for warm-up + duration and returns the
// tick-to-verdict latencies recorded in the measured window.
func t2vRun(ctx context.Context, e *engine.Engine, feed *t2vFeed, accts []engine.AccountInfo, ins []instrument.Instrument, rng *rand.Rand,
	rate float64, c *t2vConfig, progress func(float64)) (LatencyRun, error) {
	period := time.Duration(float64(time.Second) / rate)
	total := c.warmup + c.duration
	start := time.Now()
	var before Histogram
	var ticksBefore uint64
	measuring := c.warmup == 0
	if measuring {
		before.BoundsNs, before.Counts = e.TickToVerdict()
		ticksBefore = e.TickStats().Applied
	}
	next := start
	var checks uint64
	lastProgress := start
	for {
		now := time.Now()
		el := now.Sub(start)
		if el >= total {
			break
		}
		if !measuring && el >= c.warmup {
			measuring = true
			before.BoundsNs, before.Counts = e.TickToVerdict()
			ticksBefore = e.TickStats().Applied
			checks = 0
		}
		if err := feed.failed(); err != nil {
			return LatencyRun{}, err
		}
		if err := ctx.Err(); err != nil {
			return LatencyRun{}, err
		}
		if now.Before(next) {
			time.Sleep(next.Sub(now))
			continue
		}
		a := accts[rng.IntN(len(accts))]
		in := ins[rng.IntN(len(ins))]
		e.Check(engine.Order{Account: a.ID, Instrument: in.ID, Side: engine.Side(1 + rng.IntN(2)), Qty: int64(1 + rng.IntN(t2vQtyMax))})
		checks++
		next = next.Add(period)
		if now.Sub(lastProgress) > 100*time.Millisecond {
			progress(el.Seconds() / total.Seconds())
			lastProgress = now
		}
	}
	var h Histogram
	h.BoundsNs, h.Counts = e.TickToVerdict()
	for i := range h.Counts {
		h.Counts[i] -= before.Counts[i]
	}
	applied := e.TickStats().Applied - ticksBefore
	run := LatencyRun{Name: fmt.Sprintf("in-process, checks %s/s", rate0(rate)), Rate: rate, Histogram: &h}
	var sum float64
	for i, n := range h.Counts {
		run.Count += int64(n)
		if n > 0 {
			run.MaxNs = h.BoundsNs[i]
			if run.MaxNs == math.MaxInt64 && i > 0 {
				run.MaxNs = h.BoundsNs[i-1] // overflow: beyond the last finite bound
			}
			mid := float64(run.MaxNs)
			if i > 0 && h.BoundsNs[i] != math.MaxInt64 {
				mid = (mid + float64(h.BoundsNs[i-1])) / 2
			}
			sum += mid * float64(n)
		}
	}
	if run.Count > 0 {
		run.MeanNs = sum / float64(run.Count)
	}
	run.Achieved = float64(run.Count) / c.duration.Seconds()
	run.Percentiles = percentilesOf(h, curvePercentiles)
	run.Note = fmt.Sprintf("feed %s msg/s; %d ticks applied (%s/s) and %d checks (%s/s) in the %v window; histogram bounds are the bucket upper edges (each at most 25 %% wider than the one below); mean from bucket midpoints",
		rate0(c.feedRate), applied, rate0(float64(applied)/c.duration.Seconds()), checks, rate0(float64(checks)/c.duration.Seconds()), c.duration)
	return run, nil
}

// rate0 formats a rate without decimals, with thousands as "k".
func rate0(v float64) string {
	if v >= 1000 && float64(int64(v/1000))*1000 == v {
		return fmt.Sprintf("%dk", int64(v/1000))
	}
	return fmt.Sprintf("%.0f", v)
}
