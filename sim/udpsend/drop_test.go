package udpsend

import (
	"errors"
	"testing"
)

func TestDropperList(t *testing.T) {
	d, err := NewDropper(0, []uint64{9, 2, 2, 5}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for i := uint64(0); i < 20; i++ {
		if d.Next() {
			got = append(got, i)
		}
	}
	if len(got) != 3 || got[0] != 2 || got[1] != 5 || got[2] != 9 || d.Dropped() != 3 {
		t.Fatalf("dropped %v (count %d), want [2 5 9]", got, d.Dropped())
	}
}

func TestDropperRate(t *testing.T) {
	run := func(seed uint64) []bool {
		d, err := NewDropper(0.1, nil, seed)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]bool, 20_000)
		for i := range out {
			out[i] = d.Next()
		}
		if n := d.Dropped(); n < 1700 || n > 2300 {
			t.Fatalf("dropped %d of 20000 at rate 0.1", n)
		}
		return out
	}
	a, b, c := run(4), run(4), run(5)
	same, differ := true, false
	for i := range a {
		same = same && a[i] == b[i]
		differ = differ || a[i] != c[i]
	}
	if !same || !differ {
		t.Fatalf("seeded drops: same seed equal %v, other seed differs %v", same, differ)
	}
	for _, r := range []float64{-0.1, 1.1} {
		if _, err := NewDropper(r, nil, 0); !errors.Is(err, ErrConfig) {
			t.Errorf("rate %v: %v", r, err)
		}
	}
	all, _ := NewDropper(1, nil, 0)
	none, _ := NewDropper(0, nil, 0)
	for i := 0; i < 100; i++ {
		if !all.Next() || none.Next() {
			t.Fatal("rate 1 must drop everything and rate 0 nothing")
		}
	}
}
