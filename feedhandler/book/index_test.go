package book

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// checkIndex verifies the index against model: every entry is reachable
// from its home slot without crossing an empty slot, the count matches,
// and lookups find exactly the model's references.
func checkIndex(t *testing.T, x *orderIndex, model map[uint64]uint32) {
	t.Helper()
	used := 0
	for j := range x.slots {
		s := &x.slots[j]
		if s.side() == sideNone {
			if *s != (slot{}) {
				t.Fatalf("empty slot %d not zeroed: %+v", j, *s)
			}
			continue
		}
		used++
		if want := uint32((uint64(j) - x.home(s.ref)) & x.mask); s.dist() != want {
			t.Fatalf("ref %d in slot %d: dist %d, want %d", s.ref, j, s.dist(), want)
		}
		// Robin Hood: along a run, the distance grows by at most one.
		if next := &x.slots[(uint64(j)+1)&x.mask]; next.side() != sideNone && next.dist() > s.dist()+1 {
			t.Fatalf("slot %d dist %d followed by dist %d", j, s.dist(), next.dist())
		}
		for i := x.home(s.ref); i != uint64(j); i = (i + 1) & x.mask {
			if x.slots[i].side() == sideNone {
				t.Fatalf("ref %d in slot %d unreachable: empty slot %d after home %d", s.ref, j, i, x.home(s.ref))
			}
		}
	}
	if used != x.n || used != len(model) {
		t.Fatalf("index holds %d slots, n = %d, model %d", used, x.n, len(model))
	}
	for ref, shares := range model {
		i, _, ok := x.lookup(ref)
		if !ok || x.slots[i].shares != shares {
			t.Fatalf("lookup(%d) = %d %v, want shares %d", ref, i, ok, shares)
		}
	}
}

// insertRef inserts ref with shares as the order's payload.
func insertRef(t *testing.T, x *orderIndex, model map[uint64]uint32, ref uint64, shares uint32) {
	t.Helper()
	i, dist, ok := x.lookup(ref)
	if ok {
		t.Fatalf("ref %d already present", ref)
	}
	if err := x.insertAt(i, dist, ref, 0, shares, 0, sideBid); err != nil {
		t.Fatalf("insert %d at %d live: %v", ref, x.n, err)
	}
	model[ref] = shares
}

func deleteRef(t *testing.T, x *orderIndex, model map[uint64]uint32, ref uint64) {
	t.Helper()
	i, _, ok := x.lookup(ref)
	if !ok {
		t.Fatalf("ref %d missing", ref)
	}
	x.deleteAt(i)
	delete(model, ref)
}

func TestIndexSizing(t *testing.T) {
	for _, c := range []struct{ orders, slots int }{
		{1, 1024}, {32, 1024}, {512, 1024}, {513, 2048}, {1000, 2048}, {1024, 2048}, {1025, 4096},
	} {
		x := newOrderIndex(c.orders)
		if len(x.slots) != c.slots {
			t.Errorf("ordersMax %d: %d slots, want %d", c.orders, len(x.slots), c.slots)
		}
		for ref := uint64(0); ref < 100000; ref += 7 {
			if h := x.home(ref); h > x.mask {
				t.Fatalf("home(%d) = %d beyond mask %d", ref, h, x.mask)
			}
		}
	}
}

// TestIndexSequentialLocality checks the design point: consecutive
// references inside a block occupy consecutive slots.
func TestIndexSequentialLocality(t *testing.T) {
	x := newOrderIndex(1 << 10)
	const blockSlots = 1 << blockBits
	for ref := uint64(1 << 20); ref < 1<<20+blockSlots-1; ref++ {
		// Within a block of references, homes are consecutive modulo the
		// block's slots.
		a, b := x.home(ref), x.home(ref+1)
		if a/blockSlots != b/blockSlots || (b-a)%blockSlots != 1 {
			t.Fatalf("home(%d) = %d, home(%d) = %d", ref, a, ref+1, b)
		}
	}
}

// TestIndexWrapAround fills the probe run that starts at the last slot, so
// entries wrap to the front, then deletes from it in every position.
func TestIndexWrapAround(t *testing.T) {
	x := newOrderIndex(32) // 1024 slots
	var atEnd []uint64     // references whose home is one of the last two slots
	for ref := uint64(1); len(atEnd) < 8; ref++ {
		if x.home(ref) >= x.mask-1 {
			atEnd = append(atEnd, ref)
		}
	}
	for del := 0; del < len(atEnd); del++ {
		x.reset()
		model := map[uint64]uint32{}
		for k, ref := range atEnd {
			insertRef(t, &x, model, ref, uint32(k+1))
		}
		checkIndex(t, &x, model)
		if x.slots[0].side() == sideNone {
			t.Fatal("probe run did not wrap to slot 0")
		}
		deleteRef(t, &x, model, atEnd[del])
		checkIndex(t, &x, model)
		// Deleting the rest in reverse also keeps the run intact.
		for k := len(atEnd) - 1; k >= 0; k-- {
			if k != del {
				deleteRef(t, &x, model, atEnd[k])
				checkIndex(t, &x, model)
			}
		}
	}
}

