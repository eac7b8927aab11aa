//go:build !linux

package cputime

import (
	"errors"
	"time"
)

// threadCPU is unavailable off Linux: Report then adds no metric.
func threadCPU() time.Duration { return 0 }

// errNoAffinity reports that thread affinity is not set off Linux.
var errNoAffinity = errors.New("cputime: thread affinity is Linux only")

func pinThread(int) error { return errNoAffinity }

func allowedCPUs() ([]int, error) { return nil, errNoAffinity }

func restoreThread([]int) {}
