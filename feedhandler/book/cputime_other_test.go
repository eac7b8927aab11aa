//go:build !linux

package book

import "testing"

// cpuMeter is a no-op where per-thread CPU time is not available.
type cpuMeter struct{}

func startCPU(*testing.B) *cpuMeter { return &cpuMeter{} }

func (*cpuMeter) report(*testing.B) {}
