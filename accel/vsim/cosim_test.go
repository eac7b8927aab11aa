package vsim

// Co-simulation tests: the real harness (hdl/build/ballast-vsim, `make hdl`)
// running the RTL. They fail when the harness is missing, unless
// BALLAST_VSIM_SKIP is set to a reason, which skips them with it.

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/internal/mmio"
	"github.com/ballast-risk/ballast/accel/internal/regs"
	"github.com/ballast-risk/ballast/engine/scenario"
)

// envSkip names the environment variable that lets co-simulation tests skip
// when the harness is missing; its value is the reason.
const envSkip = "BALLAST_VSIM_SKIP"

// The simulator's BAR and host memory are what the driver takes.
var (
	_ driver.Bar    = (*Mailbox)(nil)
	_ driver.Memory = (*Memory)(nil)
)

func harness(t testing.TB) string {
	t.Helper()
	bin, err := DefaultBinary()
	if err == nil {
		err = AvailableBinary(bin)
	}
	if err != nil {
		if reason := os.Getenv(envSkip); reason != "" {
			t.Skipf("co-simulation skipped (%s=%q): %v", envSkip, reason, err)
		}
		t.Fatalf("co-simulation needs the Verilator harness: %v\n"+
			"(build it with `make hdl`, or set %s=<reason> to skip these tests)", err, envSkip)
	}
	return bin
}

