package ring

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/internal/cputime"
)

func reportTicks(b *testing.B, ticks int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(ticks)/s, "ticks/s")
	}
}

// BenchmarkTryPushPop is one goroutine pushing and popping single ticks:
// the uncontended cost of the three atomic stores (sequence word, tail,
// head).
func BenchmarkTryPushPop(b *testing.B) {
	r := mustNew[Tick](b, 1024, BusySpin{})
	v := tick(1)
	b.ReportAllocs()
	for b.Loop() {
		r.TryPush(v)
		r.TryPop()
	}
	reportTicks(b, b.N)
}

// BenchmarkBatchSingleThread moves ticks through the ring in batches on one
// goroutine; one op is one tick.
func BenchmarkBatchSingleThread(b *testing.B) {
	for _, batch := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("copy/%d", batch), func(b *testing.B) {
			r := mustNew[Tick](b, 4096, BusySpin{})
			src := make([]Tick, batch)
			dst := make([]Tick, batch)
			for i := range src {
				src[i] = tick(uint64(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				r.TryPushBatch(src)
				r.Poll(dst)
			}
			reportTicks(b, b.N)
		})
		b.Run(fmt.Sprintf("inplace/%d", batch), func(b *testing.B) {
			r := mustNew[Tick](b, 4096, BusySpin{})
			var sum int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				c := r.Claim(batch)
				for j := range c.Len() {
					c.At(j).Bid = int64(i + j)
				}
				r.Publish(c.Len())
				v := r.Peek(batch)
				for j := range v.Len() {
					sum += v.At(j).Bid
				}
				r.Release(v.Len())
			}
			reportTicks(b, b.N)
			if sum == 42 {
				b.Log(sum)
			}
		})
	}
}

// BenchmarkSPSC is a producer goroutine and a consumer goroutine, each
// locked to an OS thread pinned to its own CPU, streaming b.N ticks through a 4096-slot ring with
// BusySpin waits: single is Push/Pop, copy is PushBatch/PollWait, inplace is
// Claim/Publish and Peek/Release. One op is one tick.
func BenchmarkSPSC(b *testing.B) {
	b.Run("single", func(b *testing.B) { spsc(b, 1, false) })
	for _, batch := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("copy/%d", batch), func(b *testing.B) { spsc(b, batch, false) })
		b.Run(fmt.Sprintf("inplace/%d", batch), func(b *testing.B) { spsc(b, batch, true) })
	}
}

func spsc(b *testing.B, batch int, inPlace bool) {
	r := mustNew[Tick](b, 4096, BusySpin{})
	total := b.N
	done := make(chan struct{})
	ready := make(chan struct{})
	pinOther := cputime.PinPair(b)
	go func() {
		pinOther() // the thread ends with the goroutine
		defer close(done)
		src := make([]Tick, batch)
		<-ready
		for sent := 0; sent < total; {
			n := min(batch, total-sent)
			switch {
			case batch == 1:
				if err := r.Push(tick(uint64(sent))); err != nil {
					panic(err)
				}
			case inPlace:
				c := r.Claim(n)
				for i := range c.Len() {
					*c.At(i) = Tick{Instrument: uint32(i), Bid: int64(sent + i), ExchangeNs: uint64(sent + i)}
				}
				r.Publish(c.Len())
				n = c.Len()
			default:
				for i := range src[:n] {
					src[i] = Tick{Instrument: uint32(i), Bid: int64(sent + i), ExchangeNs: uint64(sent + i)}
				}
				if _, err := r.PushBatch(src[:n]); err != nil {
					panic(err)
				}
			}
			sent += n
		}
	}()
	dst := make([]Tick, batch)
	var sum uint64
	b.ReportAllocs()
	b.ResetTimer()
	close(ready)
	for got := 0; got < total; {
		switch {
		case batch == 1:
			v, err := r.Pop()
			if err != nil {
				b.Fatal(err)
			}
			sum += v.ExchangeNs
			got++
		case inPlace:
			v := r.Peek(batch)
			for i := range v.Len() {
				sum += v.At(i).ExchangeNs
			}
			r.Release(v.Len())
			got += v.Len()
		default:
			n, err := r.PollWait(dst)
			if err != nil {
				b.Fatal(err)
			}
			for i := range dst[:n] {
				sum += dst[i].ExchangeNs
			}
			got += n
		}
	}
	b.StopTimer()
	<-done
	if want := uint64(total) * uint64(total-1) / 2; sum != want {
		b.Fatalf("checksum %d, want %d", sum, want)
	}
	reportTicks(b, total)
	b.ReportMetric(float64(r.Stats().Stalls)/float64(total), "stalls/tick")
}

