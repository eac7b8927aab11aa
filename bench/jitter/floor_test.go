package jitter

import (
	"math"
	"testing"
)

func TestFloorOf(t *testing.T) {
	for _, c := range []struct {
		name  string
		gaps  []int64
		total int64
		p     float64
		want  int64
	}{
		{"no gaps", nil, 1000, 0.01, 0},
		{"no gaps, p 0", nil, 1000, 0, 0},
		{"one gap p99", []int64{100}, 1000, 0.01, 90},         // 100 − x ≤ 10
		{"one gap 5 %", []int64{100}, 1000, 0.05, 50},         // 100 − x ≤ 50
		{"one gap, budget equal", []int64{100}, 1000, 0.1, 0}, // S(0) = 100 ≤ 100
		{"one gap, budget above", []int64{100}, 1000, 0.2, 0},
		{"one gap, p 0", []int64{100}, 1000, 0, 100},
		{"one gap, p NaN", []int64{100}, 1000, math.NaN(), 100},
		{"one gap, p 1", []int64{100}, 1000, 1, 0},
		{"one gap, p above 1", []int64{100}, 1000, 3, 0},
		{"two gaps, first segment", []int64{40, 100}, 1000, 0.01, 90},
		{"two gaps, second segment", []int64{100, 40}, 1000, 0.07, 35},  // 140 − 2x ≤ 70
		{"two gaps, just above zero", []int64{100, 40}, 1000, 0.139, 1}, // 140 − 2x ≤ 139
		{"two gaps, at the knee", []int64{100, 40}, 1000, 0.06, 40},     // S(40) = 60
		{"repeated, rounded up", []int64{7, 7, 7}, 100, 0.1, 4},         // 21 − 3x ≤ 10: x ≥ 3.67
		{"decimal p", []int64{50}, 100, 0.29, 21},                       // 29/100 exactly, not the float below it
		{"non-positive gaps ignored", []int64{-5, 0, 100}, 1000, 0.01, 90},
		{"no time", []int64{100}, 0, 0.01, 0},
		{"negative time", []int64{100}, -1, 0.01, 0},
		{"one huge gap p99", []int64{1_000_000_000}, 2_000_000_000, 0.01, 980_000_000},
		{"one huge gap p99.9", []int64{1_000_000_000}, 2_000_000_000, 0.001, 998_000_000},
		{"many short gaps, budget exactly met", manyGaps(100, 10_000), 1_000_000_000, 0.001, 0}, // 1 ms lost of 1 s
		{"many short gaps, half the budget", manyGaps(100, 10_000), 1_000_000_000, 0.0005, 5000},
		{"mixed", []int64{2000, 30_000, 2000, 500_000, 12_000}, 100_000_000, 0.001, 400_000}, // 500000 − x ≤ 100000
		{"mixed p99.99", []int64{2000, 30_000, 2000, 500_000, 12_000}, 100_000_000, 0.0001, 490_000},
		{"mixed, second segment", []int64{2000, 30_000, 2000, 500_000, 12_000}, 1_000_000, 0.5, 15_000}, // 530000 − 2x ≤ 500000
		{"mixed, third segment", []int64{2000, 30_000, 2000, 500_000, 12_000}, 1_000_000, 0.51, 10_667}, // 542000 − 3x ≤ 510000
		{"mixed, last segment", []int64{2000, 30_000, 2000, 500_000, 12_000}, 1_000_000, 0.545, 200},    // 546000 − 5x ≤ 545000
	} {
		if got := FloorOf(c.gaps, c.total, c.p); got != c.want {
			t.Errorf("%s: FloorOf(%v, %d, %v) = %d, want %d", c.name, c.gaps, c.total, c.p, got, c.want)
		}
	}
}

func manyGaps(n int, g int64) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = g
	}
	return s
}

// TestFloorIsSmallest checks the definition directly on every threshold of
// a list: S(floor) ≤ budget < S(floor − 1).
func TestFloorIsSmallest(t *testing.T) {
	gaps := []int64{1500, 1500, 2200, 9000, 9000, 9000, 47_000, 120_000, 3_000_000, 1001}
	const total = 2_000_000_000
	tl := tailOf(gaps)
	for _, p := range []float64{0, 1e-9, 1e-6, 1e-4, 0.001, 0.0015, 0.00151, 0.01, 0.5, 1} {
		x := FloorOf(gaps, total, p)
		b := budgetOf(p, total)
		if tl.excess(x) > b || (x > 0 && tl.excess(x-1) <= b) {
			t.Errorf("p %v: floor %d, S(x) %d, S(x−1) %d, budget %d", p, x, tl.excess(x), tl.excess(x-1), b)
		}
	}
}

