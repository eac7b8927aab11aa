package journal

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/latency"
)

// benchRecordBytes is about the size of an encoded fill.
const benchRecordBytes = 128

// BenchmarkAppend measures durable appends (write + fsync, group commit) on
// the disk under the test's temporary directory, with 1, 8 and 64 concurrent
// appenders, with GroupDelayMax 0 and 100µs. Metrics: appends/s, p50/p99/max Append latency in ns, and
// records per fsync.
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		writers int
		delay   time.Duration
	}{{1, 0}, {8, 0}, {64, 0}, {8, 100 * time.Microsecond}, {64, 100 * time.Microsecond}} {
		writers := c.writers
		b.Run(fmt.Sprintf("writers=%d/delay=%v", writers, c.delay), func(b *testing.B) {
			opts := testOpts(nil)
			opts.GroupDelayMax = c.delay
			j, _, err := Open(b.TempDir(), opts)
			if err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			recs := make([]*latency.Recorder, writers)
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for w := range writers {
				recs[w] = latency.NewRecorder()
				wg.Add(1)
				go func() {
					defer wg.Done()
					rec := make([]byte, benchRecordBytes)
					ctx := context.Background()
					for next.Add(1) <= int64(b.N) {
						t0 := time.Now()
						if _, err := j.Append(ctx, rec); err != nil {
							b.Error(err)
							return
						}
						recs[w].Record(int64(time.Since(t0)))
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err := j.Close(); err != nil {
				b.Fatal(err)
			}
			all := latency.NewRecorder()
			for _, r := range recs {
				all.Merge(r)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
			b.ReportMetric(float64(all.Percentile(50)), "p50_ns")
			b.ReportMetric(float64(all.Percentile(99)), "p99_ns")
			b.ReportMetric(float64(all.Max()), "max_ns")
			if j.commits > 0 {
				b.ReportMetric(float64(b.N)/float64(j.commits), "recs/fsync")
			}
		})
	}
}

// BenchmarkEncodeRecord measures framing one record (header + CRC-32C).
func BenchmarkEncodeRecord(b *testing.B) {
	rec := make([]byte, benchRecordBytes)
	buf := make([]byte, 0, recHeaderBytes+benchRecordBytes)
	b.SetBytes(benchRecordBytes)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = appendRecord(buf[:0], uint64(i), rec)
	}
}
