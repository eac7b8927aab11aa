package vfio

import (
	"errors"
	"os"
	"testing"

	"github.com/ballast-risk/ballast/accel/internal/mmio"
)

func TestDecodePagemapEntry(t *testing.T) {
	const page = 4096
	cases := []struct {
		entry, vaddr, want uint64
		err                error
	}{
		{pagemapPresent | 0x12345, 0x7f00_0000_0abc, 0x12345abc, nil},
		{pagemapPresent | 1<<55 | 0x10, 0x1000, 0x10000, nil}, // soft-dirty bit ignored
		{pagemapPresent, 0x1000, 0, ErrNoPhysAddr},
		{0, 0x1000, 0, nil},
		{pagemapSwapped, 0x1000, 0, nil},
	}
	for _, c := range cases {
		got, err := DecodePagemapEntry(c.entry, c.vaddr, page)
		if c.want != 0 {
			if err != nil || got != c.want {
				t.Errorf("entry %#x: %#x, %v, want %#x", c.entry, got, err, c.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("entry %#x decoded to %#x, want an error", c.entry, got)
		}
		if c.err != nil && !errors.Is(err, c.err) {
			t.Errorf("entry %#x: %v, want %v", c.entry, err, c.err)
		}
	}
	if _, err := DecodePagemapEntry(pagemapPresent|1, 0, 3000); !errors.Is(err, ErrMalformed) {
		t.Errorf("non-power-of-two page: %v", err)
	}
	if _, err := DecodePagemapEntry(pagemapPresent|pagemapPFNMask, 0, 1<<20); !errors.Is(err, ErrMalformed) {
		t.Errorf("overflowing frame number: %v", err)
	}
}

func FuzzDecodePagemapEntry(f *testing.F) {
	f.Add(uint64(pagemapPresent|0x12345), uint64(0x7f0000000abc), uint8(12))
	f.Add(uint64(pagemapPresent), uint64(0), uint8(12))
	f.Add(uint64(pagemapPresent|pagemapPFNMask), uint64(1), uint8(21))
	f.Fuzz(func(t *testing.T, entry, vaddr uint64, shift uint8) {
		page := 1 << (shift % 31)
		p, err := DecodePagemapEntry(entry, vaddr, page)
		if err != nil {
			return
		}
		if p%uint64(page) != vaddr%uint64(page) || p/uint64(page) != entry&pagemapPFNMask {
			t.Fatalf("entry %#x vaddr %#x page %d: physical %#x", entry, vaddr, page, p)
		}
	})
}

func TestCheckContiguous(t *testing.T) {
	if p, err := CheckContiguous([]uint64{0x4000_0000, 0x4020_0000, 0x4040_0000}, 2<<20); err != nil || p != 0x4000_0000 {
		t.Fatalf("contiguous: %#x, %v", p, err)
	}
	if _, err := CheckContiguous([]uint64{0x4000_0000, 0x8000_0000}, 2<<20); !errors.Is(err, ErrNotContiguous) {
		t.Fatalf("split: %v", err)
	}
	if _, err := CheckContiguous(nil, 2<<20); err == nil {
		t.Fatal("empty accepted")
	}
}

// TestPhysContiguousOnePage looks up a real page: with CAP_SYS_ADMIN the
// frame is visible, without it the lookup must say so.
func TestPhysContiguousOnePage(t *testing.T) {
	page := os.Getpagesize()
	m, err := mmio.MapAnonymous(page, false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	p, err := PhysContiguous(m.Bytes(), page)
	if err != nil {
		if !errors.Is(err, ErrNoPhysAddr) {
			t.Fatal(err)
		}
		t.Skipf("physical addresses hidden here: %v", err)
	}
	if p == 0 || p%uint64(page) != 0 {
		t.Fatalf("physical address %#x", p)
	}
	for _, bad := range [][2]int{{0, page}, {page, page / 2}, {page, 3 * page}} {
		if _, err := PhysContiguous(m.Bytes()[:bad[0]], bad[1]); err == nil {
			t.Errorf("PhysContiguous(%d bytes, chunk %d) accepted", bad[0], bad[1])
		}
	}
}

func TestPhysContiguousHugePage(t *testing.T) {
	const huge = 2 << 20
	m, err := mmio.MapAnonymous(huge, true)
	if err != nil {
		t.Skipf("no 2 MiB huge page to test with: %v", err)
	}
	defer m.Unmap()
	p, err := PhysContiguous(m.Bytes(), huge)
	if errors.Is(err, ErrNoPhysAddr) {
		t.Skip(err)
	}
	if err != nil || p%huge != 0 {
		t.Fatalf("huge page at %#x, %v", p, err)
	}
}
