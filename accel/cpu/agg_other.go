//go:build !amd64

package cpu

// hasAVX512 is false: the assembly kernel is amd64 only.
const hasAVX512 = false

func aggregateAVX512(acc *[BlockScenarios]int64, loss []int64, inst []uint32, qty []int64) {
	panic("cpu: the AVX-512 kernel is amd64 only")
}
