package shmring

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/feedhandler/latency"
)

// BenchmarkRingWriteRead is one record (a 78-byte Verdict frame) written
// and read on one goroutine: the ring's own cost, no hand-off.
func BenchmarkRingWriteRead(b *testing.B) { benchRingWriteRead(b, false) }

// benchRingWriteRead writes and reads one Verdict frame per iteration on
// one goroutine; with wake, both sleeping flags are set first, so the
// publish and the release each wake.
func benchRingWriteRead(b *testing.B, wake bool) {
	prod, cons, _, _ := testRingPair(b, RingBytesDefault, sbe.MessageFrameBytesMax)
	v := verdictFor(&sbe.OrderCheck{ReqID: 1})
	p := v.AppendFrame(nil)
	buf := make([]byte, sbe.MessageFrameBytesMax)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if wake {
			prod.dataSleep.Store(1)
			prod.roomSleep.Store(1)
		}
		if ok, err := prod.tryWrite(p); !ok || err != nil {
			b.Fatal(ok, err)
		}
		rec, err := cons.peek()
		if err != nil || rec == nil {
			b.Fatal(err)
		}
		copy(buf, rec)
		cons.release()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// benchChecks times b.N Check round trips (OrderCheck frame out, Verdict
// frame back) and reports HDR percentiles.
func benchChecks(b *testing.B, c *Conn) {
	rec := latency.NewRecorder()
	oc := orderFor(1)
	for range 1000 { // warm both sides into their spin loops
		if _, err := c.Check(oc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		oc.ReqID = uint64(i)
		t0 := time.Now()
		if _, err := c.Check(oc); err != nil {
			b.Fatal(err)
		}
		rec.Record(time.Since(t0).Nanoseconds())
	}
	b.StopTimer()
	b.ReportMetric(float64(rec.Percentile(50)), "p50-ns")
	b.ReportMetric(float64(rec.Percentile(99)), "p99-ns")
	b.ReportMetric(float64(rec.Percentile(99.9)), "p99.9-ns")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

// BenchmarkCheckInProcess: Check against an echo server goroutine.
func BenchmarkCheckInProcess(b *testing.B) {
	e, c := pair(b, Config{})
	done := make(chan error, 1)
	go func() { done <- echo(e) }()
	benchChecks(b, c)
	c.Close()
	<-done
}

// dialEcho starts an echo server process and dials it.
func dialEcho(b *testing.B) *Conn {
	path := filepath.Join(b.TempDir(), "s")
	cmd, out := startPeer(b, "echo", path)
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if !out.Scan() || out.Text() != "listening" {
		b.Fatalf("echo peer: %q", out.Text())
	}
	c, err := Dial(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkCheckCrossProcess: Check against an echo server process.
func BenchmarkCheckCrossProcess(b *testing.B) {
	benchChecks(b, dialEcho(b))
}

// benchPipelined writes b.N OrderCheck frames from one goroutine and reads
// b.N Verdict frames on another: round-trip throughput.
func benchPipelined(b *testing.B, c *Conn) {
	oc := orderFor(1)
	req := oc.AppendFrame(nil)
	buf := make([]byte, sbe.MessageFrameBytesMax)
	werr := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			if err := c.WriteFrame(req); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	for range b.N {
		if _, _, err := c.ReadFrame(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-werr; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkPipelinedInProcess: round-trip throughput against an echo
// goroutine.
func BenchmarkPipelinedInProcess(b *testing.B) {
	e, c := pair(b, Config{})
	done := make(chan error, 1)
	go func() { done <- echo(e) }()
	benchPipelined(b, c)
	c.Close()
	<-done
}

// BenchmarkPipelinedCrossProcess: round-trip throughput against an echo
// process.
func BenchmarkPipelinedCrossProcess(b *testing.B) {
	benchPipelined(b, dialEcho(b))
}

// BenchmarkOneWayInProcess: frames/s from client to a draining server.
func BenchmarkOneWayInProcess(b *testing.B) {
	e, c := pair(b, Config{})
	oc := orderFor(1)
	req := oc.AppendFrame(nil)
	done := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		buf := make([]byte, sbe.MessageFrameBytesMax)
		for range b.N {
			if _, _, err := e.ReadFrame(buf); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range b.N {
		if err := c.WriteFrame(req); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkTryReadFrameEmpty is one poll of an empty response ring: what a
// polling client pays per idle turn of its loop.
func BenchmarkTryReadFrameEmpty(b *testing.B) {
	_, c := pair(b, Config{})
	buf := make([]byte, sbe.MessageFrameBytesMax)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok, err := c.TryReadFrame(buf); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "polls/s")
}

// BenchmarkTryReadFramePolledCheck is a Check round trip made by polling:
// TryWriteFrame the OrderCheck, then TryReadFrame until the echo server's
// Verdict is there, on one client goroutine.
func BenchmarkTryReadFramePolledCheck(b *testing.B) {
	e, c := pair(b, Config{})
	done := make(chan error, 1)
	go func() { done <- echo(e) }()
	buf := make([]byte, sbe.MessageFrameBytesMax)
	rec := latency.NewRecorder()
	oc := orderFor(1)
	frame := oc.AppendFrame(nil)
	for range 1000 {
		polledRoundTrip(b, c, frame, buf)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		polledRoundTrip(b, c, frame, buf)
		rec.Record(time.Since(t0).Nanoseconds())
	}
	b.StopTimer()
	b.ReportMetric(float64(rec.Percentile(50)), "p50-ns")
	b.ReportMetric(float64(rec.Percentile(99)), "p99-ns")
	b.ReportMetric(float64(rec.Percentile(99.9)), "p99.9-ns")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	c.Close()
	<-done
}

// polledRoundTrip writes frame to c and polls c until the answer is in buf,
// on the calling goroutine.
func polledRoundTrip(b *testing.B, c *Conn, frame, buf []byte) {
	if ok, err := c.TryWriteFrame(frame); !ok || err != nil {
		b.Fatal(ok, err)
	}
	for {
		_, _, ok, err := c.TryReadFrame(buf)
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			return
		}
	}
}

// BenchmarkRingWriteReadWake is BenchmarkRingWriteRead with both sleeping
// flags set before each record, as if the other side slept: the cost of a
// publish and a release that each wake (one FUTEX_WAKE system call apiece,
// here with nobody on the futex).
func BenchmarkRingWriteReadWake(b *testing.B) { benchRingWriteRead(b, true) }

// BenchmarkPolledCheckAfterIdle is BenchmarkTryReadFramePolledCheck with
// an idle gap (spun on the clock) before each check, as an open-loop
// client at 1/gap checks/s leaves: past the server's spins and yields the
// check finds its reader asleep in the futex and wakes it. wakes/op is
// the share of checks that did.
func BenchmarkPolledCheckAfterIdle(b *testing.B) {
	for _, gap := range []time.Duration{0, 20 * time.Microsecond, 100 * time.Microsecond, time.Millisecond} {
		b.Run("gap="+gap.String(), func(b *testing.B) {
			e, c := pair(b, Config{})
			done := make(chan error, 1)
			go func() { done <- echo(e) }()
			buf := make([]byte, sbe.MessageFrameBytesMax)
			oc := orderFor(1)
			frame := oc.AppendFrame(nil)
			rec := latency.NewRecorder()
			seq0 := e.rx.dataSeq.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for t := time.Now(); time.Since(t) < gap; {
				}
				t0 := time.Now()
				polledRoundTrip(b, c, frame, buf)
				rec.Record(time.Since(t0).Nanoseconds())
			}
			b.StopTimer()
			b.ReportMetric(float64(e.rx.dataSeq.Load()-seq0)/float64(b.N), "wakes/op")
			b.ReportMetric(float64(rec.Percentile(50)), "p50-ns")
			b.ReportMetric(float64(rec.Percentile(99)), "p99-ns")
			b.ReportMetric(float64(rec.Percentile(99.9)), "p99.9-ns")
			c.Close()
			<-done
		})
	}
}
