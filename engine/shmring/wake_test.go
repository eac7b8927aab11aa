package shmring

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/internal/shm"
	"github.com/ballast-risk/ballast/engine/sbe"
)

// wakeDeadline bounds every wait of the wake-up tests. The sleepers they
// wake sleep a minute per futex wait, so a call that returns before the
// deadline was woken, not timed out; nothing asserts on how fast.
const wakeDeadline = 10 * time.Second

// sharedFutexWait reports whether a thread of process pid is blocked in
// futex(FUTEX_WAIT) without the private flag, as only a shmring sleeper
// is (the Go runtime's own futexes are private), and whether /proc could
// tell at all.
func sharedFutexWait(pid int) (asleep, known bool) {
	paths, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
	if err != nil || len(paths) == 0 {
		return false, false
	}
	nr := strconv.Itoa(syscall.SYS_FUTEX)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, os.ErrPermission) {
				return false, false
			}
			continue // the thread exited
		}
		f := strings.Fields(string(b))
		if len(f) > 2 && f[0] == nr && f[2] == "0x0" {
			return true, true
		}
	}
	return false, true
}

// waitAsleep waits until the sleep flag is set and a thread of pid sits
// in a shared futex wait (when /proc can tell): the side that set the flag
// sleeps in the kernel.
func waitAsleep(t *testing.T, flag *atomic.Uint32, pid int) {
	t.Helper()
	for end := time.Now().Add(wakeDeadline); time.Now().Before(end); time.Sleep(100 * time.Microsecond) {
		if flag.Load() == 0 {
			continue
		}
		if asleep, known := sharedFutexWait(pid); asleep || !known {
			return
		}
	}
	t.Fatal("the waiting side never went to sleep")
}

// within waits for one result of a call running on another goroutine.
func within[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wakeDeadline):
		t.Fatalf("%s: still blocked", what)
		panic("unreachable")
	}
}

// pollFrame polls TryReadFrame until a frame or an error, within the
// deadline.
func pollFrame(t *testing.T, c *Conn, buf []byte) (sbe.Frame, error) {
	t.Helper()
	end := time.Now().Add(wakeDeadline)
	for i := 0; ; i++ {
		f, _, ok, err := c.TryReadFrame(buf)
		if ok || err != nil {
			return f, err
		}
		if i%1024 == 0 && time.Now().After(end) {
			t.Fatal("no frame")
		}
	}
}

// fillTx writes frame to l's tx ring until it is full.
func fillTx(t *testing.T, l *link, frame []byte) {
	t.Helper()
	for {
		ok, err := l.tryWriteFrame(frame)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
	}
}

func TestSleepingReaderWokenByWrite(t *testing.T) {
	e, c := pair(t, Config{})
	e.sleepLimit = time.Minute
	buf := make([]byte, sbe.MessageFrameBytesMax)
	type res struct {
		f   sbe.Frame
		err error
	}
	for i := uint64(1); i <= 4; i++ {
		got := make(chan res, 1)
		go func() { f, _, err := e.ReadFrame(buf); got <- res{f, err} }()
		waitAsleep(t, e.rx.dataSleep, os.Getpid())
		seq := e.rx.dataSeq.Load()
		oc := orderFor(i)
		if i%2 == 1 { // what client.Direct does
			if ok, err := c.TryWriteFrame(oc.AppendFrame(nil)); !ok || err != nil {
				t.Fatal(ok, err)
			}
		} else if err := c.WriteFrame(oc.AppendFrame(nil)); err != nil {
			t.Fatal(err)
		}
		r := within(t, "sleeping reader", got)
		var back sbe.OrderCheck
		if r.err != nil || back.DecodeBlock(r.f.Block) != nil || back != oc {
			t.Fatalf("round %d: %+v %v", i, back, r.err)
		}
		if e.rx.dataSeq.Load() == seq {
			t.Fatalf("round %d: the write did not bump the wake sequence", i)
		}
	}
}

