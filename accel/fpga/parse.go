package fpga

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// errParse reports a sysfs or procfs file that does not parse.
var errParse = errors.New("fpga: malformed sysfs value")

const (
	// sysfsValueBytesMax bounds one sysfs value file read.
	sysfsValueBytesMax = 4096
	// resourcesMax bounds the lines of a PCI resource file
	// (DEVICE_COUNT_RESOURCE is 17 on current kernels).
	resourcesMax = 32
	// procFileBytesMax bounds /proc/meminfo and /proc/self/status reads.
	procFileBytesMax = 64 << 10
)

// parseSysfsUint parses a sysfs number of at most bits bits: hex with a 0x
// prefix ("0x10ee", "0x0000000000010000") or decimal ("12"), surrounded by
// white space.
func parseSysfsUint(s string, bits int) (uint64, error) {
	t := strings.TrimSpace(s)
	if t == "" || len(t) > 66 {
		return 0, fmt.Errorf("%w: number %q", errParse, clip(s))
	}
	var v uint64
	var err error
	if h, ok := strings.CutPrefix(t, "0x"); ok {
		if h == "" || h[0] == '+' || h[0] == '-' {
			return 0, fmt.Errorf("%w: number %q", errParse, clip(s))
		}
		v, err = strconv.ParseUint(h, 16, bits)
	} else {
		if t[0] == '+' || t[0] == '-' {
			return 0, fmt.Errorf("%w: number %q", errParse, clip(s))
		}
		v, err = strconv.ParseUint(t, 10, bits)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: number %q", errParse, clip(s))
	}
	return v, nil
}

// clip shortens a bad value for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// parsePCIAddress canonicalises a PCI function address: "0000:3b:00.0", or
// "3b:00.0" for domain 0, case-insensitive. Domains may have up to 8 hex
// digits (VMD domains are 10000 and up).
func parsePCIAddress(s string) (string, error) {
	bad := fmt.Errorf("%w: PCI address %q, want DDDD:BB:DD.F such as 0000:3b:00.0", errParse, clip(s))
	t := strings.ToLower(strings.TrimSpace(s))
	parts := strings.Split(t, ":")
	var dom, bus, devfn string
	switch len(parts) {
	case 2:
		dom, bus, devfn = "0000", parts[0], parts[1]
	case 3:
		dom, bus, devfn = parts[0], parts[1], parts[2]
	default:
		return "", bad
	}
	dev, fn, ok := strings.Cut(devfn, ".")
	if !ok {
		return "", bad
	}
	d, err1 := parseHexField(dom, 8)
	b, err2 := parseHexField(bus, 2)
	v, err3 := parseHexField(dev, 2)
	f, err4 := parseHexField(fn, 1)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || v > 0x1f || f > 7 {
		return "", bad
	}
	return fmt.Sprintf("%04x:%02x:%02x.%x", d, b, v, f), nil
}

// parseHexField parses 1 to digits hex digits, no sign or prefix.
func parseHexField(s string, digits int) (uint64, error) {
	if s == "" || len(s) > digits {
		return 0, errParse
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return 0, errParse
		}
	}
	return strconv.ParseUint(s, 16, 64)
}

// ioresourceMem is IORESOURCE_MEM in a resource file's flags column.
const ioresourceMem = 0x200

// resource is one line of a PCI device's sysfs resource file.
type resource struct {
	start, end, flags uint64
}

// size is the resource's length; 0 for an unimplemented BAR.
func (r resource) size() uint64 {
	if r.start == 0 && r.end == 0 || r.end < r.start {
		return 0
	}
	return r.end - r.start + 1
}

// parseResource parses a sysfs resource file: one "start end flags" line of
// 0x-prefixed hex per resource (BAR0 first).
func parseResource(s string) ([]resource, error) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) == 0 || len(lines) > resourcesMax || lines[0] == "" {
		return nil, fmt.Errorf("%w: resource file of %d lines", errParse, len(lines))
	}
	out := make([]resource, 0, len(lines))
	for i, line := range lines {
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: resource line %d %q", errParse, i, clip(line))
		}
		var v [3]uint64
		for j := range f {
			if !strings.HasPrefix(f[j], "0x") {
				return nil, fmt.Errorf("%w: resource line %d %q", errParse, i, clip(line))
			}
			x, err := parseSysfsUint(f[j], 64)
			if err != nil {
				return nil, fmt.Errorf("%w: resource line %d %q", errParse, i, clip(line))
			}
			v[j] = x
		}
		r := resource{start: v[0], end: v[1], flags: v[2]}
		if r.end < r.start {
			return nil, fmt.Errorf("%w: resource line %d ends before it starts", errParse, i)
		}
		out = append(out, r)
	}
	return out, nil
}

// UIOMap is one memory map of a UIO device (sysfs maps/mapN).
type UIOMap struct {
	// Index is N: the map is mmap'd at offset N × page size.
	Index int
	// Addr is the page-aligned physical address the map starts at.
	Addr uint64
	// Size is the map's length in bytes.
	Size uint64
	// Offset is where the device memory starts inside the first page.
	Offset uint64
}

// parseUIOMap parses the addr, size and offset files of map index.
func parseUIOMap(index int, addr, size, offset string) (UIOMap, error) {
	a, err := parseSysfsUint(addr, 64)
	if err != nil {
		return UIOMap{}, err
	}
	n, err := parseSysfsUint(size, 64)
	if err != nil {
		return UIOMap{}, err
	}
	o, err := parseSysfsUint(offset, 64)
	if err != nil {
		return UIOMap{}, err
	}
	if n == 0 || o >= n || a+n < a {
		return UIOMap{}, fmt.Errorf("%w: UIO map %d at %#x: %d bytes, offset %d", errParse, index, a, n, o)
	}
	return UIOMap{Index: index, Addr: a, Size: n, Offset: o}, nil
}

// parseProcField returns the value of "Name:" in a /proc key-value file
// (meminfo, status).
func parseProcField(s, name string) (string, bool) {
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && k == name {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// parseHugepageBytes returns the default huge page size from /proc/meminfo
// ("Hugepagesize:    2048 kB"), the size MAP_HUGETLB allocates.
func parseHugepageBytes(meminfo string) (int64, error) {
	v, ok := parseProcField(meminfo, "Hugepagesize")
	if !ok {
		return 0, fmt.Errorf("%w: no Hugepagesize in meminfo", errParse)
	}
	num, ok := strings.CutSuffix(v, " kB")
	if !ok {
		return 0, fmt.Errorf("%w: Hugepagesize %q", errParse, clip(v))
	}
	kb, err := parseSysfsUint(num, 32)
	if err != nil || kb < 4 || kb&(kb-1) != 0 {
		return 0, fmt.Errorf("%w: Hugepagesize %q", errParse, clip(v))
	}
	return int64(kb) << 10, nil
}

// parseCapEff returns the effective capability set from /proc/self/status
// ("CapEff:\t000001ffffffffff").
func parseCapEff(status string) (uint64, error) {
	v, ok := parseProcField(status, "CapEff")
	if !ok || v == "" || len(v) > 16 {
		return 0, fmt.Errorf("%w: CapEff %q", errParse, clip(v))
	}
	c, err := parseHexField(strings.ToLower(v), 16)
	if err != nil {
		return 0, fmt.Errorf("%w: CapEff %q", errParse, clip(v))
	}
	return c, nil
}
