package dashboard

import (
	"testing"
	"time"
)

func TestRateMeter(t *testing.T) {
	m := NewRateMeter(time.Second)
	t0 := time.Unix(1000, 0)
	check := func(at time.Duration, p, msg uint64, wantP, wantM float64, wantKnown bool) {
		t.Helper()
		gp, gm, known := m.Observe(t0.Add(at), p, msg)
		if gp != wantP || gm != wantM || known != wantKnown {
			t.Errorf("at %v: %v %v %v, want %v %v %v", at, gp, gm, known, wantP, wantM, wantKnown)
		}
	}
	check(0, 100, 1000, 0, 0, false)
	check(500*time.Millisecond, 150, 1500, 0, 0, false) // window not complete
	check(2*time.Second, 300, 5000, 100, 2000, true)
	check(2500*time.Millisecond, 400, 9000, 100, 2000, true) // last completed window
	check(4*time.Second, 500, 9000, 100, 2000, true)         // 200 pkts / 2 s, 4000 msgs / 2 s
	check(5*time.Second, 10, 10, 0, 0, false)                // counter reset
	check(6*time.Second, 20, 30, 10, 20, true)
	check(time.Second, 30, 40, 0, 0, false) // clock went back
	if w := NewRateMeter(0).window; w != RateWindowMin {
		t.Errorf("window %v, want %v", w, RateWindowMin)
	}
	if w := NewRateMeter(time.Hour).window; w != RateWindowMax {
		t.Errorf("window %v, want %v", w, RateWindowMax)
	}
}
