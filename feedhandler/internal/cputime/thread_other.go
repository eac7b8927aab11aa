//go:build !linux

package cputime

import "time"

// threadCPU is unavailable off Linux: Report then adds no metric.
func threadCPU() time.Duration { return 0 }
