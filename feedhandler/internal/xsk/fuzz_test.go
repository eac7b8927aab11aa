package xsk

import (
	"encoding/binary"
	"testing"
)

// FuzzRingSetReceive has the fake kernel post arbitrary RX descriptors:
// receive must hand out only descriptors inside the UMEM and inside one
// frame, each frame at most once, and count the rest invalid.
func FuzzRingSetReceive(f *testing.F) {
	seed := func(descs ...Desc) []byte {
		var b []byte
		for _, d := range descs {
			b = binary.LittleEndian.AppendUint64(b, d.Addr)
			b = binary.LittleEndian.AppendUint32(b, d.Len)
		}
		return b
	}
	f.Add(seed(Desc{Addr: 256, Len: 60}, Desc{Addr: 2048 + 256, Len: 1500}))
	f.Add(seed(Desc{Addr: 256, Len: 60}, Desc{Addr: 300, Len: 60}))
	f.Add(seed(Desc{Addr: 16*2048 - 1, Len: 2}, Desc{Addr: ^uint64(0), Len: ^uint32(0)}))
	f.Add(seed(Desc{Addr: 15 * 2048, Len: 2048}, Desc{Addr: 14*2048 + 1, Len: 2048}))
	f.Fuzz(func(t *testing.T, raw []byte) {
		const frames, fsize = 16, 2048
		k := newFakeKernel(t, frames, fsize, 16, 16, 16, 0, 0)
		var posted []Desc
		for len(raw) >= 12 && len(posted) < 16 {
			posted = append(posted, Desc{Addr: binary.LittleEndian.Uint64(raw), Len: binary.LittleEndian.Uint32(raw[8:])})
			raw = raw[12:]
		}
		idx, got := k.rx.reserve(uint32(len(posted)))
		for i := uint32(0); i < got; i++ {
			k.rs.rxDescs[(idx+i)&k.rx.mask] = posted[i]
		}
		k.rx.submit()
		out := make([]Desc, 16)
		n := k.rs.receive(out)
		if uint64(n)+k.rs.invalidDescs.Load() != uint64(got) {
			t.Fatalf("received %d + invalid %d != posted %d", n, k.rs.invalidDescs.Load(), got)
		}
		seen := map[uint64]bool{}
		for _, d := range out[:n] {
			base := d.Addr &^ (fsize - 1)
			if d.Addr >= frames*fsize || d.Addr-base+uint64(d.Len) > fsize || seen[base] {
				t.Fatalf("bad descriptor handed out: %+v", d)
			}
			seen[base] = true
			if b := k.rs.frame(d); len(b) != int(d.Len) {
				t.Fatalf("frame of %+v has %d bytes", d, len(b))
			}
		}
		if k.rs.heldCount() != n {
			t.Fatalf("held %d, received %d", k.rs.heldCount(), n)
		}
		k.rs.recycle(out[:n])
		if k.rs.heldCount() != 0 {
			t.Fatalf("held %d after recycle", k.rs.heldCount())
		}
	})
}
