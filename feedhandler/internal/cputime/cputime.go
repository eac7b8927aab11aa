// Package cputime measures a benchmark's thread CPU time, which unlike wall
// time excludes the time other processes held the CPU: on a shared, loaded
// machine it still gives stable per-message figures.
package cputime

import (
	"runtime"
	"testing"
	"time"
)

// Meter measures the CPU time of the benchmark goroutine's OS thread.
type Meter struct{ start time.Duration }

// Start locks the benchmark goroutine to its thread and starts a meter;
// call it right after b.ResetTimer.
func Start(b *testing.B) *Meter {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	return &Meter{start: threadCPU()}
}

// Report adds cpu-ns/msg and cpu-msgs/s metrics for b.N messages. It adds
// nothing where the system cannot measure thread CPU time.
func (m *Meter) Report(b *testing.B) {
	d := threadCPU() - m.start
	if d <= 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/msg")
	b.ReportMetric(float64(b.N)/d.Seconds(), "cpu-msgs/s")
}
