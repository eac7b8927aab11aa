//go:build !amd64

package cpu

// The assembly kernels are amd64 only.
const (
	hasAVX512 = false
	hasAVX2   = false
)

func aggregateAVX512(acc *[BlockScenarios]int64, loss []int64, inst []uint32, qty []int64) {
	panic("cpu: the AVX-512 kernel is amd64 only")
}

func aggregateAVX2(acc *[BlockScenarios]int64, loss []int64, inst []uint32, qty []int64) {
	panic("cpu: the AVX2 kernel is amd64 only")
}

func storeAVX512(dst []float64, loss []int64, inst []uint32, qty []int64) {
	panic("cpu: the AVX-512 kernel is amd64 only")
}

func fenceStores() {}
