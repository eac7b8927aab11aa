package vfio

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Access reports whether this process may open path for reading and
// writing (nil), or why not (wrapping the errno: ENOENT, EACCES).
func Access(path string) error {
	if err := unix.Access(path, unix.R_OK|unix.W_OK); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// MemlockBytes is the soft RLIMIT_MEMLOCK: how much memory VFIO may pin for
// a process without CAP_IPC_LOCK. ^uint64(0) means unlimited.
func MemlockBytes() (uint64, error) {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &r); err != nil {
		return 0, fmt.Errorf("vfio: getrlimit(RLIMIT_MEMLOCK): %w", err)
	}
	return r.Cur, nil
}
