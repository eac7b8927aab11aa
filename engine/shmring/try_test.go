package shmring

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ballast-risk/ballast/engine/sbe"
)

// tryRead polls c until a frame is consumed or an error ends the session,
// for at most pollsMax empty polls.
func tryRead(t *testing.T, c *Conn, buf []byte, pollsMax int) (sbe.Frame, int, error) {
	t.Helper()
	for range pollsMax {
		f, n, ok, err := c.TryReadFrame(buf)
		if ok || err != nil {
			if !ok && n != 0 {
				t.Fatalf("n = %d without ok", n)
			}
			return f, n, err
		}
	}
	t.Fatalf("nothing after %d polls", pollsMax)
	return sbe.Frame{}, 0, nil
}

func TestTryReadFrame(t *testing.T) {
	e, c := pair(t, Config{RingBytes: RingBytesMin})
	buf := make([]byte, sbe.MessageFrameBytesMax)
	if _, n, ok, err := c.TryReadFrame(buf); ok || n != 0 || err != nil {
		t.Fatalf("empty ring: ok %v n %d err %v", ok, n, err)
	}
	// Enough frames to wrap a 1 KiB ring several times, written and read
	// in bursts of three so records land at every offset.
	for i := uint64(1); i <= 200; i += 3 {
		for j := i; j < i+3; j++ {
			oc := orderFor(j)
			v := verdictFor(&oc)
			if err := e.WriteFrame(v.AppendFrame(nil)); err != nil {
				t.Fatal(err)
			}
		}
		for j := i; j < i+3; j++ {
			f, n, ok, err := c.TryReadFrame(buf)
			if !ok || err != nil || n == 0 {
				t.Fatalf("frame %d: ok %v n %d err %v", j, ok, n, err)
			}
			var v sbe.Verdict
			if err := v.DecodeBlock(f.Block); err != nil {
				t.Fatal(err)
			}
			oc := orderFor(j)
			if v != verdictFor(&oc) {
				t.Fatalf("frame %d: %+v", j, v)
			}
		}
		if _, _, ok, err := c.TryReadFrame(buf); ok || err != nil {
			t.Fatalf("after burst %d: ok %v err %v", i, ok, err)
		}
	}
	// A short buffer leaves the frame queued for a larger one.
	v := verdictFor(&sbe.OrderCheck{ReqID: 5})
	if err := e.WriteFrame(v.AppendFrame(nil)); err != nil {
		t.Fatal(err)
	}
	if _, n, ok, err := c.TryReadFrame(buf[:10]); ok || n != 0 || !errors.Is(err, sbe.ErrBufferTooSmall) {
		t.Fatalf("short buffer: ok %v n %d err %v", ok, n, err)
	}
	if _, _, ok, err := c.TryReadFrame(buf); !ok || err != nil {
		t.Fatalf("after short buffer: ok %v err %v", ok, err)
	}
	// A malformed frame is consumed and reported with its length.
	bad := v.AppendFrame(nil)
	bad[sbe.SOFHBytes+4] ^= 0xFF // the schema id's low byte; the SOFH stays intact
	if err := e.WriteFrame(bad); err != nil {
		t.Fatal(err)
	}
	if _, n, ok, err := c.TryReadFrame(buf); !ok || n != len(bad) || !errors.Is(err, sbe.ErrSchemaID) {
		t.Fatalf("malformed frame: ok %v n %d err %v", ok, n, err)
	}
	// The server closes after writing: its frame first, then ErrPeerClosed.
	if err := e.WriteFrame(v.AppendFrame(nil)); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := c.TryReadFrame(buf); !ok || err != nil {
		t.Fatalf("frame before close: ok %v err %v", ok, err)
	}
	if _, _, ok, err := c.TryReadFrame(buf); ok || !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("after the server closed: ok %v err %v", ok, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := c.TryReadFrame(buf); ok || !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: ok %v err %v", ok, err)
	}
}

func TestTryWriteFrame(t *testing.T) {
	e, c := pair(t, Config{RingBytes: RingBytesMin})
	oc := orderFor(1)
	frame := oc.AppendFrame(nil)
	written := 0
	for {
		ok, err := c.TryWriteFrame(frame)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		written++
	}
	if want := RingBytesMin / int(recordBytes(len(frame))); written != want {
		t.Fatalf("%d frames fit in a %d-byte ring, want %d", written, RingBytesMin, want)
	}
	buf := make([]byte, sbe.MessageFrameBytesMax)
	if _, _, err := e.ReadFrame(buf); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.TryWriteFrame(frame); !ok || err != nil {
		t.Fatalf("after one read: ok %v err %v", ok, err)
	}
	if ok, err := c.TryWriteFrame(frame[:len(frame)-1]); ok || !errors.Is(err, ErrFrameSize) {
		t.Fatalf("truncated frame: ok %v err %v", ok, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.TryWriteFrame(frame); ok || !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("to a closed server: ok %v err %v", ok, err)
	}
}

// TestTryReadFramePeerDeath: a killed server's queued frame is read, then
// polling reports ErrPeerDead (its close flag was never set).
func TestTryReadFramePeerDeath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	cmd, out := startPeer(t, "serve-die", path)
	defer cmd.Process.Kill()
	if !out.Scan() || out.Text() != "listening" {
		t.Fatalf("peer: %q", out.Text())
	}
	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !out.Scan() || out.Text() != "wrote" {
		t.Fatalf("peer: %q", out.Text())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() // reap, so the pid is gone
	buf := make([]byte, sbe.MessageFrameBytesMax)
	f, _, err := tryRead(t, c, buf, 1)
	var v sbe.Verdict
	if err != nil || v.DecodeBlock(f.Block) != nil || v.ReqID != 9 {
		t.Fatalf("queued frame: %+v %v", v, err)
	}
	if _, _, err := tryRead(t, c, buf, 4*tryDeadProbeEvery); !errors.Is(err, ErrPeerDead) {
		t.Fatalf("polling a killed server: %v, want ErrPeerDead", err)
	}
}

func TestTryReadFrameAllocs(t *testing.T) {
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
		if ok, err := c.TryWriteFrame(req); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if _, _, err := e.ReadFrame(buf); err != nil {
			t.Fatal(err)
		}
		if _, _, ok, err := c.TryReadFrame(buf); ok || err != nil {
			t.Fatal(ok, err)
		}
		if err := e.WriteFrame(resp); err != nil {
			t.Fatal(err)
		}
		if _, _, ok, err := c.TryReadFrame(buf); !ok || err != nil {
			t.Fatal(ok, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per polled round trip", allocs)
	}
}
