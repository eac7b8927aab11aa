package shmring

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/internal/shm"
	"github.com/ballast-risk/ballast/engine/sbe"
)

// peerEnv selects the role of a re-executed test binary (TestHelperPeer).
const (
	peerEnv     = "SHMRING_TEST_PEER"
	peerPathEnv = "SHMRING_TEST_PATH"
)

// peerFrames is the frame count of the cross-process exchange; the
// race-instrumented binaries (both sides) run a quarter of it to stay
// within the package's time budget.
var peerFrames = uint64(100_000)

func init() {
	if raceEnabled {
		peerFrames = 25_000
	}
}

// pair listens on a fresh file and dials it in-process.
func pair(t testing.TB, cfg Config) (*Endpoint, *Conn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "session")
	e, err := Listen(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(path)
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	if err := e.Accept(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); e.Close() })
	return e, c
}

// verdictFor is the echo server's answer to oc; Equity carries a hash of
// the request's fields so the client can check it was not mixed up.
func verdictFor(oc *sbe.OrderCheck) sbe.Verdict {
	h := oc.ReqID*0x9E3779B97F4A7C15 ^ oc.Account ^ uint64(oc.Instrument)<<32 ^ uint64(oc.Qty) ^ uint64(oc.Price)<<1
	return sbe.Verdict{ReqID: oc.ReqID, Account: oc.Account, Decision: sbe.Decision(oc.ReqID % 2),
		Epoch: 7, Equity: int64(h), InitialMargin: oc.Qty * oc.Price}
}

func orderFor(i uint64) sbe.OrderCheck {
	return sbe.OrderCheck{ReqID: i, Account: 1000 + i%17, Instrument: uint32(i % 5), Side: sbe.Side(1 + i%2),
		Qty: int64(i%100 + 1), Price: int64(10_000 + i)}
}

// echo serves e until the session ends: Verdicts for OrderChecks, Error
// frames for malformed frames. It returns the session's ending error.
func echo(e *Endpoint) error {
	buf := make([]byte, sbe.MessageFrameBytesMax)
	out := make([]byte, sbe.MessageFrameBytesMax)
	for {
		f, n, err := e.ReadFrame(buf)
		if err != nil && n == 0 {
			return err
		}
		var reply []byte
		if err != nil {
			code, _ := sbe.CodeOf(err)
			m := sbe.Error{Code: code}
			copy(m.Text[:], "malformed")
			k, _ := m.EncodeFrame(out)
			reply = out[:k]
		} else {
			var oc sbe.OrderCheck
			if err := oc.DecodeBlock(f.Block); err != nil {
				return err
			}
			v := verdictFor(&oc)
			k, _ := v.EncodeFrame(out)
			reply = out[:k]
		}
		if err := e.WriteFrame(reply); err != nil {
			return err
		}
	}
}