// latencySamplesMax bounds the preallocated sample array of the latency
// benchmarks; longer runs keep the most recent samples.
const latencySamplesMax = 1 << 20

func reportPercentiles(b *testing.B, prefix string, samples []int64, n int) {
	samples = samples[:min(n, len(samples))]
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	at := func(q float64) float64 {
		return float64(samples[min(len(samples)-1, int(q*float64(len(samples))))])
	}
	b.ReportMetric(at(0.50), prefix+"p50-ns")
	b.ReportMetric(at(0.99), prefix+"p99-ns")
	b.ReportMetric(at(0.999), prefix+"p99.9-ns")
}

// clockCost measures the cost of one monotonic clock read.
func clockCost(base time.Time) float64 {
	const reads = 1 << 16
	start := time.Since(base)
	var last time.Duration
	for i := 0; i < reads; i++ {
		last = time.Since(base)
	}
	return float64(last-start) / reads
}

// BenchmarkHandoffLatency measures one-way hand-off latency between two
// cores: the producer stamps the monotonic clock into Tick.RecvNs right
// before TryPush, and the consumer, spinning on TryPop on the other core,
// subtracts it from the clock right after the pop. The producer sends only
// into an empty ring, so no tick queues behind another. The reported
// percentiles include one clock read (clock-ns).
func BenchmarkHandoffLatency(b *testing.B) { handoff(b, handoffCopy) }

// BenchmarkHandoffLatencyPaced is BenchmarkHandoffLatency with the
// producer paced by a flag the consumer raises after taking its sample,
// instead of by polling Len: the producer then never reads the consumer's
// head line, as in production, where it reads it only when the ring looks
// full. The percentiles still include the consumer's release and one clock
// read (clock-ns).
func BenchmarkHandoffLatencyPaced(b *testing.B) { handoff(b, handoffPaced) }

// BenchmarkHandoffLatencyInPlace is the hand-off as the feed handler and
// the engine make it: the producer claims a slot, writes the tick (and the
// clock stamp) in place and publishes it (Claim, Publish); the consumer
// moves it into its batch buffer with Poll, as PollWait does. Paced like
// BenchmarkHandoffLatencyPaced, with one clock read (clock-ns) in the
// percentiles. It is the ring's headline hand-off figure. TryPush is slower
// by the copy of its argument: the caller's fresh, overlapping stores of
// the Tick are read back at once, which defeats store-to-load forwarding.
func BenchmarkHandoffLatencyInPlace(b *testing.B) { handoff(b, handoffInPlace) }

// The producer and consumer APIs a hand-off benchmark uses.
const (
	handoffCopy    = iota // TryPush, TryPop; paced by polling Len
	handoffPaced          // TryPush, TryPop; paced by a flag
	handoffInPlace        // Claim and Publish, Poll; paced by a flag
)

// handoff runs the hand-off latency benchmarks: the producer waits for the
// previous tick to be taken — by polling Len, or a flag the consumer raises
// after its sample — then stamps and pushes the next.
func handoff(b *testing.B, mode int) {
	r := mustNew[Tick](b, 1024, BusySpin{})
	base := time.Now()
	samples := make([]int64, latencySamplesMax)
	total := b.N
	var taken struct {
		_ [padBytes]byte
		n atomic.Int64 // samples taken by the consumer (paced only)
		_ [padBytes]byte
	}
	var before, after lineBounce
	done := make(chan struct{})
	ready := make(chan struct{})
	pinOther := cputime.PinPair(b)
	go func() {
		pinOther() // the thread ends with the goroutine
		defer close(done)
		before.answer(floorRounds)
		<-ready
		for i := 0; i < total; i++ {
			if mode == handoffCopy {
				for r.Len() != 0 {
				}
			} else {
				for taken.n.Load() != int64(i) {
				}
			}
			if mode == handoffInPlace {
				c := r.Claim(1)
				for c.Len() == 0 {
					c = r.Claim(1)
				}
				t := c.At(0)
				*t = Tick{ExchangeNs: uint64(i)}
				t.RecvNs = int64(time.Since(base))
				r.Publish(1)
				continue
			}
			v := Tick{ExchangeNs: uint64(i), RecvNs: int64(time.Since(base))}
			for !r.TryPush(v) {
			}
		}
		for taken.n.Load() != int64(total) { // the consumer's last sample
		}
		after.answer(floorRounds)
	}()
	beforeNs := before.ask(floorRounds)
	var buf [16]Tick
	b.ResetTimer()
	close(ready)
	for i := 0; i < total; {
		var recv int64
		if mode == handoffInPlace {
			if r.Poll(buf[:]) == 0 {
				continue
			}
			recv = buf[0].RecvNs
		} else {
			v, ok := r.TryPop()
			if !ok {
				continue
			}
			recv = v.RecvNs
		}
		samples[i%len(samples)] = int64(time.Since(base)) - recv
		i++
		if mode != handoffCopy {
			taken.n.Store(int64(i))
		}
	}
	b.StopTimer()
	taken.n.Store(int64(total))
	afterNs := after.ask(floorRounds)
	<-done
	reportPercentiles(b, "", samples, total)
	b.ReportMetric(clockCost(base), "clock-ns")
	b.ReportMetric(beforeNs, "floor-before-ns")
	b.ReportMetric(afterNs, "floor-after-ns")
}

