package shmring

import (
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"github.com/ballast-risk/ballast/engine/internal/shm"
)

// testRingPair builds a producer and a consumer view of one ring over
// private memory, as the two processes would.
func testRingPair(t testing.TB, dataBytes, frameBytesMax int) (prod, cons *ring, ctl, data []byte) {
	t.Helper()
	mem := shm.Aligned(ringCtlBytes + dataBytes)
	ctl, data = mem[:ringCtlBytes], mem[ringCtlBytes:]
	prod, err := newRing(ctl, data, frameBytesMax)
	if err != nil {
		t.Fatal(err)
	}
	cons, err = newRing(ctl, data, frameBytesMax)
	if err != nil {
		t.Fatal(err)
	}
	return prod, cons, ctl, data
}

func fillPattern(p []byte, seq int) {
	for i := range p {
		p[i] = byte(seq*31 + i*7)
	}
}

func checkPattern(t testing.TB, p []byte, seq, n int) {
	t.Helper()
	if len(p) != n {
		t.Fatalf("record %d: %d bytes, want %d", seq, len(p), n)
	}
	for i := range p {
		if p[i] != byte(seq*31+i*7) {
			t.Fatalf("record %d: byte %d is %d", seq, i, p[i])
		}
	}
}

func TestRingWrapVariableSizes(t *testing.T) {
	const frameMax = 200
	prod, cons, _, _ := testRingPair(t, RingBytesMin, frameMax)
	buf := make([]byte, frameMax)
	wrote, read := 0, 0
	sizeOf := func(i int) int { return 1 + (i*37)%frameMax }
	for wrote < 5000 {
		// write a burst of 1..6 records, then read some back
		for k := 0; k < 1+wrote%6; k++ {
			n := sizeOf(wrote)
			fillPattern(buf[:n], wrote)
			ok, err := prod.tryWrite(buf[:n])
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			wrote++
		}
		for k := 0; k < 1+read%5 && read < wrote; k++ {
			rec, err := cons.peek()
			if err != nil || rec == nil {
				t.Fatalf("peek %d of %d: %v, %v", read, wrote, rec, err)
			}
			checkPattern(t, rec, read, sizeOf(read))
			cons.release()
			read++
		}
	}
	for read < wrote {
		rec, err := cons.peek()
		if err != nil || rec == nil {
			t.Fatalf("drain %d of %d: %v", read, wrote, err)
		}
		checkPattern(t, rec, read, sizeOf(read))
		cons.release()
		read++
	}
	if rec, err := cons.peek(); rec != nil || err != nil {
		t.Fatalf("drained ring not empty: %v %v", rec, err)
	}
	if laps := prod.ptail / RingBytesMin; laps < 100 {
		t.Fatalf("only %d laps: wrap-around barely exercised", laps)
	}
}

func TestRingFullEmpty(t *testing.T) {
	prod, cons, _, _ := testRingPair(t, RingBytesMin, 60)
	if rec, err := cons.peek(); rec != nil || err != nil {
		t.Fatalf("new ring: %v %v", rec, err)
	}
	p := make([]byte, 60) // 64-byte records: 16 fill 1024 bytes
	n := 0
	for {
		fillPattern(p, n)
		ok, err := prod.tryWrite(p)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		n++
	}
	if n != RingBytesMin/64 {
		t.Fatalf("full after %d records, want %d", n, RingBytesMin/64)
	}
	rec, _ := cons.peek()
	checkPattern(t, rec, 0, 60)
	cons.release()
	fillPattern(p, n)
	if ok, err := prod.tryWrite(p); !ok || err != nil {
		t.Fatalf("write after one release: %v %v", ok, err)
	}
	for i := 1; i <= n; i++ {
		rec, err := cons.peek()
		if err != nil {
			t.Fatal(err)
		}
		checkPattern(t, rec, i, 60)
		cons.release()
	}
	if rec, err := cons.peek(); rec != nil || err != nil {
		t.Fatalf("drained ring: %v %v", rec, err)
	}
	if _, err := prod.tryWrite(nil); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("empty frame: %v", err)
	}
	if _, err := prod.tryWrite(make([]byte, 61)); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("oversized frame: %v", err)
	}
}