func TestSleepingWriterWokenByRead(t *testing.T) {
	e, c := pair(t, Config{RingBytes: RingBytesMin})
	oc := orderFor(1)
	req := oc.AppendFrame(nil)
	v := verdictFor(&oc)
	resp := v.AppendFrame(nil)
	buf := make([]byte, sbe.MessageFrameBytesMax)

	// The client's write waits for room; the server's ReadFrame frees it.
	c.sleepLimit = time.Minute
	fillTx(t, &c.link, req)
	werr := make(chan error, 1)
	go func() { werr <- c.WriteFrame(req) }()
	waitAsleep(t, c.tx.roomSleep, os.Getpid())
	if _, _, err := e.ReadFrame(buf); err != nil {
		t.Fatal(err)
	}
	if err := within(t, "client write on a full ring", werr); err != nil {
		t.Fatal(err)
	}

	// The server's write waits for room; the client's TryReadFrame frees it.
	e.sleepLimit = time.Minute
	fillTx(t, &e.link, resp)
	go func() { werr <- e.WriteFrame(resp) }()
	waitAsleep(t, e.tx.roomSleep, os.Getpid())
	if _, _, ok, err := c.TryReadFrame(buf); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := within(t, "server write on a full ring", werr); err != nil {
		t.Fatal(err)
	}
}

func TestCloseWakesSleeper(t *testing.T) {
	buf := make([]byte, sbe.MessageFrameBytesMax)
	read := func(l *link) <-chan error {
		ch := make(chan error, 1)
		go func() { _, _, err := l.readFrame(buf); ch <- err }()
		return ch
	}
	t.Run("own close", func(t *testing.T) {
		_, c := pair(t, Config{})
		c.sleepLimit = time.Minute
		got := read(&c.link)
		waitAsleep(t, c.rx.dataSleep, os.Getpid())
		closed := make(chan error, 1)
		go func() { closed <- c.Close() }() // it waits for the reader to return
		if err := within(t, "Close of a sleeping side", closed); err != nil {
			t.Fatal(err)
		}
		if err := within(t, "reader after Close", got); !errors.Is(err, ErrClosed) {
			t.Fatalf("reader after Close: %v, want ErrClosed", err)
		}
	})
	t.Run("peer close", func(t *testing.T) {
		e, c := pair(t, Config{})
		e.sleepLimit = time.Minute
		got := read(&e.link)
		waitAsleep(t, e.rx.dataSleep, os.Getpid())
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := within(t, "reader after the peer's Close", got); !errors.Is(err, ErrPeerClosed) {
			t.Fatalf("reader after the peer's Close: %v, want ErrPeerClosed", err)
		}
	})
	t.Run("peer close, full ring", func(t *testing.T) {
		e, c := pair(t, Config{RingBytes: RingBytesMin})
		c.sleepLimit = time.Minute
		oc := orderFor(1)
		req := oc.AppendFrame(nil)
		fillTx(t, &c.link, req)
		werr := make(chan error, 1)
		go func() { werr <- c.WriteFrame(req) }()
		waitAsleep(t, c.tx.roomSleep, os.Getpid())
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if err := within(t, "writer after the peer's Close", werr); !errors.Is(err, ErrPeerClosed) {
			t.Fatalf("writer after the peer's Close: %v, want ErrPeerClosed", err)
		}
	})
}

// TestCrossProcessWake: an echo server process whose reader sleeps in the
// futex (a minute per wait) answers checks written with TryWriteFrame.
func TestCrossProcessWake(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	cmd, out := startPeer(t, "echo-sleepy", path)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if !out.Scan() || out.Text() != "listening" {
		t.Fatalf("echo peer: %q", out.Text())
	}
	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, sbe.MessageFrameBytesMax)
	for i := uint64(1); i <= 3; i++ {
		waitAsleep(t, c.tx.dataSleep, cmd.Process.Pid)
		oc := orderFor(i)
		if ok, err := c.TryWriteFrame(oc.AppendFrame(nil)); !ok || err != nil {
			t.Fatal(ok, err)
		}
		f, err := pollFrame(t, c, buf)
		var v sbe.Verdict
		if err != nil || v.DecodeBlock(f.Block) != nil || v != verdictFor(&oc) {
			t.Fatalf("check %d: %+v %v", i, v, err)
		}
	}
}

