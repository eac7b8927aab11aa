package loadgen

import (
	"errors"
	"testing"

	"github.com/ballast-risk/ballast/engine/sbe"
)

func TestGeneratorDeterministic(t *testing.T) {
	m := Mix{Specs: []OrderSpec{{1001, 1, 0}, {1002, 3, 61000}, {2001, 5, 0}}, QtyMin: 1, QtyMax: 100_000}
	a, err := NewGenerator(m, 42)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewGenerator(m, 42)
	c, _ := NewGenerator(m, 43)
	var oa, ob, oc Order
	differ := false
	seenSpec := map[OrderSpec]int{}
	sides := map[sbe.Side]int{}
	small, large := 0, 0
	for range 30_000 {
		a.Next(&oa)
		b.Next(&ob)
		c.Next(&oc)
		if oa != ob {
			t.Fatalf("same seed diverged: %+v vs %+v", oa, ob)
		}
		differ = differ || oa != oc
		if oa.Qty < m.QtyMin || oa.Qty > m.QtyMax || !oa.Side.Valid() {
			t.Fatalf("order out of range: %+v", oa)
		}
		seenSpec[OrderSpec{oa.Account, oa.Instrument, oa.Price}]++
		sides[oa.Side]++
		if oa.Qty < 10 {
			small++
		}
		if oa.Qty >= 10_000 {
			large++
		}
	}
	if !differ {
		t.Fatal("seeds 42 and 43 gave the same orders")
	}
	if len(seenSpec) != len(m.Specs) {
		t.Fatalf("specs drawn: %v", seenSpec)
	}
	for s, n := range seenSpec {
		if n < 9000 || n > 11000 {
			t.Errorf("spec %+v drawn %d times of 30000", s, n)
		}
	}
	if sides[sbe.SideBuy] < 14000 || sides[sbe.SideSell] < 14000 {
		t.Errorf("sides %v", sides)
	}
	// Log-uniform over 17 doublings: each decade holds a good share.
	if small < 2000 || large < 2000 {
		t.Errorf("qty spread: %d under 10, %d at or over 10,000", small, large)
	}
}

// TestGeneratorGolden pins the first orders of a seed (determinism across
// releases and platforms).
func TestGeneratorGolden(t *testing.T) {
	g, _ := NewGenerator(Mix{Specs: []OrderSpec{{1, 10, 0}, {2, 20, 5}}, QtyMin: 1, QtyMax: 64}, 1)
	var got [4]Order
	for i := range got {
		g.Next(&got[i])
	}
	g2, _ := NewGenerator(Mix{Specs: []OrderSpec{{1, 10, 0}, {2, 20, 5}}, QtyMin: 1, QtyMax: 64}, 1)
	for i := range got {
		var o Order
		g2.Next(&o)
		if o != got[i] {
			t.Fatalf("order %d: %+v then %+v", i, got[i], o)
		}
	}
	want := [4]Order{
		{Account: 2, Instrument: 20, Side: sbe.SideSell, Qty: 63, Price: 5},
		{Account: 1, Instrument: 10, Side: sbe.SideSell, Qty: 14, Price: 0},
		{Account: 2, Instrument: 20, Side: sbe.SideSell, Qty: 10, Price: 5},
		{Account: 2, Instrument: 20, Side: sbe.SideSell, Qty: 6, Price: 5},
	}
	if got != want {
		t.Fatalf("first orders of seed 1:\n got %+v\nwant %+v", got, want)
	}
}

func TestGeneratorEdges(t *testing.T) {
	g, err := NewGenerator(Mix{Specs: []OrderSpec{{1, 1, 0}}, QtyMin: 7, QtyMax: 7}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var o Order
	for range 100 {
		g.Next(&o)
		if o.Qty != 7 {
			t.Fatalf("qty %d, want 7", o.Qty)
		}
	}
	g, _ = NewGenerator(Mix{Specs: []OrderSpec{{1, 1, 0}}, QtyMin: 1, QtyMax: QtyMax}, 9)
	for range 10_000 {
		g.Next(&o)
		if o.Qty < 1 || o.Qty > QtyMax {
			t.Fatalf("qty %d", o.Qty)
		}
	}
	for _, m := range []Mix{
		{QtyMin: 1, QtyMax: 1},
		{Specs: []OrderSpec{{1, 1, 0}}, QtyMin: 0, QtyMax: 1},
		{Specs: []OrderSpec{{1, 1, 0}}, QtyMin: 5, QtyMax: 4},
		{Specs: []OrderSpec{{1, 1, 0}}, QtyMin: 1, QtyMax: QtyMax + 1},
		{Specs: []OrderSpec{{1, 1, -1}}, QtyMin: 1, QtyMax: 1},
	} {
		if _, err := NewGenerator(m, 0); !errors.Is(err, ErrMix) {
			t.Errorf("%+v: %v", m, err)
		}
	}
}

func TestCrossMix(t *testing.T) {
	m, err := CrossMix([]uint64{1, 2}, []uint32{5, 6, 7}, 0, 1, 10)
	if err != nil || len(m.Specs) != 6 || m.Specs[4] != (OrderSpec{2, 6, 0}) {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := CrossMix(nil, []uint32{1}, 0, 1, 1); err == nil {
		t.Fatal("empty cross accepted")
	}
}

func TestGeneratorNextAllocs(t *testing.T) {
	g, _ := NewGenerator(testMix(), 1)
	var o Order
	if a := testing.AllocsPerRun(1000, func() { g.Next(&o) }); a != 0 {
		t.Fatalf("%v allocs per order", a)
	}
}

// BenchmarkGeneratorNext is one order drawn.
func BenchmarkGeneratorNext(b *testing.B) {
	g, _ := NewGenerator(Mix{Specs: make([]OrderSpec, 35), QtyMin: 1, QtyMax: 100_000}, 1)
	var o Order
	for b.Loop() {
		g.Next(&o)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}
