package driver_test

import (
	"bytes"
	"testing"

	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/internal/regs"
)

func TestDescriptorLayoutMatchesRegs(t *testing.T) {
	d := driver.Descriptor{Opcode: 0x0102, Flags: 0x0304, Tag: 0x05060708, SrcAddr: 0x1112131415161718,
		SrcLen: 0x21222324, DstAddr: 0x3132333435363738, DstLen: 0x41424344,
		Arg0: 0x5152535455565758, Arg1: 0x6162636465666768, Arg2: 0x7172737475767778}
	b := make([]byte, regs.DescBytes)
	if err := d.Encode(b); err != nil {
		t.Fatal(err)
	}
	le := func(off, n int) uint64 {
		var v uint64
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[off+i])
		}
		return v
	}
	for _, f := range []struct {
		off, n int
		want   uint64
	}{
		{regs.DescOpcodeOff, regs.DescOpcodeBytes, uint64(d.Opcode)}, {regs.DescFlagsOff, regs.DescFlagsBytes, uint64(d.Flags)},
		{regs.DescTagOff, regs.DescTagBytes, uint64(d.Tag)}, {regs.DescSrcAddrOff, regs.DescSrcAddrBytes, d.SrcAddr},
		{regs.DescSrcLenOff, regs.DescSrcLenBytes, uint64(d.SrcLen)}, {regs.DescRsvd0Off, regs.DescRsvd0Bytes, 0},
		{regs.DescDstAddrOff, regs.DescDstAddrBytes, d.DstAddr}, {regs.DescDstLenOff, regs.DescDstLenBytes, uint64(d.DstLen)},
		{regs.DescRsvd1Off, regs.DescRsvd1Bytes, 0}, {regs.DescArg0Off, regs.DescArg0Bytes, d.Arg0},
		{regs.DescArg1Off, regs.DescArg1Bytes, d.Arg1}, {regs.DescArg2Off, regs.DescArg2Bytes, d.Arg2},
	} {
		if got := le(f.off, f.n); got != f.want {
			t.Errorf("descriptor bytes at %#x: %#x, want %#x", f.off, got, f.want)
		}
	}
	c := driver.Completion{Tag: 0x01020304, Status: 0x0506, Flags: regs.CplFlagsValid, Seq: 0x11121314, Desc: 0x21222324, Cycles: 0x3132333435363738, OutBytes: 0x4142434445464748}
	cb := make([]byte, regs.CplBytes)
	if err := c.Encode(cb); err != nil {
		t.Fatal(err)
	}
	b = cb
	for _, f := range []struct {
		off, n int
		want   uint64
	}{
		{regs.CplTagOff, regs.CplTagBytes, uint64(c.Tag)}, {regs.CplStatusOff, regs.CplStatusBytes, uint64(c.Status)},
		{regs.CplFlagsOff, regs.CplFlagsBytes, uint64(c.Flags)}, {regs.CplSeqOff, regs.CplSeqBytes, uint64(c.Seq)},
		{regs.CplDescOff, regs.CplDescBytes, uint64(c.Desc)}, {regs.CplCyclesOff, regs.CplCyclesBytes, c.Cycles},
		{regs.CplOutBytesOff, regs.CplOutBytesBytes, c.OutBytes},
	} {
		if got := le(f.off, f.n); got != f.want {
			t.Errorf("completion bytes at %#x: %#x, want %#x", f.off, got, f.want)
		}
	}
	if !c.Valid() {
		t.Error("VALID not seen")
	}
	if _, err := driver.DecodeDescriptor(make([]byte, 63)); err == nil {
		t.Error("short descriptor decoded")
	}
	if _, err := driver.DecodeCompletion(make([]byte, 31)); err == nil {
		t.Error("short completion decoded")
	}
}

func FuzzDecodeDescriptor(f *testing.F) {
	f.Add(make([]byte, 64))
	f.Add(bytes.Repeat([]byte{0xFF}, 64))
	f.Add([]byte{1, 0, 1, 0, 7, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := driver.DecodeDescriptor(b)
		if len(b) < regs.DescBytes {
			if err == nil {
				t.Fatal("short input decoded")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, regs.DescBytes)
		if err := d.Encode(out); err != nil {
			t.Fatal(err)
		}
		// Reserved words are dropped; everything else round-trips.
		want := append([]byte(nil), b[:regs.DescBytes]...)
		clear(want[regs.DescRsvd0Off : regs.DescRsvd0Off+4])
		clear(want[regs.DescRsvd1Off : regs.DescRsvd1Off+4])
		if !bytes.Equal(out, want) {
			t.Fatalf("round trip %x -> %x", want, out)
		}
		if d2 := driver.DescriptorFromWords(d.Words()); d2 != d {
			t.Fatalf("words round trip %+v -> %+v", d, d2)
		}
	})
}

func FuzzDecodeCompletion(f *testing.F) {
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xA5}, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := driver.DecodeCompletion(b)
		if len(b) < regs.CplBytes {
			if err == nil {
				t.Fatal("short input decoded")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, regs.CplBytes)
		if err := c.Encode(out); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, b[:regs.CplBytes]) {
			t.Fatalf("round trip %x -> %x", b[:regs.CplBytes], out)
		}
	})
}

// fakeBar serves register reads from fuzz bytes: the walk and the identity
// checks are the driver's decoder of device contents.
type fakeBar struct{ b []byte }

func (f *fakeBar) Read32(off uint32) (uint32, error) {
	i := int(off/4) % (len(f.b)/4 + 1)
	if 4*i+4 > len(f.b) {
		return 0, nil
	}
	return uint32(f.b[4*i]) | uint32(f.b[4*i+1])<<8 | uint32(f.b[4*i+2])<<16 | uint32(f.b[4*i+3])<<24, nil
}

func (f *fakeBar) Write32(off, v uint32) error { return nil }

type fuzzMem struct{ b []byte }

func (m fuzzMem) Bytes() []byte { return m.b }
func (m fuzzMem) IOVA() uint64  { return 1 << 32 }

func FuzzOpen(f *testing.F) {
	good := make([]byte, 0x230)
	put := func(off int, v uint32) {
		good[off], good[off+1], good[off+2], good[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	put(regs.RegIDBlkID, regs.BlkTypeID<<16|1)
	put(regs.RegIDBlkNext, regs.BlkBaseCtrl)
	put(regs.RegIDMagic, regs.IDMagicValue)
	put(regs.RegIDABI, regs.IDABIValue)
	put(regs.RegCtrlBlkID, regs.BlkTypeCtrl<<16|1)
	put(regs.RegCtrlBlkNext, regs.BlkBaseQueue)
	put(regs.RegQueueBlkID, regs.BlkTypeQueue<<16|1)
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1, 0, 1, 0xB0, 4, 0, 0, 0})
	mem := make([]byte, 64<<10)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		// The fake's writes are lost, so the scratch test refuses every
		// device: Open must fail cleanly, never panic or loop.
		d, err := driver.Open(&fakeBar{b}, fuzzMem{mem}, driver.Config{Entries: 4, ResetTimeout: 1})
		if err == nil {
			d.Close()
			t.Fatal("a device whose scratch register does not hold writes was accepted")
		}
	})
}