// TestSleepingPeerDeath: both sides sleep in their reads; the client
// process is killed mid-sleep and the server's sleeping read, whose sleeps
// end every sleepDuration to probe the peer's pid, reports ErrPeerDead.
func TestSleepingPeerDeath(t *testing.T) {
	e, cmd := serveHangingPeer(t)
	got := make(chan error, 1)
	go func() { _, _, err := e.ReadFrame(make([]byte, sbe.MessageFrameBytesMax)); got <- err }()
	waitAsleep(t, e.tx.dataSleep, cmd.Process.Pid) // the client's read of ring 1
	waitAsleep(t, e.rx.dataSleep, os.Getpid())
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() // reap, so the pid is gone
	if err := within(t, "read from a killed client", got); !errors.Is(err, ErrPeerDead) {
		t.Fatalf("read from a killed client: %v, want ErrPeerDead", err)
	}
}

// TestPublishWakesOnlySleepers: with nobody asleep a publish leaves the
// wake words alone (no wake-up system call); with the flag set it clears
// the flag and bumps the sequence once, without allocating either way.
func TestPublishWakesOnlySleepers(t *testing.T) {
	prod, cons, _, _ := testRingPair(t, RingBytesMin, 120)
	p := make([]byte, 78)
	cycle := func() {
		if ok, err := prod.tryWrite(p); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if rec, err := cons.peek(); rec == nil || err != nil {
			t.Fatal(err)
		}
		cons.release()
	}
	runs := 1000
	if raceEnabled {
		runs = 100
	}
	for range runs {
		cycle()
	}
	if prod.dataSeq.Load() != 0 || prod.roomSeq.Load() != 0 {
		t.Fatalf("publishes without sleepers bumped the wake sequences: %d %d", prod.dataSeq.Load(), prod.roomSeq.Load())
	}
	for range runs {
		prod.dataSleep.Store(1)
		prod.roomSleep.Store(1)
		cycle()
		if prod.dataSleep.Load() != 0 || prod.roomSleep.Load() != 0 {
			t.Fatal("a wake left its flag set")
		}
	}
	if got := prod.dataSeq.Load(); got != uint32(runs) {
		t.Fatalf("data sequence %d after %d flagged publishes", got, runs)
	}
	if got := prod.roomSeq.Load(); got != uint32(runs) {
		t.Fatalf("room sequence %d after %d flagged releases", got, runs)
	}
	if raceEnabled {
		return // the race detector's instrumentation allocates
	}
	for _, flagged := range []bool{false, true} {
		allocs := testing.AllocsPerRun(1000, func() {
			if flagged {
				prod.dataSleep.Store(1)
				prod.roomSleep.Store(1)
			}
			cycle()
		})
		if allocs != 0 {
			t.Fatalf("%v allocs per publish and release (sleeper flagged: %v)", allocs, flagged)
		}
	}
}

func TestVersionMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	e, err := Listen(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	m, err := shm.Open(path, headerBytes)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	ver, err := shm.Uint32(m.Bytes(), offVersion)
	if err != nil {
		t.Fatal(err)
	}
	ver.Store(version - 1) // as an older server would have written it
	_, err = Dial(path)
	if !errors.Is(err, ErrVersion) || !errors.Is(err, ErrLayout) {
		t.Fatalf("Dial of a version %d file: %v, want ErrVersion and ErrLayout", version-1, err)
	}
	if _, err := Listen(path, Config{}); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "version") {
		t.Fatalf("Listen over a live older server: %v, want ErrInUse naming the version", err)
	}
	ver.Store(version)
	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// TestNoLostWakeUp hammers the window between a side's last look at the
