package busypoll

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection.
func pair(tb testing.TB) (client, server net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		tb.Fatal(r.err)
	}
	tb.Cleanup(func() {
		_ = client.Close()
		_ = r.c.Close()
	})
	return client, r.c
}

// readSome polls TryRead until it returns data or an error, for at most
// five seconds.
func readSome(tb testing.TB, c *Conn, p []byte) (int, error) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := c.TryRead(p)
		if n > 0 || err != nil {
			return n, err
		}
		time.Sleep(100 * time.Microsecond)
	}
	tb.Fatal("no data within 5 s")
	return 0, nil
}

func TestNewBudgetBounds(t *testing.T) {
	for _, tc := range []struct {
		spin     time.Duration
		spinners int
		ok       bool
		spins    bool
	}{
		{0, 0, true, false},
		{time.Millisecond, 0, true, false},
		{0, 4, true, false},
		{50 * time.Microsecond, 1, true, true},
		{SpinMax, SpinnersMax, true, true},
		{SpinMax + 1, 1, false, false},
		{-1, 1, false, false},
		{time.Millisecond, SpinnersMax + 1, false, false},
		{time.Millisecond, -1, false, false},
	} {
		b, err := NewBudget(tc.spin, tc.spinners)
		if (err == nil) != tc.ok {
			t.Errorf("NewBudget(%v, %d): err %v, want ok %v", tc.spin, tc.spinners, err, tc.ok)
			continue
		}
		if err == nil && b.Spins() != tc.spins {
			t.Errorf("NewBudget(%v, %d).Spins() = %v, want %v", tc.spin, tc.spinners, b.Spins(), tc.spins)
		}
	}
	var nb *Budget
	if nb.Spins() || nb.acquire() || nb.Stats() != (Stats{}) {
		t.Error("a nil Budget must never spin")
	}
}