func TestCheckRoundTrip(t *testing.T) {
	e, c := pair(t, Config{RingBytes: 4096})
	done := make(chan error, 1)
	go func() { done <- echo(e) }()
	checks := uint64(20_000)
	if raceEnabled {
		checks = 2_000
	}
	for i := uint64(1); i <= checks; i++ {
		oc := orderFor(i)
		v, err := c.Check(oc)
		if err != nil {
			t.Fatal(err)
		}
		if v != verdictFor(&oc) {
			t.Fatalf("request %d: verdict %+v", i, v)
		}
	}
	// A malformed frame (wrong schema id) is answered and the session goes on.
	oc := orderFor(1)
	frame := oc.AppendFrame(nil)
	binary.LittleEndian.PutUint16(frame[sbe.SOFHBytes+4:], 0x1234)
	if err := c.WriteFrame(frame); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, sbe.MessageFrameBytesMax)
	f, _, err := c.ReadFrame(buf)
	if err != nil || f.Header.TemplateID != sbe.ErrorTemplateID {
		t.Fatalf("answer to a malformed frame: %+v %v", f.Header, err)
	}
	if v, err := c.Check(orderFor(99)); err != nil || v.ReqID != 99 {
		t.Fatalf("check after a malformed frame: %+v %v", v, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("server after client close: %v, want ErrPeerClosed", err)
	}
	if _, err := c.Check(orderFor(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("check after close: %v", err)
	}
}

func TestCheckRemoteError(t *testing.T) {
	e, c := pair(t, Config{})
	go func() {
		buf := make([]byte, sbe.MessageFrameBytesMax)
		if _, _, err := e.ReadFrame(buf); err != nil {
			return
		}
		n := sbe.MarginNotice{Account: 3}
		e.WriteFrame(n.AppendFrame(nil))
		m := sbe.Error{ReqID: 5, Code: sbe.ErrorCodeNotLoggedIn}
		copy(m.Text[:], "log in first")
		e.WriteFrame(m.AppendFrame(nil))
	}()
	_, err := c.Check(orderFor(5))
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != sbe.ErrorCodeNotLoggedIn || re.Text != "log in first" || re.ReqID != 5 {
		t.Fatalf("Check: %v", err)
	}
}

func TestFrameValidation(t *testing.T) {
	e, c := pair(t, Config{})
	oc := orderFor(1)
	good := oc.AppendFrame(nil)
	if err := c.WriteFrame(good[:len(good)-1]); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("frame shorter than its SOFH: %v", err)
	}
	if err := c.WriteFrame(make([]byte, 200)); !errors.Is(err, sbe.ErrFrameTooLong) {
		t.Fatalf("oversized frame: %v", err)
	}
	// A record whose SOFH disagrees with the record length: write it raw.
	rec := append(append([]byte(nil), good...), 0, 0, 0, 0, 0, 0, 0, 0)
	if ok, err := c.tx.tryWrite(rec); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := c.tx.tryWrite(good[:20]); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := c.WriteFrame(good); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, sbe.MessageFrameBytesMax)
	if _, n, err := e.ReadFrame(buf); !errors.Is(err, sbe.ErrBlockLength) || n != len(rec) {
		t.Fatalf("trailing bytes: n %d, %v", n, err)
	}
	if _, n, err := e.ReadFrame(buf); !errors.Is(err, sbe.ErrShortFrame) || n != 20 {
		t.Fatalf("truncated frame: n %d, %v", n, err)
	}
	if _, _, err := e.ReadFrame(buf[:10]); !errors.Is(err, sbe.ErrBufferTooSmall) {
		t.Fatalf("small buffer: %v", err)
	}
	f, n, err := e.ReadFrame(buf)
	if err != nil || n != len(good) || f.Header.TemplateID != sbe.OrderCheckTemplateID {
		t.Fatalf("good frame after errors: %d %v", n, err)
	}
}

func TestHostileClientCorruptsRing(t *testing.T) {
	e, c := pair(t, Config{RingBytes: RingBytesMin})
	_ = c
	// A second mapping plays the hostile client writing raw words.
	m, err := shm.Open(e.Path(), headerBytes)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	b := m.Bytes()
	data := b[headerBytes+ringCtlBytes:]
	binary.LittleEndian.PutUint32(data, 0x7FFFFFF0) // absurd length
	tail, _ := shm.Uint64(b, headerBytes)
	tail.Store(64)
	buf := make([]byte, sbe.MessageFrameBytesMax)
	if _, _, err := e.ReadFrame(buf); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadFrame: %v, want ErrCorrupt", err)
	}
	if _, _, err := e.ReadFrame(buf); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("poisoned ReadFrame: %v, want ErrCorrupt", err)
	}
}

