package job

import (
	"sync"
	"testing"
)

// The fuzz targets feed arbitrary src buffers (and dst sizes) to the
// executors: they must answer OK or BAD_DESC, never panic, write nothing on
// BAD_DESC and nothing beyond the bytes they report on OK.

const fuzzDstMax = 1 << 22

var fuzzFixture struct {
	once sync.Once
	p    *Plan
	b    *Buffers
}

func fixture(t testing.TB) (*Plan, *Buffers) {
	fuzzFixture.once.Do(func() { fuzzFixture.p, fuzzFixture.b = encoded(t, "everything") })
	if fuzzFixture.p == nil {
		t.Fatal("no fixture")
	}
	return fuzzFixture.p, fuzzFixture.b
}

// runExec runs one executor on a sentinel-filled dst of dstLen bytes and
// checks the write discipline.
func runExec(t *testing.T, dstLen uint32, run func(dst []byte) (int, uint16)) {
	dst := make([]byte, min(int(dstLen), fuzzDstMax))
	for k := range dst {
		dst[k] = 0xC3
	}
	n, st := run(dst)
	switch st {
	case StatusOK:
		if n < 0 || n > len(dst) {
			t.Fatalf("OK with %d bytes out of a %d-byte dst", n, len(dst))
		}
		if !all(dst[n:], 0xC3) {
			t.Fatalf("wrote beyond the %d bytes it reported", n)
		}
	case StatusBadDesc:
		if n != 0 || !all(dst, 0xC3) {
			t.Fatalf("BAD_DESC with %d bytes out or writes", n)
		}
	default:
		t.Fatalf("status %d", st)
	}
}

func FuzzExecScenGen(f *testing.F) {
	p, b := fixture(f)
	f.Add(b.ScenGenSrc, uint32(p.Sizes().Scenarios))
	f.Add(b.ScenGenSrc[:40], uint32(64))
	f.Add([]byte("SCN1"), uint32(0))
	f.Fuzz(func(t *testing.T, src []byte, dstLen uint32) {
		runExec(t, dstLen, func(dst []byte) (int, uint16) { return ExecScenGen(src, dst) })
	})
}

func FuzzExecReval(f *testing.F) {
	p, b := fixture(f)
	f.Add(b.RevalSrc, uint32(p.Sizes().Loss))
	f.Add(b.RevalSrc[:RevalHeaderBytes+160], uint32(1024))
	f.Add([]byte("RVL1"), uint32(8))
	f.Fuzz(func(t *testing.T, src []byte, dstLen uint32) {
		runExec(t, dstLen, func(dst []byte) (int, uint16) { return ExecReval(src, b.Scenarios, dst) })
	})
}

func FuzzExecAggTail(f *testing.F) {
	p, b := fixture(f)
	f.Add(b.AggTailSrc, uint32(p.Sizes().Tails))
	f.Add(b.AggTailSrc, uint32(tailBytes(p.A)))
	f.Add([]byte("AGT1"), uint32(64))
	loss := b.Loss[v0Bytes(p.I):]
	f.Fuzz(func(t *testing.T, src []byte, dstLen uint32) {
		runExec(t, dstLen, func(dst []byte) (int, uint16) { return ExecAggTail(src, loss, dst) })
	})
}

func FuzzExecGreeks(f *testing.F) {
	p, b := fixture(f)
	f.Add(b.GreeksSrc, uint32(p.Sizes().Greeks))
	f.Add(b.GreeksSrc[:GreeksHeaderBytes+160], uint32(64))
	f.Add([]byte("GRK1"), uint32(64))
	f.Fuzz(func(t *testing.T, src []byte, dstLen uint32) {
		runExec(t, dstLen, func(dst []byte) (int, uint16) { return ExecGreeks(src, dst) })
	})
}

// all reports whether every byte of b is v.
func all(b []byte, v byte) bool {
	for _, x := range b {
		if x != v {
			return false
		}
	}
	return true
}