// TestIndexFullAndPatterns fills the index to ordersMax and empties it in
// several orders, with sequential, strided and random references.
func TestIndexFullAndPatterns(t *testing.T) {
	const ordersMax = 200
	keys := map[string]func(i int) uint64{
		"sequential": func(i int) uint64 { return 5000 + uint64(i) },
		"stride16":   func(i int) uint64 { return uint64(i) << 4 },
		"stride4096": func(i int) uint64 { return uint64(i) << 12 },
		"random":     func(i int) uint64 { return rand.New(rand.NewPCG(uint64(i), 1)).Uint64() },
		"zero-based": func(i int) uint64 { return uint64(i) }, // reference 0 included
	}
	orders := map[string]func(n int, r *rand.Rand) []int{
		"fifo": func(n int, _ *rand.Rand) []int { return seq(n) },
		"lifo": func(n int, _ *rand.Rand) []int {
			s := seq(n)
			for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
				s[i], s[j] = s[j], s[i]
			}
			return s
		},
		"evens-then-odds": func(n int, _ *rand.Rand) []int {
			var s []int
			for i := 0; i < n; i += 2 {
				s = append(s, i)
			}
			for i := 1; i < n; i += 2 {
				s = append(s, i)
			}
			return s
		},
		"random": func(n int, r *rand.Rand) []int { return r.Perm(n) },
	}
	for kname, key := range keys {
		for oname, order := range orders {
			x := newOrderIndex(ordersMax)
			model := map[uint64]uint32{}
			for i := 0; i < ordersMax; i++ {
				insertRef(t, &x, model, key(i), uint32(i+1))
			}
			if i, d, _ := x.lookup(1 << 62); !errors.Is(x.insertAt(i, d, 1<<62, 0, 1, 0, sideAsk), ErrIndexFull) {
				t.Fatalf("%s/%s: insert beyond ordersMax did not fail", kname, oname)
			}
			checkIndex(t, &x, model)
			// At load <= 1/2, clustering must stay mild for every pattern.
			if d := maxDist(&x); d > 16 {
				t.Errorf("%s/%s: probe distance %d at full load", kname, oname, d)
			}
			r := rand.New(rand.NewPCG(3, 4))
			for k, i := range order(ordersMax, r) {
				deleteRef(t, &x, model, key(i))
				if k%17 == 0 {
					checkIndex(t, &x, model)
				}
			}
			checkIndex(t, &x, model)
			if x.n != 0 {
				t.Fatalf("%s/%s: %d left", kname, oname, x.n)
			}
		}
	}
}

func maxDist(x *orderIndex) uint32 {
	d := uint32(0)
	for i := range x.slots {
		if x.slots[i].side() != sideNone {
			d = max(d, x.slots[i].dist())
		}
	}
	return d
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestIndexChurn runs random inserts and deletes near capacity against a map.
func TestIndexChurn(t *testing.T) {
	const ordersMax = 500
	x := newOrderIndex(ordersMax)
	model := map[uint64]uint32{}
	var live []uint64
	r := rand.New(rand.NewPCG(5, 6))
	next := uint64(1)
	for step := 0; step < 40000; step++ {
		if len(live) < ordersMax && (len(live) == 0 || r.IntN(2) == 0) {
			ref := next
			if r.IntN(4) == 0 {
				ref = r.Uint64()
			} else {
				next += uint64(1 + r.IntN(3))
			}
			if _, dup := model[ref]; dup {
				continue
			}
			insertRef(t, &x, model, ref, uint32(step))
			live = append(live, ref)
		} else {
			k := r.IntN(len(live))
			if r.IntN(2) == 0 {
				k = len(live) - 1 - r.IntN(min(len(live), 20))
			}
			deleteRef(t, &x, model, live[k])
			live[k] = live[len(live)-1]
			live = live[:len(live)-1]
		}
		if step%1000 == 0 {
			checkIndex(t, &x, model)
			if d := maxDist(&x); d > 16 {
				t.Fatalf("step %d: probe distance %d", step, d)
			}
		}
		if _, _, ok := x.lookup(1 << 63); ok {
			t.Fatal("found a reference never inserted")
		}
	}
	checkIndex(t, &x, model)
}

// TestIndexStridedSpread checks that regular reference patterns, which
// defeat identity-like hashing, keep probe runs short.
func TestIndexStridedSpread(t *testing.T) {
	for _, stride := range []uint64{1, 2, 3, 16, 255, 256, 4096, 1 << 20, 1 << 32} {
		for _, ordersMax := range []int{200, 5000} {
			x := newOrderIndex(ordersMax)
			for i := 0; i < ordersMax; i++ {
				ref := 7 + uint64(i)*stride
				j, d, _ := x.lookup(ref)
				if err := x.insertAt(j, d, ref, 0, 1, 0, sideBid); err != nil {
					t.Fatal(err)
				}
			}
			if d := maxDist(&x); d > 16 {
				t.Errorf("stride %d, %d orders: probe distance %d", stride, ordersMax, d)
			}
		}
	}
}
