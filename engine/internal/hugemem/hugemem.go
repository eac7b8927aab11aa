// Package hugemem allocates the engine's large float64 matrices (loss
// vectors of every account and instrument: about 1 GB for the reference
// workload) on transparent huge pages where the kernel offers them on
// request (madvise mode). A pre-trade check reads two random vectors of
// those matrices; with 4 KiB pages nearly every such read also misses the
// TLB and walks page tables that are not in cache either, so 2 MiB pages
// cut the check's memory latency. It is the engine's only user of unsafe
// and madvise.
package hugemem

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePageBytes is the x86-64 and arm64 transparent huge page size.
const hugePageBytes = 2 << 20

// thresholdBytes is the size from which Float64s asks for huge pages.
const thresholdBytes = 4 * hugePageBytes

// Float64s returns a zeroed slice of n float64s. From thresholdBytes up, it
// advises the kernel to back the slice's whole 2 MiB-aligned interior with
// huge pages before any page is touched. The advice is best effort: where
// the kernel refuses (THP disabled), the slice is ordinary memory.
func Float64s(n int) []float64 {
	s := make([]float64, n)
	if n*8 < thresholdBytes {
		return s
	}
	start := uintptr(unsafe.Pointer(&s[0]))
	end := start + uintptr(n*8)
	lo := (start + hugePageBytes - 1) &^ (hugePageBytes - 1)
	hi := end &^ (hugePageBytes - 1)
	if hi > lo {
		// lo − start is a multiple of 8: both are 8-byte aligned.
		first := int((lo - start) / 8)
		b := unsafe.Slice((*byte)(unsafe.Pointer(&s[first])), hi-lo)
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	}
	return s
}
