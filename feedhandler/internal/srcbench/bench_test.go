package srcbench_test

import (
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/internal/srcbench"
)

// BenchmarkSourceCompare measures every source on the same veth traffic
// through the whole pipeline (source, MoldUDP64 sequencing, ITCH decoding,
// book update, tick ring, consumer). One op is one packet, which yields one
// tick. Sub-benchmarks are <source>/<pattern>:
//
//   - flood: at most 512 packets in flight in sendmmsg bursts of 32.
//     Reports pkts/s (ticks consumed per second of wall time, the sender
//     sharing the machine) and latency percentiles, which include queueing
//     within the window.
//   - pingpong, pingpong-busypoll (AF_XDP only): one packet at a time, 20 µs
//     after the previous tick was consumed. Reports latency percentiles;
//     ns/op includes the gap.
//   - drain: rounds of up to 256 queued packets drained by the reader; the
//     timer runs during the drains only, so ns/op (and rx-ns/pkt) is the
//     receive path's own cost per packet and rx-pkts/s its ceiling.
//
// Latency is source.Now at the ring pop minus the sender's stamp taken just
// before its send call: sender kernel, veth, source, handler and ring.
// Every pattern also reports the source's kernel drops and the messages the
// sequencer lost (both 0 in a clean run) and the ticks that broke the
// feed's pattern.
func BenchmarkSourceCompare(b *testing.B) {
	for _, k := range srcbench.Kinds() {
		for _, m := range modes(k) {
			b.Run(k.String()+"/"+m.name, func(b *testing.B) {
				r := newRig(b, k, m.busy)
				out, err := m.run(r, uint64(b.N), b)
				if err != nil {
					b.Fatal(err)
				}
				res := out.p.Result()
				if m.name == "drain" {
					b.ReportMetric(float64(out.elapsed.Nanoseconds())/float64(res.Ticks), "rx-ns/pkt")
					b.ReportMetric(float64(res.Ticks)/out.elapsed.Seconds(), "rx-pkts/s")
				} else {
					if m.name == "flood" {
						b.ReportMetric(float64(res.Ticks)/out.elapsed.Seconds(), "pkts/s")
					}
					lat := out.p.Latency()
					b.ReportMetric(float64(lat.Percentile(50)), "p50-ns")
					b.ReportMetric(float64(lat.Percentile(99)), "p99-ns")
					b.ReportMetric(float64(lat.Percentile(99.9)), "p99.9-ns")
					b.ReportMetric(float64(lat.Max()), "max-ns")
				}
				b.ReportMetric(float64(r.src.Stats().Dropped), "drops")
				b.ReportMetric(float64(res.LostMessages), "lost")
				b.ReportMetric(float64(res.Mismatched), "mismatched")
			})
		}
	}
}
