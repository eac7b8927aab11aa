package srcbench_test

import (
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/internal/srcbench"
	"github.com/ballast-risk/ballast/feedhandler/source"
)

// smokePackets is how many packets each source and pattern carries in
// TestSmoke: enough for several flood windows' worth of batches and two
// drain rounds, few enough to keep the test short.
var smokePackets = map[string]uint64{
	"flood":             600,
	"pingpong":          200,
	"pingpong-busypoll": 200,
	"drain":             300,
}

// TestSmoke runs every source with every pattern on a veth pair and checks
// that every packet arrives and yields its tick, in order, with a latency
// sample: no loss, no mismatch, no kernel drop. Sources the system refuses
// are skipped with the reason.
func TestSmoke(t *testing.T) {
	for _, k := range srcbench.Kinds() {
		t.Run(k.String(), func(t *testing.T) {
			for _, m := range modes(k) {
				t.Run(m.name, func(t *testing.T) {
					r := newRig(t, k, m.busy)
					n := smokePackets[m.name]
					out, err := m.run(r, n, noTimer{})
					if err != nil {
						t.Fatal(err)
					}
					res := out.p.Result()
					if !res.Clean() || res.Ticks < n || res.Packets != res.Ticks {
						t.Fatalf("result %+v after %d packets", res, n)
					}
					if got := out.p.Latency().Count(); uint64(got) != res.Ticks {
						t.Fatalf("%d latency samples for %d ticks", got, res.Ticks)
					}
					if d := r.src.Stats().Dropped; d != 0 {
						t.Fatalf("source dropped %d packets", d)
					}
					if a, ok := r.src.(*source.AFXDP); ok {
						xdp, bind := a.Modes()
						t.Logf("XDP %v, bind %v", xdp, bind)
					}
					t.Logf("%d ticks in %v; latency p50 %d ns, max %d ns", res.Ticks, out.elapsed,
						out.p.Latency().Percentile(50), out.p.Latency().Max())
				})
			}
		})
	}
}