func TestRingExactBoundary(t *testing.T) {
	prod, cons, _, data := testRingPair(t, RingBytesMin, 200)
	// 5 records of 196 bytes (200-byte records) end at 1000; one of 20
	// (24-byte record) ends exactly at 1024: no wrap marker.
	sizes := []int{196, 196, 196, 196, 196, 20}
	for i, n := range sizes {
		p := make([]byte, n)
		fillPattern(p, i)
		if ok, err := prod.tryWrite(p); !ok || err != nil {
			t.Fatalf("write %d: %v %v", i, ok, err)
		}
	}
	if prod.ptail != RingBytesMin {
		t.Fatalf("tail %d, want exactly %d", prod.ptail, RingBytesMin)
	}
	for i, n := range sizes {
		rec, err := cons.peek()
		if err != nil {
			t.Fatal(err)
		}
		checkPattern(t, rec, i, n)
		cons.release()
	}
	// The next record starts at offset 0 of lap 2 without a marker.
	p := make([]byte, 100)
	fillPattern(p, 6)
	if ok, err := prod.tryWrite(p); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if got := binary.LittleEndian.Uint32(data[0:]); got != 100 {
		t.Fatalf("length word at offset 0 is %d", got)
	}
	// Fill to 8 bytes short of the end, then a record that needs 16:
	// one 8-byte wrap marker, the record at offset 0.
	for _, n := range []int{196, 196, 196, 196} {
		if ok, err := prod.tryWrite(make([]byte, n)); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if ok, err := prod.tryWrite(make([]byte, 108)); !ok || err != nil { // ends at 1016 of lap 2
		t.Fatal(ok, err)
	}
	for range 6 {
		if _, err := cons.peek(); err != nil {
			t.Fatal(err)
		}
		cons.release()
	}
	if ok, err := prod.tryWrite(make([]byte, 12)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if got := binary.LittleEndian.Uint32(data[1016:]); got != wrapMarker {
		t.Fatalf("no wrap marker at 1016: %#x", got)
	}
	if prod.ptail != 2*RingBytesMin+16 {
		t.Fatalf("tail %d after wrap, want %d", prod.ptail, 2*RingBytesMin+16)
	}
	rec, err := cons.peek()
	if err != nil || len(rec) != 12 {
		t.Fatalf("record after wrap: %d bytes, %v", len(rec), err)
	}
	cons.release()
}

func TestRingConcurrent(t *testing.T) {
	frames := 100_000
	if raceEnabled {
		frames = 20_000
	}
	const frameMax = 120
	prod, cons, _, _ := testRingPair(t, 4096, frameMax)
	done := make(chan error, 1)
	go func() {
		p := make([]byte, frameMax)
		for i := 0; i < frames; i++ {
			n := 1 + (i*13)%frameMax
			fillPattern(p[:n], i)
			for {
				ok, err := prod.tryWrite(p[:n])
				if err != nil {
					done <- err
					return
				}
				if ok {
					break
				}
				runtime.Gosched()
			}
		}
		done <- nil
	}()
	for i := 0; i < frames; {
		rec, err := cons.peek()
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil {
			runtime.Gosched()
			continue
		}
		checkPattern(t, rec, i, 1+(i*13)%frameMax)
		cons.release()
		i++
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRingRejectsCorruptState(t *testing.T) {
	cases := []struct {
		name  string
		setup func(ctl, data []byte)
	}{
		{"tail beyond ring", func(ctl, _ []byte) { binary.LittleEndian.PutUint64(ctl, RingBytesMin+8) }},
		{"tail behind head", func(ctl, _ []byte) { binary.LittleEndian.PutUint64(ctl, ^uint64(7)) }},
		{"tail misaligned", func(ctl, data []byte) {
			binary.LittleEndian.PutUint32(data, 4)
			binary.LittleEndian.PutUint64(ctl, 9)
		}},
		{"length zero", func(ctl, _ []byte) { binary.LittleEndian.PutUint64(ctl, 8) }},
		{"length above max", func(ctl, data []byte) {
			binary.LittleEndian.PutUint32(data, 201)
			binary.LittleEndian.PutUint64(ctl, 512)
		}},
		{"length huge", func(ctl, data []byte) {
			binary.LittleEndian.PutUint32(data, 0xFFFFFFFE)
			binary.LittleEndian.PutUint64(ctl, 512)
		}},
		{"record beyond tail", func(ctl, data []byte) {
			binary.LittleEndian.PutUint32(data, 100)
			binary.LittleEndian.PutUint64(ctl, 96)
		}},
		{"wrap marker beyond tail", func(ctl, data []byte) {
			binary.LittleEndian.PutUint32(data, wrapMarker)
			binary.LittleEndian.PutUint64(ctl, 64)
		}},
		{"two wrap markers", func(ctl, data []byte) {
			binary.LittleEndian.PutUint32(data, wrapMarker)
			binary.LittleEndian.PutUint64(ctl, RingBytesMin+8)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, cons, ctl, data := testRingPair(t, RingBytesMin, 200)
			tc.setup(ctl, data)
			if _, err := cons.peek(); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("peek: %v, want ErrCorrupt", err)
			}
			if _, err := cons.peek(); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("poisoned ring: %v, want ErrCorrupt", err)
			}
		})
	}
	t.Run("record crossing the end", func(t *testing.T) {
		prod, cons, ctl, data := testRingPair(t, RingBytesMin, 200)
		for range 5 {
			prod.tryWrite(make([]byte, 196)) // to 1000
		}
		for range 5 {
			cons.peek()
			cons.release()
		}
		binary.LittleEndian.PutUint32(data[1000:], 60)
		binary.LittleEndian.PutUint64(ctl, 1000+64)
		if _, err := cons.peek(); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("peek: %v, want ErrCorrupt", err)
		}
	})
	t.Run("head beyond tail", func(t *testing.T) {
		prod, _, ctl, _ := testRingPair(t, RingBytesMin, 200)
		for range 5 {
			prod.tryWrite(make([]byte, 196))
		}
		binary.LittleEndian.PutUint64(ctl[ctlHead:], 4096)
		if _, err := prod.tryWrite(make([]byte, 196)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("write: %v, want ErrCorrupt", err)
		}
	})
	if _, err := newRing(make([]byte, ringCtlBytes), make([]byte, 1000), 100); err == nil {
		t.Error("non-power-of-two ring accepted")
	}
	if _, err := newRing(make([]byte, ringCtlBytes), make([]byte, RingBytesMin), 600); err == nil {
		t.Error("frame maximum above half the ring accepted")
	}
}

func TestRingAllocs(t *testing.T) {
	prod, cons, _, _ := testRingPair(t, RingBytesMin, 120)
	p := make([]byte, 78)
	allocs := testing.AllocsPerRun(1000, func() {
		if ok, err := prod.tryWrite(p); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if rec, err := cons.peek(); rec == nil || err != nil {
			t.Fatal(err)
		}
		cons.release()
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per write+read", allocs)
	}
}
