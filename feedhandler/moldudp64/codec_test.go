package moldudp64

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

var testSession = MakeSession("SESS01")

// msgFor returns the deterministic test message of seq: its 8-byte
// big-endian sequence number followed by seq%23 filler bytes.
func msgFor(seq uint64) []byte {
	return appendMsg(nil, seq)
}

func appendMsg(dst []byte, seq uint64) []byte {
	dst = binary.BigEndian.AppendUint64(dst, seq)
	for i := uint64(0); i < seq%23; i++ {
		dst = append(dst, byte(seq+i))
	}
	return dst
}

// packet builds a data packet of the test session with messages
// first..first+n-1.
func packet(s Session, first uint64, n int) []byte {
	b := AppendHeader(nil, Header{Session: s, Seq: first, Count: uint16(n)})
	for i := 0; i < n; i++ {
		b = AppendBlock(b, msgFor(first+uint64(i)))
	}
	return b
}

func TestSession(t *testing.T) {
	s := MakeSession("AB")
	if string(s[:]) != "AB        " {
		t.Fatalf("MakeSession padded to %q", s[:])
	}
	if s.String() != "AB" {
		t.Fatalf("String = %q", s.String())
	}
	if got := MakeSession("0123456789XYZ").String(); got != "0123456789" {
		t.Fatalf("long session = %q", got)
	}
	var z Session
	if z.String() != "" {
		t.Fatalf("zero session = %q", z.String())
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{Session: testSession, Seq: 0x0102030405060708, Count: 0x0A0B}
	b := AppendHeader(nil, h)
	if len(b) != HeaderLen {
		t.Fatalf("len %d", len(b))
	}
	want := append([]byte("SESS01    "), 1, 2, 3, 4, 5, 6, 7, 8, 0x0A, 0x0B)
	if !bytes.Equal(b, want) {
		t.Fatalf("encoded % x, want % x", b, want)
	}
	got, err := ParseHeader(b)
	if err != nil || got != h {
		t.Fatalf("ParseHeader = %+v, %v", got, err)
	}
	if _, err := ParseHeader(b[:HeaderLen-1]); !errors.Is(err, ErrShort) {
		t.Fatalf("short header: %v", err)
	}
	if h.Next() != h.Seq+0x0A0B || h.IsHeartbeat() || h.IsEndOfSession() {
		t.Fatalf("data header predicates wrong")
	}
	hb := Header{Seq: 9}
	if !hb.IsHeartbeat() || hb.Next() != 9 || hb.Messages() != 0 {
		t.Fatalf("heartbeat predicates wrong")
	}
	eos := Header{Seq: 9, Count: EndOfSession}
	if !eos.IsEndOfSession() || eos.Next() != 9 || eos.Messages() != 0 {
		t.Fatalf("end-of-session predicates wrong")
	}
}

func TestValidate(t *testing.T) {
	good := packet(testSession, 5, 3)
	hdr := func(seq uint64, count uint16) []byte {
		return AppendHeader(nil, Header{Session: testSession, Seq: seq, Count: count})
	}
	cases := []struct {
		name string
		pkt  []byte
		err  error
	}{
		{"good", good, nil},
		{"heartbeat", hdr(7, 0), nil},
		{"end of session", hdr(7, EndOfSession), nil},
		{"empty message", AppendBlock(hdr(1, 1), nil), nil},
		{"short", good[:HeaderLen-1], ErrShort},
		{"empty", nil, ErrShort},
		{"count beyond blocks", hdr(1, 1), ErrTruncated},
		{"cut length prefix", append(hdr(1, 1), 0), ErrTruncated},
		{"cut message", good[:len(good)-1], ErrTruncated},
		{"overlong block", append(hdr(1, 1), 0, 5, 1, 2), ErrTruncated},
		{"trailing", append(append([]byte{}, good...), 0), ErrTrailing},
		{"heartbeat payload", append(hdr(7, 0), 0, 0), ErrTrailing},
		{"end of session payload", append(hdr(7, EndOfSession), 1), ErrTrailing},
		{"seq zero", packet(testSession, 0, 1), ErrSeqZero},
		{"heartbeat seq zero", hdr(0, 0), ErrSeqZero},
		{"seq overflow", AppendBlock(AppendBlock(hdr(math.MaxUint64-1, 2), nil), nil), ErrSeqOverflow},
		{"too long", append(AppendBlock(hdr(1, 1), make([]byte, 65535)), make([]byte, 10)...), ErrTooLong},
	}
	for _, c := range cases {
		_, err := Validate(c.pkt)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: Validate error %v, want %v", c.name, err, c.err)
		}
	}
	// The largest legal packet passes.
	big := AppendBlock(hdr(1, 1), make([]byte, MessageBytesMax))
	if len(big) != PacketBytesMax {
		t.Fatalf("largest packet is %d bytes", len(big))
	}
	if _, err := Validate(big); err != nil {
		t.Fatalf("largest packet: %v", err)
	}
	// The last sequence number may be MaxUint64-1 (Next fits).
	if _, err := Validate(AppendBlock(hdr(math.MaxUint64-1, 1), nil)); err != nil {
		t.Fatalf("top of sequence space: %v", err)
	}
}

