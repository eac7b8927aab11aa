package srcbench_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/ballast-risk/ballast/feedhandler/internal/netnstest"
	"github.com/ballast-risk/ballast/feedhandler/internal/srcbench"
	"github.com/ballast-risk/ballast/feedhandler/source"
)

// The traffic patterns, shared by TestSmoke and BenchmarkSourceCompare and
// the same for every source (the methodology of the AF_XDP source's own
// BenchmarkAFXDPReceive, carried through the whole pipeline).
const (
	// sendBatch is the packets per sendmmsg in flood and drain.
	sendBatch = 32
	// floodWindow bounds the packets in flight in a flood (sent, not yet
	// consumed from the ring): below every source's buffering, so nothing
	// is dropped by construction.
	floodWindow = 512
	// pingGapNs is how long the ping-pong sender waits after the previous
	// tick was consumed, so the reader is back in its wait (asleep, or
	// spinning with busy-poll) when the packet arrives.
	pingGapNs = 20_000
	// drainRoundMax is the most packets queued per drain round: within
	// every source's buffering.
	drainRoundMax = 256
	// drainSettle is how long a drain round waits after sending before the
	// reader resumes, so every packet is queued at the source (for
	// AF_PACKET: its last block retired by the block timeout).
	drainSettle = 20 * time.Millisecond
	// readTimeout bounds every ReadBatch wait, so a stalled run is noticed.
	readTimeout = time.Second
)

// rig is one source on the host end of a fresh veth pair and a connected
// UDP socket in the peer namespace sending the Feed to it.
type rig struct {
	kind srcbench.Kind
	src  source.Source
	conn *net.UDPConn
	feed *srcbench.Feed
}

// newRig builds a rig, skipping tb with the exact reason when the system
// cannot (no namespaces or veth, no cgo for AF_PACKET, no AF_XDP or XDP
// mode).
func newRig(tb testing.TB, k srcbench.Kind, busyPoll bool) *rig {
	tb.Helper()
	pair := netnstest.New(tb)
	r := &rig{kind: k, feed: srcbench.NewFeed()}
	target := srcbench.Target{Interface: pair.HostIf, IP: pair.HostIP}
	opts := srcbench.Options{BusyPoll: busyPoll, ReadTimeout: readTimeout}
	if k != srcbench.UDP {
		// A plain socket holds the port on the host: an AF_PACKET socket
		// only taps frames, the stack still delivers each datagram and
		// would answer a port without a socket with ICMP port-unreachable
		// (which also fails the sender's next send on its connected
		// socket); for AF_XDP it catches anything the XDP program passes.
		// Its buffer is tiny: the stack drops the copies once it is full.
		guard, err := net.ListenUDP("udp4", &net.UDPAddr{IP: pair.HostIP})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { guard.Close() })
		if err := guard.SetReadBuffer(1); err != nil {
			tb.Fatal(err)
		}
		target.Port = uint16(guard.LocalAddr().(*net.UDPAddr).Port)
	}
	src, err := srcbench.Open(k, target, opts)
	if errors.Is(err, source.ErrUnsupported) {
		tb.Skipf("%v unavailable: %v", k, err)
	}
	if err != nil {
		tb.Fatalf("open %v: %v", k, err)
	}
	tb.Cleanup(func() { src.Close() })
	r.src = src
	if u, ok := src.(*source.UDP); ok {
		target.Port = uint16(u.LocalAddr().Port)
	}
	err = pair.InPeer(func() error {
		var err error
		r.conn, err = net.DialUDP("udp4", &net.UDPAddr{IP: pair.PeerIP}, &net.UDPAddr{IP: pair.HostIP, Port: int(target.Port)})
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.conn.Close() })
	return r
}

// timer is the part of *testing.B a run starts and stops.
type timer interface {
	ResetTimer()
	StartTimer()
	StopTimer()
}

// noTimer is the timer of a test.
type noTimer struct{}

func (noTimer) ResetTimer() {}
func (noTimer) StartTimer() {}
func (noTimer) StopTimer()  {}

// outcome is one run's pipeline and timing.
type outcome struct {
	p *srcbench.Pipeline
	// elapsed is the wall time of the timed part: the whole run for flood
	// and ping-pong, the reader's drains only for drain.
	elapsed time.Duration
}

// mode is a traffic pattern.
type mode struct {
	name string
	busy bool // open the source busy-polling
	run  func(r *rig, n uint64, tm timer) (outcome, error)
}

// modes returns the patterns a kind is measured with.
func modes(k srcbench.Kind) []mode {
	ms := []mode{
		{name: "flood", run: (*rig).flood},
		{name: "pingpong", run: (*rig).pingPong},
	}
	if k.BusyPollable() {
		ms = append(ms, mode{name: "pingpong-busypoll", busy: true, run: (*rig).pingPong})
	}
	return append(ms, mode{name: "drain", run: (*rig).drain})
}

// batchSender sends Feed packets in sendmmsg batches, all of a batch
// stamped with one source.Now taken just before it is built.
type batchSender struct {
	pc   *ipv4.PacketConn
	feed *srcbench.Feed
	msgs []ipv4.Message
	bufs [][]byte
}

