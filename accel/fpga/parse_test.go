package fpga

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSysfsUint(t *testing.T) {
	good := map[string]uint64{"0x10ee\n": 0x10ee, "12\n": 12, " 0x0000000000010000 ": 0x10000, "0": 0, "0xFFFF": 0xffff}
	for s, want := range good {
		if v, err := parseSysfsUint(s, 64); err != nil || v != want {
			t.Errorf("%q: %d, %v", s, v, err)
		}
	}
	for _, s := range []string{"", "\n", "0x", "-1", "+1", "0x-1", "0x+1", "ten", "0x10000", "1 2", strings.Repeat("1", 70)} {
		if _, err := parseSysfsUint(s, 16); !errors.Is(err, errParse) {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestParsePCIAddress(t *testing.T) {
	good := map[string]string{
		"0000:3b:00.0": "0000:3b:00.0", "3B:00.1": "0000:3b:00.1", " 0001:AF:1f.7\n": "0001:af:1f.7",
		"10000:01:00.0": "10000:01:00.0", "0:0:0.0": "0000:00:00.0",
	}
	for s, want := range good {
		if a, err := parsePCIAddress(s); err != nil || a != want {
			t.Errorf("%q: %q, %v", s, a, err)
		}
	}
	for _, s := range []string{"", "3b:00", "0000:3b:20.0", "0000:3b:00.8", "0000:3b:00.", "000000000:3b:00.0", "0000:3bb:00.0", "0000:3b:00.0:1", "x000:3b:00.0", "0000:-1:00.0", "0000:3b:+1.0"} {
		if _, err := parsePCIAddress(s); !errors.Is(err, errParse) {
			t.Errorf("%q accepted", s)
		}
	}
}

const resourceFile = `0x00000000fb000000 0x00000000fb00ffff 0x0000000000040200
0x0000000000000000 0x0000000000000000 0x0000000000000000
0x0000000000e000 0x000000000000e0ff 0x0000000000040101
`

func TestParseResource(t *testing.T) {
	rs, err := parseResource(resourceFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || rs[0].start != 0xfb000000 || rs[0].size() != 0x10000 || rs[0].flags&ioresourceMem == 0 ||
		rs[1].size() != 0 || rs[2].size() != 0x100 || rs[2].flags&ioresourceMem != 0 {
		t.Fatalf("%+v", rs)
	}
	for _, s := range []string{"", "\n", "0x1 0x2", "0x1 0x2 0x3 0x4", "1 2 3", "0x2 0x1 0x0", strings.Repeat("0x0 0x0 0x0\n", resourcesMax+1)} {
		if _, err := parseResource(s); !errors.Is(err, errParse) {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestParseUIOMap(t *testing.T) {
	m, err := parseUIOMap(2, "0x00000000fb000000\n", "0x0000000000010000\n", "0x0\n")
	if err != nil || m != (UIOMap{Index: 2, Addr: 0xfb000000, Size: 0x10000}) {
		t.Fatalf("%+v, %v", m, err)
	}
	for _, c := range [][3]string{{"x", "0x1000", "0"}, {"0x1000", "0x0", "0x0"}, {"0x1000", "0x1000", "0x1000"}, {"0xfffffffffffff000", "0x2000", "0"}} {
		if _, err := parseUIOMap(0, c[0], c[1], c[2]); !errors.Is(err, errParse) {
			t.Errorf("%q accepted", c)
		}
	}
}

func TestParseProcFiles(t *testing.T) {
	if b, err := parseHugepageBytes("MemTotal: 1 kB\nHugepagesize:       2048 kB\n"); err != nil || b != 2<<20 {
		t.Fatalf("%d, %v", b, err)
	}
	for _, s := range []string{"", "Hugepagesize: 2048", "Hugepagesize: 3000 kB", "Hugepagesize: 0 kB", "Hugepagesize: x kB"} {
		if _, err := parseHugepageBytes(s); !errors.Is(err, errParse) {
			t.Errorf("%q accepted", s)
		}
	}
	if c, err := parseCapEff("CapInh:\t0000000000000000\nCapEff:\t000001FFfeffffff\n"); err != nil || c != 0x1fffeffffff {
		t.Fatalf("%#x, %v", c, err)
	}
	for _, s := range []string{"", "CapEff:", "CapEff:\t00000000000000000", "CapEff:\tzz"} {
		if _, err := parseCapEff(s); !errors.Is(err, errParse) {
			t.Errorf("%q accepted", s)
		}
	}
}

func FuzzParseSysfsUint(f *testing.F) {
	for _, s := range []string{"0x10ee\n", "12\n", "0x0000000000010000", "-1", "0x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseSysfsUint(s, 16)
		if err != nil {
			if !errors.Is(err, errParse) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if v > 0xffff {
			t.Fatalf("%q: %d beyond 16 bits", s, v)
		}
	})
}

func FuzzParsePCIAddress(f *testing.F) {
	for _, s := range []string{"0000:3b:00.0", "3b:00.1", "10000:01:1f.7", "0000:3b:20.0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parsePCIAddress(s)
		if err != nil {
			if !errors.Is(err, errParse) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		again, err := parsePCIAddress(a)
		if err != nil || again != a {
			t.Fatalf("%q canonicalises to %q, which reparses to %q, %v", s, a, again, err)
		}
	})
}

func FuzzParseResource(f *testing.F) {
	f.Add(resourceFile)
	f.Add("0x0 0x0 0x0\n")
	f.Add("0x2 0x1 0x0")
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := parseResource(s)
		if err != nil {
			if !errors.Is(err, errParse) {
				t.Fatalf("%v", err)
			}
			return
		}
		if len(rs) == 0 || len(rs) > resourcesMax {
			t.Fatalf("%d resources", len(rs))
		}
		for _, r := range rs {
			if r.end < r.start || r.size() > 0 && r.start+r.size()-1 != r.end {
				t.Fatalf("resource %+v size %d", r, r.size())
			}
		}
	})
}

func FuzzParseUIOMap(f *testing.F) {
	f.Add("0x00000000fb000000\n", "0x0000000000010000\n", "0x0\n")
	f.Add("0x1000", "0x1000", "0x1000")
	f.Fuzz(func(t *testing.T, addr, size, offset string) {
		m, err := parseUIOMap(1, addr, size, offset)
		if err != nil {
			if !errors.Is(err, errParse) {
				t.Fatalf("%v", err)
			}
			return
		}
		if m.Size == 0 || m.Offset >= m.Size || m.Addr+m.Size < m.Addr || m.Index != 1 {
			t.Fatalf("%+v", m)
		}
	})
}

func FuzzParseProcFiles(f *testing.F) {
	f.Add("MemTotal:       16318480 kB\nHugepagesize:       2048 kB\n")
	f.Add("Name:\tx\nCapEff:\t000001ffffffffff\n")
	f.Add("Hugepagesize: 1048576 kB\nCapEff: 0\n")
	f.Fuzz(func(t *testing.T, s string) {
		if b, err := parseHugepageBytes(s); err == nil {
			if b < 4096 || b&(b-1) != 0 {
				t.Fatalf("huge page size %d", b)
			}
		} else if !errors.Is(err, errParse) {
			t.Fatal(err)
		}
		if _, err := parseCapEff(s); err != nil && !errors.Is(err, errParse) {
			t.Fatal(err)
		}
	})
}