func TestIterator(t *testing.T) {
	pkt := packet(testSession, 100, 5)
	var it Iterator
	h, err := it.Reset(pkt)
	if err != nil || h.Seq != 100 || h.Count != 5 {
		t.Fatalf("Reset = %+v, %v", h, err)
	}
	want := uint64(100)
	for seq, msg, ok := it.Next(); ok; seq, msg, ok = it.Next() {
		if seq != want || !bytes.Equal(msg, msgFor(seq)) {
			t.Fatalf("message %d: seq %d msg % x", want, seq, msg)
		}
		if cap(msg) != len(msg) {
			t.Fatalf("message slice exposes the rest of the packet")
		}
		want++
	}
	if want != 105 || it.Remaining() != 0 {
		t.Fatalf("iterated to %d, remaining %d", want, it.Remaining())
	}
	if _, err := it.Reset(pkt); err != nil {
		t.Fatal(err)
	}
	it.Skip(3)
	if seq, _, ok := it.Next(); !ok || seq != 103 || it.Remaining() != 1 {
		t.Fatalf("after Skip(3): seq %d ok %v remaining %d", seq, ok, it.Remaining())
	}
	it.Skip(10)
	if _, _, ok := it.Next(); ok {
		t.Fatal("Skip past the end left messages")
	}
	if _, err := it.Reset(pkt[:len(pkt)-1]); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Reset of a truncated packet: %v", err)
	}
	if _, _, ok := it.Next(); ok {
		t.Fatal("iterator not empty after a failed Reset")
	}
}

