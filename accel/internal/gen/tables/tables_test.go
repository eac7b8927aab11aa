package tables

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

var (
	tablesOnce sync.Once
	tablesVal  []*Table
	tablesErr  error
)

// cached builds the tables once for the tests that only read them.
func cached(t *testing.T) []*Table {
	tablesOnce.Do(func() { tablesVal, tablesErr = Tables() })
	if tablesErr != nil {
		t.Fatal(tablesErr)
	}
	return tablesVal
}

func TestFilesDeterministic(t *testing.T) {
	a, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatal("file count differs between runs")
	}
	for i := range a {
		if a[i].Path != b[i].Path || !bytes.Equal(a[i].Data, b[i].Data) {
			t.Fatalf("%s differs between runs", a[i].Path)
		}
	}
	for _, f := range a {
		if !strings.Contains(string(f.Data[:200]), "DO NOT EDIT") {
			t.Errorf("%s lacks the generated-code header", f.Path)
		}
	}
}

func TestTablesQuality(t *testing.T) {
	tabs := cached(t)
	for _, tab := range tabs {
		t.Logf("%-8s %4d entries, widths %v, offset %d bits, max error %.3f ulp", tab.Name, len(tab.C), tab.Width, tab.TFrac, tab.MaxErrULP)
		if len(tab.C) > 4096 {
			t.Errorf("%s: %d entries exceed 4096", tab.Name, len(tab.C))
		}
		for _, w := range tab.Width {
			if w > 64 {
				t.Errorf("%s: %d-bit coefficient", tab.Name, w)
			}
		}
	}
}

// The memh images hold every entry as masked two's complement.
func TestMemhRoundTrip(t *testing.T) {
	tabs := cached(t)
	tab := tabs[0]
	for j := 0; j < 3; j++ {
		var vals []string
		for _, l := range strings.Split(string(memh(tab, j)), "\n") {
			if l != "" && !strings.HasPrefix(l, "//") {
				vals = append(vals, l)
			}
		}
		if len(vals) != len(tab.C) {
			t.Fatalf("c%d: %d lines for %d entries", j, len(vals), len(tab.C))
		}
	}
}

func TestRshrAndEval(t *testing.T) {
	if rshr(5, 1) != 3 || rshr(-5, 1) != -2 || rshr(-6, 2) != -1 {
		t.Error("rshr does not round half up")
	}
	c := [3]int64{100 << 4, 0, 0}
	if Eval(c, 12345, 20, 4) != 100 {
		t.Error("a constant segment must evaluate to c0")
	}
}
