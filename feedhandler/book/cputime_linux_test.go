package book

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// rusageThread is Linux's RUSAGE_THREAD.
const rusageThread = 1

// threadCPU returns the CPU time consumed by the calling OS thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter measures the benchmark goroutine's thread CPU time, which unlike
// wall-clock time excludes time other processes held the CPU: shared,
// loaded machines still give stable figures.
type cpuMeter struct{ start time.Duration }

// startCPU locks the benchmark goroutine to its thread and starts a meter;
// call it right after b.ResetTimer.
func startCPU(b *testing.B) *cpuMeter {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	return &cpuMeter{start: threadCPU()}
}

// report adds cpu-ns/msg and cpu-msgs/s metrics for b.N messages.
func (c *cpuMeter) report(b *testing.B) {
	d := threadCPU() - c.start
	if d <= 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/msg")
	b.ReportMetric(float64(b.N)/d.Seconds(), "cpu-msgs/s")
}