// floorRounds is the number of round trips with which a hand-off benchmark
// measures, on its own two threads just before and just after its samples,
// the one-way cost of a bare cache-line transfer (floor-before-ns,
// floor-after-ns; as BenchmarkLineTransfer). The development VM switches
// between a fast and a slow phase, sometimes within one run; the two
// floors say which phase the samples saw.
const floorRounds = 100_000

// lineBounce is a pair of padded lines two threads bounce a counter over.
type lineBounce struct {
	_    [padBytes]byte
	ping atomic.Int64
	_    [padBytes]byte
	pong atomic.Int64
	_    [padBytes]byte
}

// ask bounces the counter rounds times from this side and returns the mean
// one-way time in nanoseconds.
func (l *lineBounce) ask(rounds int64) float64 {
	start := time.Now()
	for i := int64(1); i <= rounds; i++ {
		l.ping.Store(i)
		for l.pong.Load() != i {
		}
	}
	return float64(time.Since(start).Nanoseconds()) / float64(rounds) / 2
}

// answer is the other side of ask.
func (l *lineBounce) answer(rounds int64) {
	for i := int64(1); i <= rounds; i++ {
		for l.ping.Load() != i {
		}
		l.pong.Store(i)
	}
}

// BenchmarkLineTransfer is the floor under every two-core figure of this
// file: two threads pinned to distinct CPUs bounce a counter over two
// padded cache lines with nothing else, no ring and no clock, in the same
// pattern as a hand-off (one side stores, the other spins on the line until
// it sees the store). Half the round trip (one-way-ns) is what one
// cache-line hand-off between these two cores costs; the ring's hand-off
// figures are this plus the ring's own work and, for
// BenchmarkHandoffLatency, one clock read.
func BenchmarkLineTransfer(b *testing.B) {
	var l lineBounce
	total := int64(b.N)
	done := make(chan struct{})
	pinOther := cputime.PinPair(b)
	go func() {
		pinOther() // the thread ends with the goroutine
		defer close(done)
		l.answer(total)
	}()
	b.ResetTimer()
	oneWay := l.ask(total)
	b.StopTimer()
	<-done
	b.ReportMetric(oneWay, "one-way-ns")
}

// BenchmarkPingPong bounces one tick between two cores over a pair of
// rings. Half the round trip is a one-way hand-off with no clock in the
// path; one op is one round trip. oneway-p50-ns and oneway-p99-ns are half
// the round trip's percentiles: the copying API's hand-off latency with the
// clock read (one per round trip, clock-ns) shared by two hand-offs instead
// of added to one.
func BenchmarkPingPong(b *testing.B) {
	ping := mustNew[Tick](b, 64, BusySpin{})
	pong := mustNew[Tick](b, 64, BusySpin{})
	total := b.N
	done := make(chan struct{})
	pinOther := cputime.PinPair(b)
	go func() {
		pinOther() // the thread ends with the goroutine
		defer close(done)
		for i := 0; i < total; i++ {
			var v Tick
			var ok bool
			for v, ok = ping.TryPop(); !ok; v, ok = ping.TryPop() {
			}
			for !pong.TryPush(v) {
			}
		}
	}()
	base := time.Now()
	samples := make([]int64, latencySamplesMax)
	b.ResetTimer()
	for i := 0; i < total; i++ {
		start := time.Since(base)
		for !ping.TryPush(Tick{ExchangeNs: uint64(i)}) {
		}
		var ok bool
		for _, ok = pong.TryPop(); !ok; _, ok = pong.TryPop() {
		}
		samples[i%len(samples)] = int64(time.Since(base) - start)
	}
	b.StopTimer()
	<-done
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total)/2, "one-way-ns")
	reportPercentiles(b, "rtt-", samples, total)
	n := min(total, len(samples))
	b.ReportMetric(float64(samples[n/2])/2, "oneway-p50-ns")
	b.ReportMetric(float64(samples[min(n-1, int(0.99*float64(n)))])/2, "oneway-p99-ns")
	b.ReportMetric(clockCost(base), "clock-ns")
}
