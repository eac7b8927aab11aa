package vfio

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed reports a kernel answer (IOMMU info, pagemap entry) that does
// not parse.
var ErrMalformed = errors.New("vfio: malformed kernel answer")

const (
	// iommuInfoFixedBytes is offsetofend(struct vfio_iommu_type1_info,
	// cap_offset).
	iommuInfoFixedBytes = 20
	// capsMax bounds the capability chain walk.
	capsMax = 64
	// iovaRangesMax bounds the IOVA windows one capability may list.
	iovaRangesMax = 1024
)

// ParseIOMMUInfo decodes a struct vfio_iommu_type1_info buffer with its
// capability chain (host byte order). Only the IOVA-range capability is
// interpreted; others are skipped.
func ParseIOMMUInfo(buf []byte) (IOMMUInfo, error) {
	var info IOMMUInfo
	if len(buf) < iommuInfoFixedBytes {
		return info, fmt.Errorf("%w: IOMMU info of %d bytes (min %d)", ErrMalformed, len(buf), iommuInfoFixedBytes)
	}
	ne := binary.NativeEndian
	flags := ne.Uint32(buf[4:])
	if flags&iommuInfoPgsizes != 0 {
		info.PageSizes = ne.Uint64(buf[8:])
	}
	if flags&iommuInfoCaps == 0 {
		return info, nil
	}
	off := uint64(ne.Uint32(buf[16:]))
	for step := 0; off != 0; step++ {
		if step == capsMax {
			return info, fmt.Errorf("%w: IOMMU capability chain longer than %d", ErrMalformed, capsMax)
		}
		if off < iommuInfoFixedBytes || off+8 > uint64(len(buf)) {
			return info, fmt.Errorf("%w: IOMMU capability at %d outside %d bytes", ErrMalformed, off, len(buf))
		}
		id := ne.Uint16(buf[off:])
		next := uint64(ne.Uint32(buf[off+4:]))
		if id == iommuInfoCapIOVARangeID {
			if off+16 > uint64(len(buf)) {
				return info, fmt.Errorf("%w: IOVA range capability at %d truncated", ErrMalformed, off)
			}
			n := uint64(ne.Uint32(buf[off+8:]))
			if n > iovaRangesMax || off+16+16*n > uint64(len(buf)) {
				return info, fmt.Errorf("%w: %d IOVA ranges at %d do not fit %d bytes", ErrMalformed, n, off, len(buf))
			}
			info.Ranges = info.Ranges[:0]
			for i := uint64(0); i < n; i++ {
				p := off + 16 + 16*i
				r := IOVARange{Start: ne.Uint64(buf[p:]), End: ne.Uint64(buf[p+8:])}
				if r.End < r.Start {
					return info, fmt.Errorf("%w: IOVA range %#x..%#x is inverted", ErrMalformed, r.Start, r.End)
				}
				info.Ranges = append(info.Ranges, r)
			}
		}
		off = next
	}
	return info, nil
}