func TestSessionLifecycle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	e, err := Listen(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, sbe.MessageFrameBytesMax)
	if _, _, err := e.ReadFrame(buf); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("read before Accept: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	if err := e.Accept(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Accept without client: %v", err)
	}
	cancel()
	if _, err := Listen(path, Config{}); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Listen: %v", err)
	}
	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Dial(path); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Dial: %v", err)
	}
	if err := e.Accept(context.Background()); err != nil || e.PeerPID() != os.Getpid() || c.PeerPID() != os.Getpid() {
		t.Fatalf("Accept: %v, pids %d %d", err, e.PeerPID(), c.PeerPID())
	}
	// Close unblocks a blocked reader with ErrClosed.
	got := make(chan error, 1)
	go func() { _, _, err := c.ReadFrame(make([]byte, 100)); got <- err }()
	time.Sleep(5 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked read after Close: %v", err)
	}
	if err := e.WriteFrame(func() []byte { v := verdictFor(&sbe.OrderCheck{}); return v.AppendFrame(nil) }()); !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("write to a closed client: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("file left after Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	// A stale file (garbage, or a dead server's) is replaced.
	if err := os.WriteFile(path, make([]byte, 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Dial(path); !errors.Is(err, ErrLayout) {
		t.Fatalf("Dial of garbage: %v", err)
	}
	e2, err := Listen(path, Config{RingBytes: RingBytesMin})
	if err != nil {
		t.Fatal("Listen over a stale file:", err)
	}
	defer e2.Close()
	if _, err := Listen(filepath.Join(dir, "x"), Config{RingBytes: 1000}); err == nil {
		t.Fatal("bad ring size accepted")
	}
	if _, err := Listen(filepath.Join(dir, "y"), Config{FrameBytesMax: 4}); err == nil {
		t.Fatal("bad frame maximum accepted")
	}
}

func TestReadWriteAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	e, c := pair(t, Config{})
	oc := orderFor(1)
	req := oc.AppendFrame(nil)
	v := verdictFor(&oc)
	resp := v.AppendFrame(nil)
	buf := make([]byte, sbe.MessageFrameBytesMax)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := c.WriteFrame(req); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.ReadFrame(buf); err != nil {
			t.Fatal(err)
		}
		if err := e.WriteFrame(resp); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadFrame(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per round trip of frames", allocs)
	}
	done := make(chan error, 1)
	go func() { done <- echo(e) }()
	allocs = testing.AllocsPerRun(1000, func() {
		if _, err := c.Check(oc); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per Check", allocs)
	}
	c.Close()
	<-done
}

// TestHelperPeer is the body of a re-executed test binary; it does nothing
// in a normal run.
func TestHelperPeer(t *testing.T) {
	role, path := os.Getenv(peerEnv), os.Getenv(peerPathEnv)
	switch role {
	case "":
		t.Skip("helper process only")
	case "client": // pipelined 100k checks with checksums
		if err := peerClient(path); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
	case "hang": // attach and wait to be killed
		c, err := Dial(path)
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("attached")
		_, _, err = c.ReadFrame(make([]byte, 100))
		fmt.Println("ERROR hang ended:", err)
		os.Exit(1)
	case "serve-die": // write one verdict, then wait to be killed
		e, err := Listen(path, Config{})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("listening")
		if err := e.Accept(context.Background()); err != nil {
			os.Exit(1)
		}
		v := verdictFor(&sbe.OrderCheck{ReqID: 9})
		if err := e.WriteFrame(v.AppendFrame(nil)); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("wrote")
		time.Sleep(time.Minute)
		os.Exit(1)
	case "echo", "echo-sleepy": // echo server (the sleepy one's futex sleeps last a minute)
		e, err := Listen(path, Config{})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		if role == "echo-sleepy" {
			e.sleepLimit = time.Minute
		}
		fmt.Println("listening")
		if err := e.Accept(context.Background()); err != nil {
			os.Exit(1)
		}
		echo(e)
		e.Close()
	}
	os.Exit(0)
}

func peerClient(path string) error {
	c, err := Dial(path)
	if err != nil {
		return err
	}
	defer c.Close()
	sent := fnv.New64a()
	werr := make(chan error, 1)
	go func() {
		for i := uint64(1); i <= peerFrames; i++ {
			oc := orderFor(i)
			f := oc.AppendFrame(make([]byte, 0, sbe.MessageFrameBytesMax))
			sent.Write(f)
			if err := c.WriteFrame(f); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	buf := make([]byte, sbe.MessageFrameBytesMax)
	for i := uint64(1); i <= peerFrames; i++ {
		f, _, err := c.ReadFrame(buf)
		if err != nil {
			return fmt.Errorf("read %d: %w", i, err)
		}
		var v sbe.Verdict
		if err := v.DecodeBlock(f.Block); err != nil {
			return err
		}
		oc := orderFor(i)
		if v != verdictFor(&oc) {
			return fmt.Errorf("verdict %d out of order or corrupt: %+v", i, v)
		}
	}
	if err := <-werr; err != nil {
		return err
	}
	fmt.Printf("sent %x\n", sent.Sum64())
	return nil
}

// startPeer re-executes the test binary in role; its stdout is returned.
func startPeer(t testing.TB, role, path string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPeer$", "-test.count=1")
	cmd.Env = append(os.Environ(), peerEnv+"="+role, peerPathEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(out)
}

func TestCrossProcess100k(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	e, err := Listen(path, Config{RingBytes: 1 << 14})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cmd, out := startPeer(t, "client", path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Accept(ctx); err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	got := fnv.New64a()
	buf := make([]byte, sbe.MessageFrameBytesMax)
	outb := make([]byte, sbe.MessageFrameBytesMax)
	for i := uint64(1); i <= peerFrames; i++ {
		f, n, err := e.ReadFrame(buf)
		if err != nil {
			cmd.Process.Kill()
			t.Fatalf("frame %d: %v", i, err)
		}
		got.Write(buf[:n])
		var oc sbe.OrderCheck
		if err := oc.DecodeBlock(f.Block); err != nil || oc.ReqID != i {
			cmd.Process.Kill()
			t.Fatalf("frame %d: reqId %d, %v", i, oc.ReqID, err)
		}
		v := verdictFor(&oc)
		k, _ := v.EncodeFrame(outb)
		if err := e.WriteFrame(outb[:k]); err != nil {
			cmd.Process.Kill()
			t.Fatal(err)
		}
	}
	var line string
	for out.Scan() {
		line = out.Text()
		if strings.HasPrefix(line, "sent ") || strings.HasPrefix(line, "ERROR") {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("client: %v (%s)", err, line)
	}
	if want := fmt.Sprintf("sent %x", got.Sum64()); line != want {
		t.Fatalf("client says %q, server received %q", line, want)
	}
	buf2 := make([]byte, sbe.MessageFrameBytesMax)
	if _, _, err := e.ReadFrame(buf2); !errors.Is(err, ErrPeerClosed) && !errors.Is(err, ErrPeerDead) {
		t.Fatalf("after client exit: %v", err)
	}
}

// serveHangingPeer listens on a fresh session file and accepts a child
// process that attaches and then does nothing ("hang"); the endpoint is
// closed and the child killed at the end of the test.
func serveHangingPeer(t *testing.T) (*Endpoint, *exec.Cmd) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	e, err := Listen(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	cmd, out := startPeer(t, "hang", path)
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	if !out.Scan() || out.Text() != "attached" {
		t.Fatalf("peer: %q", out.Text())
	}
	if err := e.Accept(t.Context()); err != nil {
		t.Fatal(err)
	}
	return e, cmd
}

func TestPeerDeath(t *testing.T) {
	e, cmd := serveHangingPeer(t)
	if e.PeerPID() != cmd.Process.Pid {
		t.Fatalf("peer pid %d, child %d", e.PeerPID(), cmd.Process.Pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() // reap, so the pid is gone
	buf := make([]byte, sbe.MessageFrameBytesMax)
	if _, _, err := e.ReadFrame(buf); !errors.Is(err, ErrPeerDead) {
		t.Fatalf("read from a killed client: %v, want ErrPeerDead", err)
	}
	// A full ring towards a dead client fails the same way.
	v := verdictFor(&sbe.OrderCheck{})
	frame := v.AppendFrame(nil)
	for {
		err := e.WriteFrame(frame)
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrPeerDead) {
			t.Fatalf("write to a killed client: %v", err)
		}
		break
	}
}
