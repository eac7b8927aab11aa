package vfio

import (
	"encoding/binary"
	"errors"
	"testing"
)

// iommuInfoBuf builds a vfio_iommu_type1_info answer: the fixed part, a
// migration capability to skip, then an IOVA range capability.
func iommuInfoBuf(pgsizes uint64, ranges []IOVARange) []byte {
	ne := binary.NativeEndian
	const fixed, mig = 24, 32
	b := make([]byte, fixed+mig+16+16*len(ranges))
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint32(b[4:], iommuInfoPgsizes|iommuInfoCaps)
	ne.PutUint64(b[8:], pgsizes)
	ne.PutUint32(b[16:], fixed)
	// Migration capability (id 2) pointing at the range capability.
	ne.PutUint16(b[fixed:], 2)
	ne.PutUint16(b[fixed+2:], 1)
	ne.PutUint32(b[fixed+4:], fixed+mig)
	r := fixed + mig
	ne.PutUint16(b[r:], iommuInfoCapIOVARangeID)
	ne.PutUint16(b[r+2:], 1)
	ne.PutUint32(b[r+4:], 0)
	ne.PutUint32(b[r+8:], uint32(len(ranges)))
	for i, x := range ranges {
		ne.PutUint64(b[r+16+16*i:], x.Start)
		ne.PutUint64(b[r+24+16*i:], x.End)
	}
	return b
}

func TestParseIOMMUInfo(t *testing.T) {
	want := []IOVARange{{0, 0xfedfffff}, {0xfef00000, 1<<48 - 1}}
	info, err := ParseIOMMUInfo(iommuInfoBuf(0xfffff000, want))
	if err != nil {
		t.Fatal(err)
	}
	if info.PageSizes != 0xfffff000 || len(info.Ranges) != 2 || info.Ranges[0] != want[0] || info.Ranges[1] != want[1] {
		t.Fatalf("parsed %+v", info)
	}
	const iova = 0x10_0000_0000
	if !info.Covers(iova, 64<<20) {
		t.Error("IOVA base not covered")
	}
	if info.Covers(0xfee00000, 4096) {
		t.Error("MSI window reported usable")
	}
	if info.Covers(1<<48-4096, 8192) || info.Covers(iova, 0) || info.Covers(^uint64(0)-4095, 8192) {
		t.Error("range past the end, empty or wrapping reported usable")
	}
	// The top of the 64-bit space is addressable when a range reaches it.
	top := IOMMUInfo{Ranges: []IOVARange{{^uint64(0) - 4095, ^uint64(0)}}}
	if !top.Covers(^uint64(0), 1) || !top.Covers(^uint64(0)-4095, 4096) || top.Covers(^uint64(0)-4095, 4097) {
		t.Error("a range ending at the top of the address space")
	}
	if !(IOMMUInfo{}).Covers(iova, 4096) {
		t.Error("no reported ranges must mean usable")
	}

	// Without capabilities: page sizes only.
	b := iommuInfoBuf(0x1000, nil)[:24]
	binary.NativeEndian.PutUint32(b[4:], iommuInfoPgsizes)
	if info, err := ParseIOMMUInfo(b); err != nil || info.PageSizes != 0x1000 || info.Ranges != nil {
		t.Fatalf("no caps: %+v, %v", info, err)
	}
}

func TestParseIOMMUInfoRejectsMalformed(t *testing.T) {
	ne := binary.NativeEndian
	good := iommuInfoBuf(0x1000, []IOVARange{{0, 1 << 40}})
	cases := map[string]func(b []byte) []byte{
		"short":           func(b []byte) []byte { return b[:19] },
		"cap inside head": func(b []byte) []byte { ne.PutUint32(b[16:], 8); return b },
		"cap past end":    func(b []byte) []byte { ne.PutUint32(b[16:], uint32(len(b))); return b },
		"loop":            func(b []byte) []byte { ne.PutUint32(b[24+4:], 24); return b },
		"ranges overflow": func(b []byte) []byte { ne.PutUint32(b[56+8:], 2); return b },
		"range inverted":  func(b []byte) []byte { ne.PutUint64(b[56+16:], 1<<41); return b },
		"truncated range": func(b []byte) []byte { return b[:60] },
	}
	for name, mutate := range cases {
		b := mutate(append([]byte(nil), good...))
		if _, err := ParseIOMMUInfo(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzParseIOMMUInfo(f *testing.F) {
	f.Add(iommuInfoBuf(0xfffff000, []IOVARange{{0, 0xfedfffff}, {0xfef00000, 1<<48 - 1}}))
	f.Add(iommuInfoBuf(0x1000, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseIOMMUInfo(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(info.Ranges) > iovaRangesMax {
			t.Fatalf("%d ranges", len(info.Ranges))
		}
		for _, r := range info.Ranges {
			if r.End < r.Start {
				t.Fatalf("inverted range %+v", r)
			}
			if !info.Covers(r.Start, 1) {
				t.Fatalf("range %+v does not cover its own start", r)
			}
		}
	})
}
