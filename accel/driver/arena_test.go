package driver

import (
	"math/rand/v2"
	"testing"
)

// TestArenaRandom allocates and frees at random (frees out of order too) and
// checks that live regions never overlap, stay inside the arena and aligned,
// and that everything is reclaimed at the end.
func TestArenaRandom(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		rng := rand.New(rand.NewPCG(seed, 99))
		a := newArena(64<<10, 16)
		type live struct{ pos, n, rec int }
		var lives []live
		for step := 0; step < 20000; step++ {
			if len(lives) > 0 && rng.IntN(2) == 0 {
				// Free mostly the oldest, sometimes another one.
				k := 0
				if rng.IntN(4) == 0 {
					k = rng.IntN(len(lives))
				}
				a.free(lives[k].rec)
				lives = append(lives[:k], lives[k+1:]...)
				continue
			}
			n := alignUp(1 + rng.IntN(20<<10))
			pos, rec, ok := a.alloc(n)
			if !ok {
				if len(lives) == 0 {
					t.Fatalf("seed %d: empty arena refused %d bytes", seed, n)
				}
				continue
			}
			if pos%arenaAlignBytes != 0 || pos < 0 || pos+n > a.size {
				t.Fatalf("seed %d: region [%d, +%d) misaligned or outside %d", seed, pos, n, a.size)
			}
			for _, l := range lives {
				if pos < l.pos+l.n && l.pos < pos+n {
					t.Fatalf("seed %d: [%d, +%d) overlaps [%d, +%d)", seed, pos, n, l.pos, l.n)
				}
			}
			lives = append(lives, live{pos, n, rec})
		}
		for _, l := range lives {
			a.free(l.rec)
		}
		if a.used != 0 || a.rHead != a.rTail {
			t.Fatalf("seed %d: %d bytes and %d records left", seed, a.used, a.rTail-a.rHead)
		}
		if _, _, ok := a.alloc(a.size); !ok {
			t.Fatalf("seed %d: whole arena not allocatable when empty", seed)
		}
	}
}

func TestArenaBounds(t *testing.T) {
	a := newArena(4096, 2)
	if _, _, ok := a.alloc(8192); ok {
		t.Error("allocation larger than the arena succeeded")
	}
	if _, _, ok := a.alloc(0); ok {
		t.Error("empty allocation succeeded")
	}
	_, r1, ok1 := a.alloc(64)
	_, _, ok2 := a.alloc(64)
	if _, _, ok := a.alloc(64); !ok1 || !ok2 || ok {
		t.Error("record ring did not bound the allocations")
	}
	a.free(r1)
	defer func() {
		if recover() == nil {
			t.Error("double free did not panic")
		}
	}()
	a.free(r1)
}
