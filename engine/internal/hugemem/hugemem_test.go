package hugemem

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

func anonHugeKB(t *testing.T) int {
	data, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		t.Skipf("no /proc/self/smaps_rollup: %v", err)
	}
	m := regexp.MustCompile(`AnonHugePages:\s+(\d+) kB`).FindSubmatch(data)
	if m == nil {
		t.Skip("smaps_rollup has no AnonHugePages line")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func TestFloat64s(t *testing.T) {
	small := Float64s(10)
	if len(small) != 10 {
		t.Fatal("length")
	}
	before := anonHugeKB(t)
	const n = 64 << 20 / 8 // 64 MiB
	s := Float64s(n)
	for i := range s {
		if s[i] != 0 {
			t.Fatal("not zeroed")
		}
		s[i] = float64(i)
	}
	after := anonHugeKB(t)
	mode, _ := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	t.Logf("THP mode %q: AnonHugePages %d kB → %d kB", mode, before, after)
	if regexp.MustCompile(`\[(always|madvise)\]`).Match(mode) && after-before < 32<<10 {
		// The kernel offers THP on request but gave (almost) none: memory
		// may be fragmented; report rather than fail, it is an advice.
		t.Logf("the kernel backed only %d kB of 64 MiB with huge pages", after-before)
	}
	if s[n-1] != float64(n-1) {
		t.Fatal("write lost")
	}
}