func TestBudgetOf(t *testing.T) {
	for _, c := range []struct {
		p     float64
		total int64
		want  int64
	}{
		{0.01, 2_000_000_000, 20_000_000},
		{0.001, 2_000_000_000, 2_000_000},
		{0.29, 100, 29}, // the float is just below 0.29: the decimal counts
		{0.07, 100, 7},
		{0.5, 3, 1},
		{1e-9, 999_999_999, 0},
		{0, 100, 0},
		{-1, 100, 0},
		{math.NaN(), 100, 0},
		{1, 100, 100},
		{2, 100, 100},
		{0.5, 0, 0},
		{0.5, math.MaxInt64, math.MaxInt64 / 2},
	} {
		if got := budgetOf(c.p, c.total); got != c.want {
			t.Errorf("budgetOf(%v, %d) = %d, want %d", c.p, c.total, got, c.want)
		}
	}
}

func TestDelayProb(t *testing.T) {
	gaps := []int64{100, 40}
	for _, c := range []struct {
		x    int64
		want float64
	}{{-5, 0.14}, {0, 0.14}, {1, 0.138}, {40, 0.06}, {70, 0.03}, {99, 0.001}, {100, 0}, {1000, 0}} {
		if got := DelayProb(gaps, 1000, c.x); got != c.want {
			t.Errorf("DelayProb(x %d) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := DelayProb(gaps, 0, 0); got != 0 {
		t.Errorf("no time: %v", got)
	}
	if got := DelayProb([]int64{5000}, 1000, 0); got != 1 {
		t.Errorf("gaps longer than the time: %v, want the cap 1", got)
	}
	if got := DelayProb(nil, 1000, 0); got != 0 {
		t.Errorf("no gaps: %v", got)
	}
}

func TestCombinedFloorOf(t *testing.T) {
	one := []int64{100}
	for _, c := range []struct {
		name   string
		gaps   [][]int64
		totals []int64
		p      float64
		want   int64
	}{
		{"none", nil, nil, 0.01, 0},
		{"two idle cores", [][]int64{nil, nil}, []int64{1000, 1000}, 0.01, 0},
		// (1000 − S)² ≥ 0.99·10⁶ ⇔ S ≤ 5: x = 95 (one core alone: 90).
		{"two like cores p99", [][]int64{one, one}, []int64{1000, 1000}, 0.01, 95},
		// (1000 − S)² ≥ 0.9·10⁶ ⇔ S ≤ 51: x = 49 (one core alone: 90).
		{"two like cores p90", [][]int64{one, one}, []int64{1000, 1000}, 0.1, 49},
		// An idle second core changes nothing, exactly (no float rounding).
		{"one busy, one idle", [][]int64{one, nil}, []int64{1000, 1000}, 0.05, 50},
		{"one busy, one without time", [][]int64{one, {7}}, []int64{1000, 0}, 0.05, 50},
		// Past 100 core A is clear: 1000·(2000 − (300 − x)) ≥ 0.99·2·10⁶ ⇔ x ≥ 280.
		{"unlike cores", [][]int64{one, {300}}, []int64{1000, 2000}, 0.01, 280},
		// (900 + x)·(1700 + x) ≥ 0.8·2·10⁶ ⇔ x² + 2600x − 70000 ≥ 0 ⇔ x ≥ 26.65.
		{"unlike cores, both on their slopes", [][]int64{one, {300}}, []int64{1000, 2000}, 0.2, 27},
		{"p 0: the longest gap", [][]int64{one, {300}}, []int64{1000, 2000}, 0, 300},
		{"p 1", [][]int64{one, {300}}, []int64{1000, 2000}, 1, 0},
		{"extra totals ignored", [][]int64{one}, []int64{1000, 5}, 0.01, 90},
	} {
		if got := CombinedFloorOf(c.gaps, c.totals, c.p); got != c.want {
			t.Errorf("%s: CombinedFloorOf = %d, want %d", c.name, got, c.want)
		}
	}
	// One core: exactly FloorOf, whatever p.
	gaps := []int64{1500, 2200, 9000, 9000, 47_000, 120_000, 3_000_000}
	for _, p := range []float64{0, 1e-6, 0.001, 0.0015, 0.01, 0.29, 1} {
		if a, b := CombinedFloorOf([][]int64{gaps}, []int64{1e9}, p), FloorOf(gaps, 1e9, p); a != b {
			t.Errorf("p %v: one core combined %d, FloorOf %d", p, a, b)
		}
	}
}

// TestTailSaturates feeds gaps whose total overflows int64: the excess
// saturates instead of wrapping, and the floor errs high (the longest gap).
func TestTailSaturates(t *testing.T) {
	gaps := []int64{math.MaxInt64 / 2, math.MaxInt64 / 2, math.MaxInt64 / 2}
	tl := tailOf(gaps)
	if !tl.saturated || tl.excess(0) != math.MaxInt64 {
		t.Fatalf("saturated %v, excess %d", tl.saturated, tl.excess(0))
	}
	if got := FloorOf(gaps, math.MaxInt64, 0.5); got != math.MaxInt64/2 {
		t.Fatalf("floor %d", got)
	}
}
