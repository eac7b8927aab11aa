//go:build mips || mipsle || mips64 || mips64le || ppc64 || ppc64le

package vfio

// iocNone is _IOC(_IOC_NONE, 0, 0, 0) on MIPS and PowerPC: _IOC_NONE is 1 at
// direction shift 29.
const iocNone = 1 << 29