func newBatchSender(r *rig) *batchSender {
	s := &batchSender{pc: ipv4.NewPacketConn(r.conn), feed: r.feed}
	s.msgs = make([]ipv4.Message, sendBatch)
	s.bufs = make([][]byte, sendBatch)
	for i := range s.msgs {
		s.bufs[i] = make([]byte, 0, srcbench.PacketBytesMax)
		s.msgs[i].Buffers = [][]byte{nil}
	}
	return s
}

// send sends k <= sendBatch packets.
func (s *batchSender) send(k int) error {
	now := source.Now()
	for i := range s.msgs[:k] {
		s.msgs[i].Buffers[0] = s.feed.AppendNext(s.bufs[i][:0], now)
	}
	for off := 0; off < k; {
		n, err := s.pc.WriteBatch(s.msgs[off:k], 0)
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		off += n
	}
	return nil
}

// flood: the sender keeps at most floodWindow packets in flight, in
// sendmmsg bursts, until the pipeline has consumed n ticks. Latency
// includes queueing within the window.
func (r *rig) flood(n uint64, tm timer) (outcome, error) {
	p, err := srcbench.NewPipeline(srcbench.PipelineConfig{Target: n})
	if err != nil {
		return outcome{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start, stop := make(chan struct{}), make(chan struct{})
	sendErr := make(chan error, 1)
	go func() {
		s := newBatchSender(r)
		sent := uint64(0)
		<-start
		for {
			select {
			case <-stop:
				sendErr <- nil
				return
			default:
			}
			if sent-p.Consumed() > floodWindow-sendBatch {
				runtime.Gosched() // window full: let the reader run
				continue
			}
			if err := s.send(sendBatch); err != nil {
				cancel()
				sendErr <- err
				return
			}
			sent += sendBatch
		}
	}()
	tm.ResetTimer()
	t0 := time.Now()
	close(start)
	err = p.Run(ctx, r.src)
	elapsed := time.Since(t0)
	tm.StopTimer()
	close(stop)
	return outcome{p: p, elapsed: elapsed}, errors.Join(err, <-sendErr)
}

// pingPong: one packet at a time, sent pingGapNs after the previous tick
// was consumed: the per-packet latency without queueing, the reader asleep
// in its wait (or spinning, busy-polling). Its ns/op includes the gap.
func (r *rig) pingPong(n uint64, tm timer) (outcome, error) {
	next := make(chan struct{}, 1)
	p, err := srcbench.NewPipeline(srcbench.PipelineConfig{Target: n, OnTicks: func(uint64) {
		select {
		case next <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		return outcome{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	sendErr := make(chan error, 1)
	go func() {
		buf := make([]byte, 0, srcbench.PacketBytesMax)
		for {
			select {
			case <-stop:
				sendErr <- nil
				return
			case <-next:
			}
			for t0 := source.Now(); source.Now()-t0 < pingGapNs; {
			}
			buf = r.feed.AppendNext(buf[:0], source.Now())
			if _, err := r.conn.Write(buf); err != nil {
				cancel()
				sendErr <- fmt.Errorf("send: %w", err)
				return
			}
		}
	}()
	tm.ResetTimer()
	t0 := time.Now()
	next <- struct{}{}
	err = p.Run(ctx, r.src)
	elapsed := time.Since(t0)
	tm.StopTimer()
	close(stop)
	return outcome{p: p, elapsed: elapsed}, errors.Join(err, <-sendErr)
}

// drain: rounds of up to drainRoundMax packets are sent and left to settle
// (drainSettle) while the reader waits, then the reader drains them; only
// the drains are timed: the receive path's own cost per packet (source,
// handler, ring, consumer), which flood hides behind the sender sharing the
// cores. Latency is meaningless here (it includes the settle time).
func (r *rig) drain(n uint64, tm timer) (outcome, error) {
	s := newBatchSender(r)
	var sendErr error
	sendRound := func(k uint64) {
		for sent := uint64(0); sent < k && sendErr == nil; sent += sendBatch {
			sendErr = s.send(int(min(sendBatch, k-sent)))
		}
		time.Sleep(drainSettle)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rxNs, t0 int64
	boundary := min(n, drainRoundMax)
	p, err := srcbench.NewPipeline(srcbench.PipelineConfig{Target: n, OnTicks: func(c uint64) {
		if c < boundary {
			return
		}
		rxNs += source.Now() - t0
		if c >= n {
			return
		}
		tm.StopTimer()
		k := min(n-c, drainRoundMax)
		boundary = c + k
		if sendRound(k); sendErr != nil {
			cancel()
			return
		}
		tm.StartTimer()
		t0 = source.Now()
	}})
	if err != nil {
		return outcome{}, err
	}
	tm.StopTimer()
	if sendRound(boundary); sendErr != nil {
		return outcome{}, sendErr
	}
	tm.ResetTimer()
	tm.StartTimer()
	t0 = source.Now()
	err = p.Run(ctx, r.src)
	tm.StopTimer()
	return outcome{p: p, elapsed: time.Duration(rxNs)}, errors.Join(err, sendErr)
}