func startCosim(t testing.TB, cfg Config) *Sim {
	t.Helper()
	cfg.Binary = harness(t)
	if cfg.MemBytes == 0 {
		cfg.MemBytes = 1 << 20
	}
	if testing.Verbose() {
		cfg.Stderr = os.Stderr
	}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func mustRead(t testing.TB, b *Mailbox, off uint32) uint32 {
	t.Helper()
	v, err := b.Read32(off)
	if err != nil {
		t.Fatalf("read %#x: %v", off, err)
	}
	return v
}

func mustWrite(t testing.TB, b *Mailbox, off, v uint32) {
	t.Helper()
	if err := b.Write32(off, v); err != nil {
		t.Fatalf("write %#x: %v", off, err)
	}
}

func TestCosimIDBlock(t *testing.T) {
	s := startCosim(t, Config{})
	bar := s.Bar()
	if v := mustRead(t, bar, regs.RegIDBlkID); v != regs.BlkTypeID<<16|regs.BlkVersionID {
		t.Fatalf("BLK_ID %#x", v)
	}
	if v := mustRead(t, bar, regs.RegIDMagic); v != regs.IDMagicValue {
		t.Fatalf("ID_MAGIC %#x", v)
	}
	if v := mustRead(t, bar, regs.RegIDABI); v>>16 != regs.IDABIMajorValue {
		t.Fatalf("ID_ABI %#x", v)
	}
	if v := mustRead(t, bar, regs.RegIDLanes); v == 0 {
		t.Fatal("ID_LANES 0")
	}
	caps := mustRead(t, bar, regs.RegIDCaps)
	if caps&(1<<regs.CapSelftestPhiloxBit) == 0 || caps&(1<<regs.CapSelftestCopyBit) == 0 {
		t.Fatalf("ID_CAPS %#x lacks the self-tests", caps)
	}
	for _, v := range []uint32{0, 0xFFFFFFFF, 0xA5A5_5A5A, 0x0123_4567} {
		mustWrite(t, bar, regs.RegIDScratch, v)
		if got := mustRead(t, bar, regs.RegIDScratch); got != v {
			t.Fatalf("ID_SCRATCH read %#x after writing %#x", got, v)
		}
	}
	c0 := mustRead(t, bar, regs.RegIDCyclesLo)
	c1 := mustRead(t, bar, regs.RegIDCyclesLo)
	if c1 == c0 {
		t.Fatalf("ID_CYCLES_LO stands still at %d", c0)
	}
	// A write beyond the register map answers an error, reported by the next read.
	mustWrite(t, bar, 0xFF00, 1)
	if _, err := bar.Read32(regs.RegIDMagic); !errors.Is(err, ErrBus) {
		t.Logf("write to unmapped 0xFF00 answered OKAY (RTL's choice): %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Cycles() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("header cycles never advanced")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCosimHarnessRefusesBadFiles(t *testing.T) {
	bin := harness(t)
	dir := t.TempDir()
	run := func(args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}
	if code, out := run(); code != 1 || !strings.Contains(out, "--shm") {
		t.Fatalf("no arguments: exit %d, %q", code, out)
	}
	if code, _ := run("--shm", filepath.Join(dir, "x"), "--bogus"); code != 1 {
		t.Fatalf("unknown flag: exit %d", code)
	}
	zeros := filepath.Join(dir, "zeros")
	if err := os.WriteFile(zeros, make([]byte, MemOffset+MemBytesMin), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run("--shm", zeros); code != 2 || !strings.Contains(out, "bad magic") {
		t.Fatalf("zero file: exit %d, %q", code, out)
	}
	// A valid header on a file of the wrong size.
	f, err := CreateFile(filepath.Join(dir, "short"), FileParams{MemBytes: MemBytesMin})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Truncate(f.Path(), MemOffset+MemBytesMin/2); err != nil {
		t.Fatal(err)
	}
	if code, out := run("--shm", f.Path()); code != 2 || !strings.Contains(out, "header says") {
		t.Fatalf("short file: exit %d, %q", code, out)
	}
	if h, _ := f.Header(); h.State != StateStarting || h.SimPID != 0 {
		t.Fatalf("a refused file was written: %+v", h)
	}
	if code, out := run("--shm", f.Path(), "--trace", filepath.Join(dir, "t.fst")); code != 1 && code != 2 {
		t.Fatalf("--trace: exit %d, %q", code, out)
	}
}

func TestCosimStopRestartAndMaxCycles(t *testing.T) {
	s := startCosim(t, Config{})
	mustWrite(t, s.Bar(), regs.RegIDScratch, 0x55)
	if err := s.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A fresh process; the device came out of a hardware reset.
	if v := mustRead(t, s.Bar(), regs.RegIDMagic); v != regs.IDMagicValue {
		t.Fatalf("ID_MAGIC after restart %#x", v)
	}

	m := startCosim(t, Config{MaxCycles: 5000, IdleCycles: -1})
	if err := m.Wait(); err != nil {
		t.Fatalf("Wait after --max-cycles: %v", err)
	}
	if m.State() != StateStopped || m.Cycles() < 5000 {
		t.Fatalf("state %v cycles %d", m.State(), m.Cycles())
	}
}

// rings is a raw descriptor/completion ring pair in host memory, driven
// straight from the register map (docs/accel.md §2–§3), independent of the
// driver.
type rings struct {
	s       *Sim
	mem     []byte
	iova    uint64
	entries uint32
	tail    uint32
	cqHead  uint32
}

const (
	dqOff      = 0x0000
	cqOff      = 0x1000
	ringLog2   = 4
	bufOff     = 0x10000
	descBytes  = 64
	cplBytes   = 32
	cplValid   = 1
	pollBudget = 20 * time.Second
)

func openRings(t testing.TB, s *Sim) *rings {
	t.Helper()
	bar := s.Bar()
	r := &rings{s: s, mem: s.Memory().Bytes(), iova: s.Memory().IOVA(), entries: 1 << ringLog2}
	clear(r.mem[:bufOff])
	mustWrite(t, bar, regs.RegCtrl, regs.CtrlReset)
	deadline := time.Now().Add(pollBudget)
	for mustRead(t, bar, regs.RegStatus)&regs.StatusResetting != 0 || mustRead(t, bar, regs.RegCtrl)&regs.CtrlReset != 0 {
		if time.Now().After(deadline) {
			t.Fatal("soft reset never finished")
		}
	}
	dq, cq := r.iova+dqOff, r.iova+cqOff
	mustWrite(t, bar, regs.RegDQBaseLo, uint32(dq))
	mustWrite(t, bar, regs.RegDQBaseHi, uint32(dq>>32))
	mustWrite(t, bar, regs.RegDQSizeLog2, ringLog2)
	mustWrite(t, bar, regs.RegCQBaseLo, uint32(cq))
	mustWrite(t, bar, regs.RegCQBaseHi, uint32(cq>>32))
	mustWrite(t, bar, regs.RegCQSizeLog2, ringLog2)
	mustWrite(t, bar, regs.RegCtrl, regs.CtrlEnable)
	return r
}

// run posts one descriptor and waits for its completion; it returns the
// completion's status and out_bytes.
func (r *rings) run(t testing.TB, op uint16, tag uint32, src, srcLen, dst, dstLen uint64, args [3]uint64) (status uint16, outBytes uint64) {
	t.Helper()
	le := binary.LittleEndian
	d := r.mem[dqOff+int(r.tail%r.entries)*descBytes:][:descBytes]
	clear(d)
	le.PutUint16(d[0x00:], op)
	le.PutUint32(d[0x04:], tag)
	le.PutUint64(d[0x08:], src)
	le.PutUint32(d[0x10:], uint32(srcLen))
	le.PutUint64(d[0x18:], dst)
	le.PutUint32(d[0x20:], uint32(dstLen))
	le.PutUint64(d[0x28:], args[0])
	le.PutUint64(d[0x30:], args[1])
	le.PutUint64(d[0x38:], args[2])
	r.tail++
	mustWrite(t, r.s.Bar(), regs.RegDQTail, r.tail)

	slot := cqOff + int(r.cqHead%r.entries)*cplBytes
	deadline := time.Now().Add(pollBudget)
	for {
		w, err := mmio.Load32(r.mem, slot+regs.CplStatusOff)
		if err != nil {
			t.Fatal(err)
		}
		if (w>>16)&cplValid != 0 {
			status = uint16(w)
			break
		}
		if err := r.s.Err(); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no completion for tag %d (CQ_TAIL %d, STATUS %#x, ERROR %#x)", tag,
				mustRead(t, r.s.Bar(), regs.RegCQTail), mustRead(t, r.s.Bar(), regs.RegStatus),
				mustRead(t, r.s.Bar(), regs.RegError))
		}
		runtime.Gosched() // poll hard: a torn completion would be seen
	}
	c := r.mem[slot:][:cplBytes]
	if got := le.Uint32(c[regs.CplTagOff:]); got != tag {
		t.Fatalf("completion tag %d, want %d", got, tag)
	}
	if seq := le.Uint32(c[regs.CplSeqOff:]); seq != r.cqHead {
		t.Fatalf("completion seq %d, want %d", seq, r.cqHead)
	}
	outBytes = le.Uint64(c[regs.CplOutBytesOff:])
	clear(c)
	r.cqHead++
	mustWrite(t, r.s.Bar(), regs.RegCQHead, r.cqHead)
	return status, outBytes
}

// TestCosimRawSelfTests drives SELFTEST_COPY and SELFTEST_PHILOX through raw
// descriptors, under DMA latency and random back-pressure, and checks the
// bytes the RTL wrote into host memory.
func TestCosimRawSelfTests(t *testing.T) {
	s := startCosim(t, Config{MemLatencyCycles: 24, StallPermille: 150, Seed: 7})
	r := openRings(t, s)
	mem := r.mem
	const n = 3*4096 + 136 // crosses pages; not a burst multiple
	src, dst := bufOff, bufOff+0x8000
	for i := range n {
		mem[src+i] = byte(i*131 + 7)
	}
	for i := range n + 64 {
		mem[dst+i] = 0xEE
	}
	status, out := r.run(t, regs.OpSelftestCopy, 11, r.iova+uint64(src), n, r.iova+uint64(dst), n+64, [3]uint64{})
	if status != 0 || out != n {
		t.Fatalf("SELFTEST_COPY status %d out_bytes %d", status, out)
	}
	for i := range n {
		if mem[dst+i] != mem[src+i] {
			t.Fatalf("copy byte %d: %#x, want %#x", i, mem[dst+i], mem[src+i])
		}
	}
	for i := n; i < n+64; i++ {
		if mem[dst+i] != 0xEE {
			t.Fatalf("copy wrote past src_len at %d", i)
		}
	}

	const blocks = 300
	key, ctr0, ctr1 := uint64(0x0123_4567_89AB_CDEF), uint64(0xFFFF_FFF0_0000_0010), uint64(0x1122_3344_5566_7788)
	pdst := bufOff + 0x10000
	status, out = r.run(t, regs.OpSelftestPhilox, 12, 0, 0, r.iova+uint64(pdst), blocks*16, [3]uint64{key, ctr0, ctr1})
	if status != 0 || out != blocks*16 {
		t.Fatalf("SELFTEST_PHILOX status %d out_bytes %d", status, out)
	}
	for j := range uint32(blocks) {
		want := scenario.Philox4x32(
			[4]uint32{uint32(ctr0) + j, uint32(ctr0 >> 32), uint32(ctr1), uint32(ctr1 >> 32)},
			[2]uint32{uint32(key), uint32(key >> 32)})
		for w := range 4 {
			got := binary.LittleEndian.Uint32(mem[pdst+int(j)*16+4*w:])
			if got != want[w] {
				t.Fatalf("Philox block %d word %d: %#x, want %#x", j, w, got, want[w])
			}
		}
	}

	// A destination outside host memory completes with DMA_WRITE.
	status, _ = r.run(t, regs.OpSelftestCopy, 13, r.iova+uint64(src), 64, 0x8000, 64, [3]uint64{})
	if status != regs.CodeDMAWrite {
		t.Fatalf("copy to an unmapped IOVA: status %d, want %d (DMA_WRITE)", status, regs.CodeDMAWrite)
	}
}

// TestCosimCompletionsArriveWhole posts many small descriptors and reads
// each completion the moment its VALID flag shows: the harness must make a
// completion burst visible as a unit (hdl/sim/axi_mem.h), or out_bytes and
// seq would sometimes still hold the previous values.
func TestCosimCompletionsArriveWhole(t *testing.T) {
	s := startCosim(t, Config{})
	r := openRings(t, s)
	for i := range uint32(1500) {
		n := uint64(16 * (1 + i%4))
		status, out := r.run(t, regs.OpSelftestPhilox, 100+i, 0, 0, r.iova+bufOff, n, [3]uint64{1, uint64(i), 0})
		if status != 0 || out != n {
			t.Fatalf("descriptor %d: status %d out_bytes %d, want 0 and %d", i, status, out, n)
		}
	}
}

// TestCosimDriverSelfTests runs the host driver unchanged over the
// simulator's Bar and Memory: Open (block walk, identification, reset, ring
// set-up), then SELFTEST_PHILOX against engine/scenario.Philox4x32 and
// SELFTEST_COPY, under DMA latency and back-pressure.
func TestCosimDriverSelfTests(t *testing.T) {
	s := startCosim(t, Config{MemBytes: 4 << 20, MemLatencyCycles: 16, StallPermille: 100, Seed: 3})
	dev, err := driver.Open(s.Bar(), s.Memory(), driver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key, ctr0, ctr1 := uint64(0xDEADBEEF_01234567), uint64(0xFFFF_FFFE), uint64(42)
	blocks, err := dev.SelfTestPhilox(ctx, key, ctr0, ctr1, 257)
	if err != nil {
		t.Fatal(err)
	}
	for j, got := range blocks {
		want := scenario.Philox4x32(
			[4]uint32{uint32(ctr0) + uint32(j), uint32(ctr0 >> 32), uint32(ctr1), uint32(ctr1 >> 32)},
			[2]uint32{uint32(key), uint32(key >> 32)})
		if got != want {
			t.Fatalf("Philox block %d: %#x, want %#x", j, got, want)
		}
	}
	data := make([]byte, 20000)
	for i := range data {
		data[i] = byte(i*29 + i>>8)
	}
	back, err := dev.SelfTestCopy(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if string(back) != string(data) {
		t.Fatal("SELFTEST_COPY returned different bytes")
	}
}

// BenchmarkMailboxRead32Cosim is the round trip of an ID_SCRATCH read
// through the real harness: mailbox, AXI4-Lite transaction, answer.
func BenchmarkMailboxRead32Cosim(b *testing.B) {
	s := startCosim(b, Config{})
	bar := s.Bar()
	mustRead(b, bar, regs.RegIDScratch) // wake it
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := bar.Read32(regs.RegIDScratch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}

// BenchmarkCosimClockIdle measures simulated cycles per second of wall time
// with the device idle and idle sleeping off: one op is 10 ms of wall time.
func BenchmarkCosimClockIdle(b *testing.B) {
	s := startCosim(b, Config{IdleCycles: -1})
	c0 := cycles(b, s)
	t0 := time.Now()
	for b.Loop() {
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportMetric(float64(cycles(b, s)-c0)/time.Since(t0).Seconds(), "cycles/s")
}

// BenchmarkCosimSelfTestCopy is a 64 KiB SELFTEST_COPY per op through raw
// descriptors: DMA throughput of the simulated device and the simulator's
// clock rate under DMA.
func BenchmarkCosimSelfTestCopy(b *testing.B) {
	s := startCosim(b, Config{MemBytes: 4 << 20})
	r := openRings(b, s)
	const n = 64 << 10
	src, dst := uint64(bufOff), uint64(bufOff+n)
	c0 := cycles(b, s)
	t0 := time.Now()
	b.SetBytes(n)
	for b.Loop() {
		if st, out := r.run(b, regs.OpSelftestCopy, 1, r.iova+src, n, r.iova+dst, n, [3]uint64{}); st != 0 || out != n {
			b.Fatalf("status %d out %d", st, out)
		}
	}
	b.ReportMetric(float64(cycles(b, s)-c0)/time.Since(t0).Seconds(), "cycles/s")
	b.ReportMetric(float64(cycles(b, s)-c0)/float64(b.N), "cycles/op")
}

// cycles reads the exact cycle counter of the ID block.
func cycles(t testing.TB, s *Sim) uint64 {
	for {
		hi := mustRead(t, s.Bar(), regs.RegIDCyclesHi)
		lo := mustRead(t, s.Bar(), regs.RegIDCyclesLo)
		if mustRead(t, s.Bar(), regs.RegIDCyclesHi) == hi {
			return uint64(hi)<<32 | uint64(lo)
		}
	}
}
