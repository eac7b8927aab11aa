package shmring

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/ballast-risk/ballast/engine/sbe"
)

// FuzzRecordReader feeds arbitrary shared-memory contents and a published
// tail to the consumer side and reads records as the server would (peek,
// copy, release, SOFH/SBE parse). It must never panic, never hand out a
// record beyond the bounds, and fail only with ErrCorrupt or sbe errors.
func FuzzRecordReader(f *testing.F) {
	oc := orderFor(1)
	good := oc.AppendFrame(nil)
	seed := make([]byte, 64)
	binary.LittleEndian.PutUint32(seed, uint32(len(good)))
	copy(seed[4:], good)
	f.Add(seed, uint64(64))
	f.Add(seed, uint64(8))
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF}, uint64(RingBytesMin+8))
	f.Add([]byte{0, 0, 0, 0}, uint64(8))
	f.Add([]byte{200, 0, 0, 0}, uint64(1<<40))
	f.Fuzz(func(t *testing.T, data []byte, tail uint64) {
		const frameMax = sbe.MessageFrameBytesMax
		_, cons, ctl, area := testRingPair(t, RingBytesMin, frameMax)
		copy(area, data)
		binary.LittleEndian.PutUint64(ctl, tail)
		l := &link{rx: cons, frameBytesMax: frameMax}
		buf := make([]byte, frameMax)
		for range RingBytesMin / 8 {
			rec, err := cons.peek()
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("peek: %v", err)
				}
				return
			}
			if rec == nil {
				if cons.chead != tail {
					t.Fatalf("empty with head %d, tail %d", cons.chead, tail)
				}
				return
			}
			if len(rec) < 1 || len(rec) > frameMax {
				t.Fatalf("record of %d bytes", len(rec))
			}
			_, n, err := l.parse(rec, buf)
			if n != len(rec) {
				t.Fatalf("parse consumed %d of %d", n, len(rec))
			}
			var pe *sbe.ProtocolError
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("parse: %v", err)
			}
			if cons.chead > tail || cons.chead%recordAlignBytes != 0 {
				t.Fatalf("head %d beyond tail %d or misaligned", cons.chead, tail)
			}
		}
	})
}
