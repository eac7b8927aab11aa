//go:build !(mips || mipsle || mips64 || mips64le || ppc64 || ppc64le)

package vfio

// iocNone is _IOC(_IOC_NONE, 0, 0, 0) in the asm-generic encoding used by
// x86, arm, arm64, riscv, loongarch and s390: _IOC_NONE is 0.
const iocNone = 0
