package srcbench

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/source"
)

// memSource replays packets from memory in batches of at most batchMax;
// when they run out it returns io.EOF, or (0, nil) forever with idle set.
type memSource struct {
	pkts      [][]byte
	batchMax  int
	idle      bool
	next      int
	delivered uint64
}

func (m *memSource) ReadBatch(pkts []source.Packet) (int, error) {
	if m.next == len(m.pkts) {
		if m.idle {
			return 0, nil
		}
		return 0, io.EOF
	}
	now := source.Now()
	n := 0
	for n < len(pkts) && n < m.batchMax && m.next < len(m.pkts) {
		pkts[n] = source.Packet{Data: m.pkts[m.next], RecvNs: now}
		n++
		m.next++
	}
	m.delivered += uint64(n)
	return n, nil
}

func (m *memSource) Stats() source.Stats { return source.Stats{Packets: m.delivered} }
func (m *memSource) Close() error        { return nil }

// feedPackets returns n Feed packets stamped now, minus the sequence
// numbers in skip.
func feedPackets(n int, skip ...uint64) [][]byte {
	f := NewFeed()
	var out [][]byte
	for i := 0; i < n; i++ {
		seq := f.Next()
		pkt := f.AppendNext(nil, source.Now())
		dropped := false
		for _, s := range skip {
			dropped = dropped || s == seq
		}
		if !dropped {
			out = append(out, pkt)
		}
	}
	return out
}

func TestPipelineEveryTick(t *testing.T) {
	const n = 1000
	var calls int
	var last uint64
	p, err := NewPipeline(PipelineConfig{Target: n, OnTicks: func(c uint64) {
		if c <= last {
			t.Errorf("OnTicks(%d) after OnTicks(%d)", c, last)
		}
		calls++
		last = c
	}})
	if err != nil {
		t.Fatal(err)
	}
	src := &memSource{pkts: feedPackets(n), batchMax: 64}
	if err := p.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	r := p.Result()
	if !r.Clean() || r.Ticks != n || r.Packets != n {
		t.Fatalf("result %+v", r)
	}
	if p.Consumed() != n || p.Latency().Count() != n {
		t.Fatalf("consumed %d, latency samples %d", p.Consumed(), p.Latency().Count())
	}
	if want := (n + 63) / 64; calls != want || last != n {
		t.Fatalf("OnTicks called %d times (last %d), want %d (last %d)", calls, last, want, n)
	}
	if p.Latency().Max() <= 0 || p.Latency().Max() > int64(time.Minute) {
		t.Fatalf("latency max %d ns", p.Latency().Max())
	}
	if err := p.Run(context.Background(), src); !errors.Is(err, ErrRan) {
		t.Fatalf("second Run = %v, want ErrRan", err)
	}
}

// A lost Order Delete leaves its order on the book: the sequencer reports
// the message lost and the following ticks mismatch. Every one of the 19
// packets changes the top, and the Handler adds one tick when the feed
// turns stale.
func TestPipelineLossDetected(t *testing.T) {
	p, err := NewPipeline(PipelineConfig{Target: 100})
	if err != nil {
		t.Fatal(err)
	}
	src := &memSource{pkts: feedPackets(20, 4), batchMax: 8}
	err = p.Run(context.Background(), src)
	if !errors.Is(err, ErrEnded) {
		t.Fatalf("Run = %v, want ErrEnded", err)
	}
	r := p.Result()
	if r.LostMessages != 1 || r.Mismatched < 16 || r.Clean() || r.Ticks != 20 {
		t.Fatalf("result %+v", r)
	}
}

// A lost Add Order makes its delete unknown: neither yields a tick, so the
// alternation holds; the loss is reported, and the one tick the Handler
// adds when the feed turns stale repeats the top and mismatches.
func TestPipelineLostAddOrder(t *testing.T) {
	p, err := NewPipeline(PipelineConfig{Target: 100})
	if err != nil {
		t.Fatal(err)
	}
	src := &memSource{pkts: feedPackets(20, 5), batchMax: 8}
	if err := p.Run(context.Background(), src); !errors.Is(err, ErrEnded) {
		t.Fatalf("Run = %v, want ErrEnded", err)
	}
	r := p.Result()
	if r.LostMessages != 1 || r.Mismatched != 1 || r.Clean() || r.Ticks != 19 {
		t.Fatalf("result %+v", r)
	}
}