// ring and its futex wait: a writer and a reader on a small ring each go
// to sleep at once whenever the ring is full or empty (no spinning), with
// futex waits of a minute, so one lost wake-up would stall the exchange
// past the deadline.
func TestNoLostWakeUp(t *testing.T) {
	e, c := pair(t, Config{RingBytes: RingBytesMin})
	e.sleepLimit, c.sleepLimit = time.Minute, time.Minute
	frames := 100_000
	if raceEnabled {
		frames = 10_000
	}
	oc := orderFor(1)
	frame := oc.AppendFrame(nil)
	werr, rerr := make(chan error, 1), make(chan error, 1)
	go func() {
		for i := 0; i < frames; {
			ok, err := c.tx.tryWrite(frame)
			switch {
			case err != nil:
				werr <- err
				return
			case ok:
				i++
				for range i % 13 { // vary the writer's pace
					runtime.Gosched()
				}
			default:
				if err := c.sleep(false); err != nil {
					werr <- err
					return
				}
			}
		}
		werr <- nil
	}()
	go func() {
		for got := 0; got < frames; {
			rec, err := e.rx.peek()
			switch {
			case err != nil:
				rerr <- err
				return
			case rec != nil:
				e.rx.release()
				got++
			default:
				if err := e.sleep(true); err != nil {
					rerr <- err
					return
				}
			}
		}
		rerr <- nil
	}()
	if err := within(t, "writer", werr); err != nil {
		t.Fatal(err)
	}
	if err := within(t, "reader", rerr); err != nil {
		t.Fatal(err)
	}
	if e.rx.dataSeq.Load() == 0 || c.tx.roomSeq.Load() == 0 {
		t.Fatalf("no wake-ups exercised: data %d, room %d", e.rx.dataSeq.Load(), c.tx.roomSeq.Load())
	}
	t.Logf("%d frames, %d reader and %d writer wake-ups", frames, e.rx.dataSeq.Load(), c.tx.roomSeq.Load())
}

// TestNoLostWakeUpPingPong is TestNoLostWakeUp for requests and responses
// one at a time: each record is the only one that can wake its reader, so
// a wake-up lost in the window would leave both sides asleep.
func TestNoLostWakeUpPingPong(t *testing.T) {
	e, c := pair(t, Config{})
	e.sleepLimit, c.sleepLimit = time.Minute, time.Minute
	rounds := 20_000
	if raceEnabled {
		rounds = 2_000
	}
	oc := orderFor(1)
	req := oc.AppendFrame(nil)
	v := verdictFor(&oc)
	resp := v.AppendFrame(nil)
	// await reads one record from l's rx ring, sleeping whenever it is
	// empty.
	await := func(l *link) error {
		for {
			rec, err := l.rx.peek()
			if err != nil {
				return err
			}
			if rec != nil {
				l.rx.release()
				return nil
			}
			if err := l.sleep(true); err != nil {
				return err
			}
		}
	}
	// send writes one record; the other side reads each before the next,
	// so the ring always has room.
	send := func(l *link, p []byte) error {
		if ok, err := l.tx.tryWrite(p); !ok || err != nil {
			return fmt.Errorf("write: %v %w", ok, err)
		}
		return nil
	}
	serr, cerr := make(chan error, 1), make(chan error, 1)
	go func() {
		for range rounds {
			if err := await(&e.link); err != nil {
				serr <- err
				return
			}
			if err := send(&e.link, resp); err != nil {
				serr <- err
				return
			}
		}
		serr <- nil
	}()
	go func() {
		for range rounds {
			if err := send(&c.link, req); err != nil {
				cerr <- err
				return
			}
			if err := await(&c.link); err != nil {
				cerr <- err
				return
			}
		}
		cerr <- nil
	}()
	if err := within(t, "client", cerr); err != nil {
		t.Fatal(err)
	}
	if err := within(t, "server", serr); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rounds, %d server and %d client wake-ups", rounds, e.rx.dataSeq.Load(), c.rx.dataSeq.Load())
}