func TestBudgetTokens(t *testing.T) {
	b, err := NewBudget(time.Millisecond, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !b.acquire() || !b.acquire() {
		t.Fatal("two tokens should be free")
	}
	if b.acquire() {
		t.Fatal("a third spinner must be refused")
	}
	b.release()
	if !b.acquire() {
		t.Fatal("a released token should be free again")
	}
	b.release()
	b.release()
	defer func() {
		if recover() == nil {
			t.Error("releasing more tokens than were taken must panic")
		}
	}()
	b.release()
}

func TestNotSocket(t *testing.T) {
	a, bc := net.Pipe()
	defer a.Close()
	defer bc.Close()
	if _, err := NewConn(a, nil); !errors.Is(err, ErrNotSocket) {
		t.Fatalf("NewConn(pipe) = %v, want ErrNotSocket", err)
	}
}

func TestTryReadWrite(t *testing.T) {
	cl, sv := pair(t)
	c, err := NewConn(sv, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := c.TryRead(buf); n != 0 || err != nil {
		t.Fatalf("TryRead on an empty socket = %d, %v; want 0, nil", n, err)
	}
	if n, err := c.TryRead(nil); n != 0 || err != nil {
		t.Fatalf("TryRead(nil) = %d, %v", n, err)
	}
	if _, err := cl.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	n, err := readSome(t, c, buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("TryRead = %q, %v; want hello", buf[:n], err)
	}
	// Writes: fill the send buffer until the socket refuses, then drain.
	big := bytes.Repeat([]byte{7}, 1<<16)
	total := 0
	for i := 0; ; i++ {
		n, err := c.TryWrite(big)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n == 0 {
			break
		}
		if i > 1<<12 {
			t.Fatal("the send buffer never filled")
		}
	}
	if total == 0 {
		t.Fatal("nothing was written")
	}
	if _, err := io.ReadFull(cl, make([]byte, total)); err != nil {
		t.Fatal(err)
	}
	// A passed deadline is reported as for Read.
	_ = sv.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.TryRead(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("TryRead after the deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	_ = sv.SetReadDeadline(time.Time{})
	// End of stream.
	_ = cl.Close()
	if _, err := readSome(t, c, buf); !errors.Is(err, io.EOF) {
		t.Fatalf("TryRead after the peer closed = %v, want io.EOF", err)
	}
	_ = sv.Close()
	if _, err := c.TryRead(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("TryRead after Close = %v, want net.ErrClosed", err)
	}
	if _, err := c.TryWrite(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("TryWrite after Close = %v, want net.ErrClosed", err)
	}
}

func TestReadSpinsThenParks(t *testing.T) {
	cl, sv := pair(t)
	b, err := NewBudget(SpinMax, 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConn(sv, b)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	// Data arriving within the spin is taken while spinning.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(time.Millisecond)
		_, _ = cl.Write([]byte("a"))
	}()
	n, err := c.Read(buf)
	wg.Wait()
	if err != nil || n != 1 {
		t.Fatalf("Read = %d, %v", n, err)
	}
	st := b.Stats()
	if st.Spun+st.Parked != 1 {
		t.Fatalf("stats %+v after one read", st)
	}
	// Without a token the read parks (and still gets its data).
	if !b.acquire() {
		t.Fatal("the token should be free")
	}
	if _, err := cl.Write([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "b" {
		t.Fatalf("Read without a token = %q, %v", buf[:n], err)
	}
	b.release()
	if got := b.Stats(); got.Parked != st.Parked+1 || got.Spun != st.Spun {
		t.Fatalf("stats %+v after a read without a token (before: %+v)", got, st)
	}
	// A read that outlasts the spin parks and honours the deadline.
	short, err := NewBudget(100*time.Microsecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := NewConn(sv, short)
	if err != nil {
		t.Fatal(err)
	}
	_ = sv.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c2.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline = %v", err)
	}
	if got := short.Stats(); got.Parked != 1 || got.Spun != 0 {
		t.Fatalf("stats %+v after a silent read", got)
	}
	if short.active.Load() != 0 || b.active.Load() != 0 {
		t.Fatal("a spinning token leaked")
	}
}

func TestListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBudget(time.Millisecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	l := NewListener(ln, b)
	defer l.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			_, _ = c.Write([]byte("x"))
			_ = c.Close()
		}
	}()
	nc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, ok := nc.(*Conn); !ok {
		t.Fatalf("Accept returned %T, want *Conn", nc)
	}
	got, err := io.ReadAll(nc)
	if err != nil || string(got) != "x" {
		t.Fatalf("read %q, %v", got, err)
	}
	// A Budget that never spins leaves connections as they are.
	none, _ := NewBudget(0, 0)
	l2 := NewListener(ln, none)
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			_ = c.Close()
		}
	}()
	nc2, err := l2.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	if _, ok := nc2.(*net.TCPConn); !ok {
		t.Fatalf("Accept without spinning returned %T, want *net.TCPConn", nc2)
	}
}

func TestNoAllocs(t *testing.T) {
	cl, sv := pair(t)
	c, err := NewConn(sv, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	msg := []byte("0123456789")
	if a := testing.AllocsPerRun(200, func() { _, _ = c.TryRead(buf) }); a != 0 {
		t.Errorf("TryRead on an empty socket: %v allocations", a)
	}
	if a := testing.AllocsPerRun(200, func() {
		_, _ = c.TryWrite(msg)
	}); a != 0 {
		t.Errorf("TryWrite: %v allocations", a)
	}
	_, _ = io.ReadFull(cl, make([]byte, 201*len(msg)))
	if a := testing.AllocsPerRun(100, func() {
		_, _ = cl.Write(msg)
		_, _ = readSome(t, c, buf)
	}); a != 0 {
		t.Errorf("TryRead with data: %v allocations", a)
	}
}

// BenchmarkRoundTrip is a ping-pong over loopback TCP: the echoing side
// reads with Read under a spinning Budget (spin) or parks at once (park).
func BenchmarkRoundTrip(b *testing.B) {
	for _, mode := range []string{"park", "spin"} {
		b.Run(mode, func(b *testing.B) {
			cl, sv := pair(b)
			spin := time.Duration(0)
			if mode == "spin" {
				spin = SpinMax
			}
			bud, err := NewBudget(spin, 1)
			if err != nil {
				b.Fatal(err)
			}
			echo, err := NewConn(sv, bud)
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 64)
				for {
					n, err := echo.Read(buf)
					if err != nil {
						return
					}
					if _, err := sv.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
			pc, err := NewConn(cl, nil)
			if err != nil {
				b.Fatal(err)
			}
			msg, in := make([]byte, 64), make([]byte, 64)
			b.ResetTimer()
			for range b.N {
				if _, err := cl.Write(msg); err != nil {
					b.Fatal(err)
				}
				got := 0
				for got < len(msg) {
					n, err := pc.TryRead(in[got:])
					if err != nil {
						b.Fatal(err)
					}
					got += n
				}
			}
			b.StopTimer()
			_ = cl.Close()
			<-done
		})
	}
}

// BenchmarkTryReadEmpty is the cost of one try of an empty socket: what a
// spinning reader pays per turn.
func BenchmarkTryReadEmpty(b *testing.B) {
	_, sv := pair(b)
	c, err := NewConn(sv, nil)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64)
	for range b.N {
		if n, err := c.TryRead(buf); n != 0 || err != nil {
			b.Fatal(n, err)
		}
	}
}