func TestPipelineForeignPacketsRejected(t *testing.T) {
	pkts := feedPackets(10)
	pkts = append(pkts[:5:5], append([][]byte{[]byte("short"), make([]byte, 20)}, pkts[5:]...)...)
	p, err := NewPipeline(PipelineConfig{Target: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), &memSource{pkts: pkts, batchMax: 4}); err != nil {
		t.Fatal(err)
	}
	if r := p.Result(); r.Rejected != 2 || r.Ticks != 10 || r.Mismatched != 0 || r.Clean() {
		t.Fatalf("result %+v", r)
	}
}

func TestPipelineStalls(t *testing.T) {
	p, err := NewPipeline(PipelineConfig{Target: 10, StallTimeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(context.Background(), &memSource{pkts: feedPackets(4), batchMax: 4, idle: true})
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("Run = %v, want ErrStalled", err)
	}
	if p.Consumed() != 4 {
		t.Fatalf("consumed %d", p.Consumed())
	}
}

func TestPipelineBlockingOnTicksIsNoStall(t *testing.T) {
	p, err := NewPipeline(PipelineConfig{Target: 8, StallTimeout: 20 * time.Millisecond, OnTicks: func(uint64) {
		time.Sleep(40 * time.Millisecond)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), &memSource{pkts: feedPackets(8), batchMax: 4}); err != nil {
		t.Fatal(err)
	}
}

func TestPipelineContextCancel(t *testing.T) {
	p, err := NewPipeline(PipelineConfig{Target: 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Run(ctx, &memSource{idle: true}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
}

func TestPipelineConfigErrors(t *testing.T) {
	for _, c := range []PipelineConfig{
		{},
		{Target: 1, RingSlots: 1000},
		{Target: 1, RingSlots: RingSlotsMin / 2},
		{Target: 1, RingSlots: RingSlotsMax * 2},
		{Target: 1, StallTimeout: -time.Second},
		{Target: 1, StallTimeout: StallTimeoutMax + 1},
	} {
		if _, err := NewPipeline(c); !errors.Is(err, ErrConfig) {
			t.Errorf("NewPipeline(%+v) = %v, want ErrConfig", c, err)
		}
	}
}

// TestPipelinePacketAllocs checks the per-packet path: encoding, the
// Handler (sequencer, decoder, book, ring push) and the inline consumer.
func TestPipelinePacketAllocs(t *testing.T) {
	p, err := NewPipeline(PipelineConfig{Target: 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	f := NewFeed()
	buf := make([]byte, 0, PacketBytesMax)
	var pkt source.Packet
	a := testing.AllocsPerRun(1000, func() {
		buf = f.AppendNext(buf[:0], source.Now())
		pkt.Data, pkt.RecvNs = buf, source.Now()
		p.h.HandlePacket(&pkt)
		p.afterBatch(p.h)
	})
	if a != 0 {
		t.Fatalf("%v allocs per packet", a)
	}
	if r := p.Result(); !r.Clean() || r.Ticks != 1001 {
		t.Fatalf("result %+v", r)
	}
}

// BenchmarkPipelineMemory runs the pipeline over packets in memory: the
// cost of everything after the source (sequencing, decoding, book, ring,
// consumer, latency recording), the floor under every source's figures.
func BenchmarkPipelineMemory(b *testing.B) {
	const pool = 1 << 16
	pkts := feedPackets(pool)
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for done < b.N {
		k := min(pool, b.N-done)
		b.StopTimer()
		p, err := NewPipeline(PipelineConfig{Target: uint64(k)})
		if err != nil {
			b.Fatal(err)
		}
		src := &memSource{pkts: pkts[:k], batchMax: feedhandler.BatchMax}
		b.StartTimer()
		if err := p.Run(context.Background(), src); err != nil {
			b.Fatal(err)
		}
		if r := p.Result(); r.Mismatched != 0 || r.Ticks != uint64(k) {
			b.Fatalf("result %+v", r)
		}
		done += k
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}
