package verdict

import (
	"testing"

	"github.com/ballast-risk/ballast/engine/sbe"
)

// TestCheckServiceTimeCounted: every authorised OrderCheck's service time
// lands in exactly one bucket of Stats.CheckCounts; refused ones do not.
func TestCheckServiceTimeCounted(t *testing.T) {
	srv, addr := startServer(t, Config{NoticeInterval: -1}, newFake())
	c := dial(t, addr, "adm")
	ctx := ctx5(t)
	const n = 37
	for i := 0; i < n; i++ {
		if _, err := c.Check(ctx, sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1, Price: 1}); err != nil {
			t.Fatal(err)
		}
	}
	firm := dial(t, addr, "tokB")
	if v, err := firm.Check(ctx, sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1, Price: 1}); err != nil || v.Reason != sbe.ReasonNotAuthorised {
		t.Fatalf("foreign check: %+v %v", v, err)
	}
	st := srv.Stats()
	total := uint64(0)
	for _, k := range st.CheckCounts {
		total += k
	}
	if total != n || st.CheckSumNs <= 0 {
		t.Fatalf("check histogram holds %d (sum %d ns), want %d", total, st.CheckSumNs, n)
	}
}

// BenchmarkCheckHistRecord is the cost the histogram adds per check.
func BenchmarkCheckHistRecord(b *testing.B) {
	var h checkHist
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.record(int64(i & 0xFFFF))
	}
}
