package vsim

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestHeaderEncodeDecodeRoundTrip(t *testing.T) {
	h, err := NewHeader(1<<20, 7, 125)
	if err != nil {
		t.Fatal(err)
	}
	h.SimPID, h.State, h.Heartbeat, h.Cycles, h.Stop, h.IRQCount = 42, StateRunning, 9, 1234, 1, 3
	b := make([]byte, HeaderBytes)
	if err := h.Encode(b); err != nil {
		t.Fatal(err)
	}
	if string(b[:8]) != "BLSTVSM1" {
		t.Fatalf("magic %q", b[:8])
	}
	got, err := DecodeHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != h {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, h)
	}
	if err := got.Validate(MemOffset + 1<<20); err != nil {
		t.Fatal(err)
	}
	// Field offsets of docs/accel.md §6, spot-checked in the raw bytes.
	checks := []struct {
		off  int
		want uint64
		size int
	}{
		{0x08, 1, 4}, {0x0C, 4096, 4}, {0x10, 0x1000, 8}, {0x18, 0x1000, 8}, {0x20, 0x2000, 8},
		{0x28, 1 << 20, 8}, {0x30, 0x0000_0010_0000_0000, 8}, {0x38, 42, 4}, {0x3C, 1, 4},
		{0x40, 9, 8}, {0x48, 1234, 8}, {0x50, 1, 4}, {0x54, 3, 4}, {0x58, 7, 4}, {0x5C, 125, 4},
	}
	for _, c := range checks {
		var v uint64
		for i := c.size - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[c.off+i])
		}
		if v != c.want {
			t.Errorf("offset %#x: %#x, want %#x", c.off, v, c.want)
		}
	}
}

func TestHeaderValidateRejects(t *testing.T) {
	good, err := NewHeader(64<<10, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	size := good.FileBytes()
	cases := map[string]func(h *Header) int64{
		"version":     func(h *Header) int64 { h.Version = 2; return size },
		"header size": func(h *Header) int64 { h.HeaderBytes = 2048; return size },
		"bar off":     func(h *Header) int64 { h.BarOff = 0x2000; return size },
		"bar size":    func(h *Header) int64 { h.BarBytes = 0x2000; return size },
		"mem off":     func(h *Header) int64 { h.MemOff = 0x3000; return size },
		"mem zero":    func(h *Header) int64 { h.MemBytes = 0; return MemOffset },
		"mem odd":     func(h *Header) int64 { h.MemBytes = 5000; return MemOffset + 5000 },
		"mem huge": func(h *Header) int64 {
			h.MemBytes = MemBytesMax + PageBytes
			return MemOffset + MemBytesMax + PageBytes
		},
		"file short": func(h *Header) int64 { return size - PageBytes },
		"file long":  func(h *Header) int64 { return size + PageBytes },
		"iova zero":  func(h *Header) int64 { h.MemIOVA = 0; return size },
		"iova odd":   func(h *Header) int64 { h.MemIOVA = MemIOVA + 8; return size },
		"iova wraps": func(h *Header) int64 { h.MemIOVA = ^uint64(0) &^ (PageBytes - 1); return size },
		"latency":    func(h *Header) int64 { h.MemLatencyCycles = MemLatencyCyclesMax + 1; return size },
		"stall":      func(h *Header) int64 { h.StallPermille = 1001; return size },
	}
	for name, mutate := range cases {
		h := good
		fileBytes := mutate(&h)
		if err := h.Validate(fileBytes); !errors.Is(err, ErrBadHeader) {
			t.Errorf("%s: Validate = %v, want ErrBadHeader", name, err)
		}
	}
	if _, err := NewHeader(4096, 0, 0); !errors.Is(err, ErrBadHeader) {
		t.Errorf("NewHeader below MemBytesMin: %v", err)
	}
	if _, err := NewHeader(64<<10, 0, 1001); !errors.Is(err, ErrBadHeader) {
		t.Errorf("NewHeader stall 1001: %v", err)
	}
}

func TestDecodeHeaderRejectsShortAndMagic(t *testing.T) {
	if _, err := DecodeHeader(make([]byte, 0x5F)); !errors.Is(err, ErrBadHeader) {
		t.Fatalf("short: %v", err)
	}
	b := make([]byte, HeaderBytes)
	h, _ := NewHeader(64<<10, 0, 0)
	if err := h.Encode(b); err != nil {
		t.Fatal(err)
	}
	b[7] = '2'
	if _, err := DecodeHeader(b); !errors.Is(err, ErrBadHeader) {
		t.Fatalf("bad magic: %v", err)
	}
	if err := h.Encode(b[:10]); !errors.Is(err, ErrBadHeader) {
		t.Fatalf("encode short: %v", err)
	}
}

func TestCreateFileLayoutResetClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vsim.shm")
	f, err := CreateFile(path, FileParams{MemBytes: 256 << 10, MemLatencyCycles: 3, StallPermille: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != MemOffset+256<<10 || st.Mode().Perm() != 0o600 {
		t.Fatalf("file size %d mode %v", st.Size(), st.Mode())
	}
	h, err := f.Header()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(st.Size()); err != nil || h.State != StateStarting || h.MemLatencyCycles != 3 || h.StallPermille != 10 {
		t.Fatalf("header %+v: %v", h, err)
	}
	mem := f.Memory()
	if mem.IOVA() != MemIOVA || len(mem.Bytes()) != 256<<10 {
		t.Fatalf("memory iova %#x len %d", mem.IOVA(), len(mem.Bytes()))
	}
	if _, err := CreateFile(path, FileParams{MemBytes: 256 << 10}); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second create: %v", err)
	}
	// Simulator-written fields and the mailbox go back to zero on Reset;
	// host memory stays.
	mem.Bytes()[100] = 0xAB
	f.store32(offState, uint32(StateStopped))
	f.store32(offIRQCount, 5)
	f.RequestStop()
	f.bar[0] = 9
	if err := f.Reset(); err != nil {
		t.Fatal(err)
	}
	h, _ = f.Header()
	if h.State != StateStarting || h.IRQCount != 0 || h.Stop != 0 || f.bar[0] != 0 || mem.Bytes()[100] != 0xAB {
		t.Fatalf("after reset: %+v bar0 %d mem %#x", h, f.bar[0], mem.Bytes()[100])
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file still there after Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := f.Header(); err == nil {
		t.Fatal("Header after Close succeeded")
	}
}

func FuzzDecodeHeader(f *testing.F) {
	h, _ := NewHeader(64<<10, 4, 100)
	b := make([]byte, headerFieldBytes)
	_ = h.Encode(b)
	f.Add(b, int64(h.FileBytes()))
	f.Add(b[:0x40], int64(0))
	f.Add([]byte("BLSTVSM1"), int64(MemOffset))
	f.Fuzz(func(t *testing.T, data []byte, fileBytes int64) {
		h, err := DecodeHeader(data)
		if err != nil {
			if !errors.Is(err, ErrBadHeader) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := h.Validate(fileBytes); err != nil {
			if !errors.Is(err, ErrBadHeader) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// A valid header re-encodes to the same bytes.
		out := make([]byte, headerFieldBytes)
		if err := h.Encode(out); err != nil {
			t.Fatal(err)
		}
		if string(out) != string(data[:headerFieldBytes]) {
			t.Fatalf("re-encode differs")
		}
		if uint64(fileBytes) != h.MemOff+h.MemBytes || h.MemIOVA == 0 {
			t.Fatalf("Validate accepted %+v for %d bytes", h, fileBytes)
		}
	})
}