func TestRequestRoundTrip(t *testing.T) {
	r := Request{Session: testSession, Seq: 42, Count: 7}
	b := AppendRequest(nil, r)
	if len(b) != RequestLen {
		t.Fatalf("len %d", len(b))
	}
	got, err := ParseRequest(b)
	if err != nil || got != r {
		t.Fatalf("ParseRequest = %+v, %v", got, err)
	}
	bad := []struct {
		name string
		b    []byte
		err  error
	}{
		{"short", b[:19], ErrShort},
		{"long", append(append([]byte{}, b...), 0), ErrRequestLen},
		{"count 0", AppendRequest(nil, Request{Session: testSession, Seq: 1}), ErrRequestCount},
		{"count eos", AppendRequest(nil, Request{Session: testSession, Seq: 1, Count: EndOfSession}), ErrRequestCount},
		{"seq 0", AppendRequest(nil, Request{Session: testSession, Count: 1}), ErrSeqZero},
		{"overflow", AppendRequest(nil, Request{Session: testSession, Seq: math.MaxUint64, Count: 2}), ErrSeqOverflow},
	}
	for _, c := range bad {
		if _, err := ParseRequest(c.b); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
}

func TestCodecAllocs(t *testing.T) {
	pkt := packet(testSession, 1, 20)
	buf := make([]byte, 0, PacketBytesMax)
	var it Iterator
	var sink int
	n := testing.AllocsPerRun(100, func() {
		if _, err := it.Reset(pkt); err != nil {
			t.Fatal(err)
		}
		for _, msg, ok := it.Next(); ok; _, msg, ok = it.Next() {
			sink += len(msg)
		}
		b := AppendHeader(buf[:0], Header{Session: testSession, Seq: 1, Count: 1})
		b = AppendBlock(b, pkt[HeaderLen:HeaderLen+4])
		req := AppendRequest(buf[:0], Request{Session: testSession, Seq: 1, Count: 1})
		if _, err := ParseRequest(req); err != nil {
			t.Fatal(err)
		}
		sink += len(b)
	})
	if n != 0 {
		t.Fatalf("codec allocates %v times per packet", n)
	}
	_ = sink
}

// reencode rebuilds a validated packet from its header and messages.
func reencode(pkt []byte) ([]byte, error) {
	var it Iterator
	h, err := it.Reset(pkt)
	if err != nil {
		return nil, err
	}
	out := AppendHeader(nil, h)
	next := h.Seq
	for seq, msg, ok := it.Next(); ok; seq, msg, ok = it.Next() {
		if seq != next {
			return nil, errors.New("sequence numbers not consecutive")
		}
		next++
		out = AppendBlock(out, msg)
	}
	if next != h.Next() {
		return nil, errors.New("message count differs from header")
	}
	return out, nil
}

func FuzzValidate(f *testing.F) {
	f.Add(packet(testSession, 1, 3))
	f.Add(AppendHeartbeat(nil, testSession, 10))
	f.Add(AppendEndOfSession(nil, testSession, 10))
	f.Add(append(AppendHeader(nil, Header{Session: testSession, Seq: 1, Count: 2}), 0, 1, 7))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		out, err := reencode(pkt)
		if err != nil {
			if _, verr := Validate(pkt); verr == nil {
				t.Fatalf("valid packet failed to iterate: %v", err)
			}
			return
		}
		if !bytes.Equal(out, pkt) {
			t.Fatalf("re-encoded packet differs:\n% x\n% x", out, pkt)
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	f.Add(AppendRequest(nil, Request{Session: testSession, Seq: 1, Count: 1}))
	f.Add(AppendRequest(nil, Request{Session: testSession, Seq: math.MaxUint64, Count: 1}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		if r.Count == 0 || r.Count == EndOfSession || r.Seq == 0 || r.Seq+uint64(r.Count-1) < r.Seq {
			t.Fatalf("accepted bad request %+v", r)
		}
		if out := AppendRequest(nil, r); !bytes.Equal(out, b) {
			t.Fatalf("round trip differs: % x vs % x", out, b)
		}
	})
}

// itchLikePacket returns a packet of n messages of 36 bytes (the size of an
// ITCH Add Order), the common case on the wire.
func itchLikePacket(n int) []byte {
	b := AppendHeader(nil, Header{Session: testSession, Seq: 1, Count: uint16(n)})
	msg := make([]byte, 36)
	for i := 0; i < n; i++ {
		b = AppendBlock(b, msg)
	}
	return b
}

func BenchmarkValidateIterate(b *testing.B) {
	const n = 36 // ~1400-byte packet
	pkt := itchLikePacket(n)
	var it Iterator
	var sink int
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := it.Reset(pkt); err != nil {
			b.Fatal(err)
		}
		for _, msg, ok := it.Next(); ok; _, msg, ok = it.Next() {
			sink += len(msg)
		}
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "msgs/s")
	_ = sink
}
