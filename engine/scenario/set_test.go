package scenario

import (
	"errors"
	"strings"
	"testing"
)

func TestNewSetBounds(t *testing.T) {
	s, err := NewSet(3, 2, true, KindHistorical)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, v := range s.VolMul {
		if v != 1 {
			t.Fatalf("VolMul initialised to %v", s.VolMul)
		}
	}
	for _, k := range s.Kinds {
		if k != KindHistorical {
			t.Fatalf("Kinds %v", s.Kinds)
		}
	}
	s.X[2*2+1] = 7
	if r := s.Row(2); len(r) != 2 || cap(r) != 2 || r[1] != 7 {
		t.Errorf("Row(2) = %v (cap %d)", r, cap(r))
	}
	if s.VolRow(1)[0] != 1 {
		t.Error("VolRow")
	}
	for _, c := range [][2]int{{0, 1}, {1, 0}, {ScenariosMax + 1, 1}, {1, UnderlyingsMax + 1}, {ScenariosMax, UnderlyingsMax}} {
		if _, err := NewSet(c[0], c[1], false, KindMonteCarlo); !errors.Is(err, ErrInvalidSet) {
			t.Errorf("NewSet(%d, %d): err = %v", c[0], c[1], err)
		}
	}
	noVol, _ := NewSet(2, 2, false, KindMonteCarlo)
	if noVol.VolRow(0) != nil {
		t.Error("VolRow of a set without vol multipliers")
	}
	bad := *noVol
	bad.X = bad.X[:3]
	if bad.Validate() == nil {
		t.Error("short X accepted")
	}
	bad = *noVol
	bad.Kinds = nil
	if bad.Validate() == nil {
		t.Error("missing Kinds accepted")
	}
}

func TestCombine(t *testing.T) {
	mc, err := NewMonteCarlo(Config{Seed: 5, Scenarios: 4, HorizonYears: testHorizon, Vols: []float64{0.2, 0.3}, VolOfVol: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := mc.NewSet()
	mc.Fill(a, 2)
	h, err := ParseHistorical(strings.NewReader("date,B,A\nd1,0.01,0.02\nd2,-0.03,0.04\n"), []string{"A", "B"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Combine(a, h)
	if err != nil {
		t.Fatal(err)
	}
	if c.Scenarios != 6 || c.Underlyings != 2 || c.Validate() != nil {
		t.Fatalf("combined shape %d×%d: %v", c.Scenarios, c.Underlyings, c.Validate())
	}
	for i := 0; i < 4; i++ {
		if !sameBits(c.Row(i), a.Row(i)) || !sameBits(c.VolRow(i), a.VolRow(i)) || c.Kinds[i] != KindMonteCarlo {
			t.Errorf("row %d not from the Monte Carlo set", i)
		}
	}
	if r := c.Row(5); r[0] != 0.04 || r[1] != -0.03 || c.Kinds[5] != KindHistorical {
		t.Errorf("row 5 = %v %v", r, c.Kinds[5])
	}
	if v := c.VolRow(4); v[0] != 1 || v[1] != 1 {
		t.Errorf("historical rows must get volMul 1, got %v", v)
	}
	// Inputs unchanged (copy, not alias).
	c.X[0] = 99
	if a.X[0] == 99 {
		t.Error("Combine aliases its input")
	}
	// Errors.
	other, _ := NewSet(2, 3, false, KindMonteCarlo)
	if _, err := Combine(a, other); !errors.Is(err, ErrInvalidSet) {
		t.Errorf("mismatched underlyings: %v", err)
	}
	if _, err := Combine(); !errors.Is(err, ErrInvalidSet) {
		t.Errorf("empty: %v", err)
	}
	if _, err := Combine(a, nil); !errors.Is(err, ErrInvalidSet) {
		t.Errorf("nil set: %v", err)
	}
	big := &Set{Scenarios: ScenariosMax, Underlyings: 1, X: make([]float64, ScenariosMax), Kinds: make([]Kind, ScenariosMax)}
	small, _ := NewSet(1, 1, false, KindHistorical)
	if _, err := Combine(big, small); !errors.Is(err, ErrInvalidSet) {
		t.Errorf("over ScenariosMax: %v", err)
	}
}

func TestKindString(t *testing.T) {
	if KindMonteCarlo.String() != "monte_carlo" || KindHistorical.String() != "historical" || Kind(9).String() != "Kind(9)" {
		t.Error("Kind.String")
	}
	if Reject.String() != "reject" || Repair.String() != "repair" {
		t.Error("RepairPolicy.String")
	}
}
