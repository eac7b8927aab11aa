package rerequest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
)

var testSession = moldudp64.MakeSession("SIM0001")

// msgFor is the deterministic message of seq: its number and seq%29 filler
// bytes.
func msgFor(seq uint64) []byte {
	b := binary.BigEndian.AppendUint64(nil, seq)
	for i := uint64(0); i < seq%29; i++ {
		b = append(b, byte(seq*7+i))
	}
	return b
}

// held returns the sequence numbers View visits in [seq, seq+count), checking
// each message's bytes.
func held(t *testing.T, s *Store, seq, count uint64) []uint64 {
	t.Helper()
	var out []uint64
	s.View(seq, count, func(q uint64, msg []byte) bool {
		if !bytes.Equal(msg, msgFor(q)) {
			t.Fatalf("message %d corrupted: % x", q, msg)
		}
		out = append(out, q)
		return true
	})
	return out
}

func TestStoreConfig(t *testing.T) {
	for _, c := range []StoreConfig{{MessagesMax: -1}, {BytesMax: -1}, {MessagesMax: MessagesLimit + 1}, {BytesMax: BytesLimit + 1}} {
		if _, err := NewStore(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestStoreAppendView(t *testing.T) {
	s, err := NewStore(StoreConfig{Session: testSession, MessagesMax: 10, BytesMax: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if f, n := s.Range(); f != 0 || n != 0 {
		t.Fatalf("empty range %d %d", f, n)
	}
	if err := s.Append(0, nil); !errors.Is(err, ErrSequence) {
		t.Fatalf("seq 0: %v", err)
	}
	for q := uint64(100); q < 125; q++ {
		if err := s.Append(q, msgFor(q)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(200, nil); !errors.Is(err, ErrSequence) {
		t.Fatalf("jump: %v", err)
	}
	if err := s.Append(124, nil); !errors.Is(err, ErrSequence) {
		t.Fatalf("repeat: %v", err)
	}
	if f, n := s.Range(); f != 115 || n != 125 {
		t.Fatalf("range %d..%d, want 115..125", f, n)
	}
	if got := held(t, s, 110, 10); len(got) != 5 || got[0] != 115 {
		t.Fatalf("view 110+10 = %v", got)
	}
	if got := held(t, s, 120, 100); len(got) != 5 || got[4] != 124 {
		t.Fatalf("view past the end = %v", got)
	}
	if got := held(t, s, 120, 0); len(got) != 0 {
		t.Fatalf("view of 0 messages = %v", got)
	}
	if got := held(t, s, ^uint64(0)-2, 10); len(got) != 0 {
		t.Fatalf("view near overflow = %v", got)
	}
	stopAfter := 0
	s.View(115, 10, func(uint64, []byte) bool { stopAfter++; return stopAfter < 3 })
	if stopAfter != 3 {
		t.Fatalf("View did not stop: %d", stopAfter)
	}
	if m, b := s.Len(); m != 10 || b == 0 {
		t.Fatalf("Len %d %d", m, b)
	}
	if s.Session() != testSession {
		t.Fatal("Session")
	}
	if err := s.Append(125, make([]byte, 2<<10)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("too large: %v", err)
	}
}

func TestStoreByteRing(t *testing.T) {
	// A small byte ring forces evictions by bytes and wrapping; every held
	// message must stay intact and the held range must be the newest ones.
	const bytesMax = 200
	s, err := NewStore(StoreConfig{Session: testSession, MessagesMax: 1000, BytesMax: bytesMax})
	if err != nil {
		t.Fatal(err)
	}
	for q := uint64(1); q <= 2000; q++ {
		msg := msgFor(q)
		if q%97 == 0 {
			msg = nil // zero-length messages take no bytes
		}
		if q%89 == 0 {
			msg = bytes.Repeat([]byte{byte(q)}, bytesMax) // fills the ring alone
		}
		if err := s.Append(q, msg); err != nil {
			t.Fatal(err)
		}
		first, next := s.Range()
		if next != q+1 {
			t.Fatalf("next %d after %d", next, q)
		}
		var total int
		s.View(first, next-first, func(r uint64, m []byte) bool {
			want := msgFor(r)
			switch {
			case r%89 == 0:
				want = bytes.Repeat([]byte{byte(r)}, bytesMax)
			case r%97 == 0:
				want = nil
			}
			if !bytes.Equal(m, want) {
				t.Fatalf("after %d: message %d corrupted", q, r)
			}
			total += len(m)
			return true
		})
		if total > bytesMax {
			t.Fatalf("holds %d bytes", total)
		}
		// Eviction is exact: the message before first would not fit.
		if first > 1 {
			prev := len(msgFor(first - 1))
			if (first-1)%97 == 0 {
				prev = 0
			}
			if (first-1)%89 == 0 {
				prev = bytesMax
			}
			if total+prev <= bytesMax && prev > 0 {
				t.Fatalf("after %d: evicted %d needlessly (%d+%d bytes)", q, first-1, total, prev)
			}
		}
		if _, b := s.Len(); b != total {
			t.Fatalf("Len bytes %d, want %d", b, total)
		}
	}
}

func TestStoreConcurrent(t *testing.T) {
	s, _ := NewStore(StoreConfig{Session: testSession, MessagesMax: 64, BytesMax: 1 << 10})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for q := uint64(1); q <= 5000; q++ {
			if err := s.Append(q, msgFor(q)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 2000; i++ {
		first, next := s.Range()
		if next > first {
			held(t, s, first, next-first)
		}
	}
	wg.Wait()
}

func TestStoreAppendAllocs(t *testing.T) {
	s, _ := NewStore(StoreConfig{Session: testSession, MessagesMax: 64, BytesMax: 1 << 10})
	msg := make([]byte, 36)
	q := uint64(1)
	if n := testing.AllocsPerRun(1000, func() {
		if err := s.Append(q, msg); err != nil {
			t.Fatal(err)
		}
		q++
	}); n != 0 {
		t.Fatalf("Append allocates %v", n)
	}
}

func BenchmarkStoreAppend(b *testing.B) {
	s, _ := NewStore(StoreConfig{Session: testSession})
	msg := make([]byte, 36)
	q := uint64(1)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Append(q, msg); err != nil {
			b.Fatal(err)
		}
		q++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
