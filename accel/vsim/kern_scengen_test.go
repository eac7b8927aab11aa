package vsim

// Co-simulation of the SCENGEN unit (hdl/rtl/kern/ballast_scengen.sv): the
// device's scenario matrices must equal job.ExecScenGen byte for byte, over
// a destination pre-filled with a pattern (the columns the unit must not
// touch keep it), and every malformed descriptor must complete with
// BAD_DESC without writing anything.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/fxp"
	"github.com/ballast-risk/ballast/accel/internal/regs"
	"github.com/ballast-risk/ballast/accel/job"
	"github.com/ballast-risk/ballast/accel/job/jobtest"
)

// scenGenCase is one SCENGEN descriptor: the scenario configuration, the
// columns generated, the row stride and the scenario index of column 0.
type scenGenCase struct {
	name  string
	sc    accel.Scenarios
	u     int
	smc   int
	sp    int
	first uint64
}

// scenGenSrc encodes a SCENGEN src (docs/accel.md §7): the 32-byte header,
// then the scenario record.
func scenGenSrc(t testing.TB, p *fxp.ScenarioParams, smc, sp int, first uint64) []byte {
	t.Helper()
	src := make([]byte, job.ScenGenHeaderBytes+p.RecordBytes())
	le := binary.LittleEndian
	le.PutUint32(src[0x00:], job.MagicScenGen)
	le.PutUint32(src[0x04:], uint32(smc))
	le.PutUint32(src[0x08:], uint32(sp))
	le.PutUint64(src[0x10:], first)
	p.PutRecord(src[job.ScenGenHeaderBytes:])
	return src
}

// scenGenDst is the output buffer's size and a pattern to fill it with.
func scenGenDst(p *fxp.ScenarioParams, sp int, seed uint64) []byte {
	mats := 1
	if p.VolShocks() {
		mats = 2
	}
	dst := make([]byte, mats*4*p.Underlyings()*sp)
	r := rand.New(rand.NewPCG(seed, 99))
	for i := range dst {
		dst[i] = byte(r.Uint32())
	}
	return dst
}

// submitScenGen runs one SCENGEN descriptor with dst pre-filled with
// pattern; it returns the output buffer (nil on an error), the completion
// and the error.
func submitScenGen(t testing.TB, dev *driver.Device, src, pattern []byte, dstLen int) ([]byte, driver.Completion, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srcLen := (len(src) + 7) &^ 7
	out := make([]byte, dstLen)
	jb := &driver.Job{
		Descs: []driver.Desc{{
			Opcode: regs.OpScengen,
			Src:    driver.Ref{Buf: 0, Off: 0, Len: srcLen},
			Dst:    driver.Ref{Buf: 1, Off: 0, Len: dstLen},
		}},
		Bufs: []driver.Buffer{
			{Bytes: srcLen, In: src},
			{Bytes: max(dstLen, len(pattern)), In: pattern, Out: out},
		},
	}
	res, err := dev.Submit(ctx, jb)
	if err != nil {
		return nil, res.Completions[0], err
	}
	return out, res.Completions[0], nil
}

func openScenGen(t testing.TB, cfg Config) (*Sim, *driver.Device) {
	t.Helper()
	return openScenGenCfg(t, cfg, driver.Config{})
}

// openScenGenCfg starts the simulator, opens the driver with dcfg and
// checks that the device has SCENGEN (the test fails without it).
func openScenGenCfg(t testing.TB, cfg Config, dcfg driver.Config) (*Sim, *driver.Device) {
	t.Helper()
	s := startCosim(t, cfg)
	dev, err := driver.Open(s.Bar(), s.Memory(), dcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	info := dev.Info()
	if info.Caps&(1<<regs.CapScengenBit) == 0 {
		t.Fatalf("the device lacks SCENGEN: ID_CAPS %#x", info.Caps)
	}
	if info.ScenGenUMax == 0 {
		t.Fatal("ID_SCENGEN_U_MAX is 0 on a device with SCENGEN")
	}
	return s, dev
}

// lowerOnes is a U×U lower triangle of ones: correlated sums that
// saturate ẑ at ±8.
func lowerOnes(u int) []float64 {
	l := make([]float64, u*u)
	for i := range u {
		for j := 0; j <= i; j++ {
			l[i*u+j] = 1
		}
	}
	return l
}

// randomLower is a random U×U lower triangle with entries in [−1, 1].
func randomLower(u int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 5))
	l := make([]float64, u*u)
	for i := range u {
		for j := 0; j <= i; j++ {
			l[i*u+j] = 2*r.Float64() - 1
		}
	}
	return l
}

func vols(u int, v float64) []float64 {
	s := make([]float64, u)
	for k := range s {
		s[k] = v * (0.5 + 0.5*float64(k+1)/float64(u))
	}
	return s
}

// TestKernScenGenMatchesExec compares the device with job.ExecScenGen on
// hand-made descriptors (edge sizes, odd S_mc, first near a 32-bit carry,
// saturations, U = U_MAX) and on random jobs from jobtest, under DMA
// latency and back-pressure, and logs the completion cycles.
func TestKernScenGenMatchesExec(t *testing.T) {
	_, dev := openScenGen(t, Config{MemBytes: 16 << 20, MemLatencyCycles: 16, StallPermille: 50, Seed: 11})
	uMax := int(dev.Info().ScenGenUMax)
	h := 2.0 / 252
	cases := []scenGenCase{
		{name: "U=1 S_mc=1", u: 1, smc: 1, sp: 16,
			sc: accel.Scenarios{Seed: 1, HorizonYears: h, Vols: []float64{0.3}}},
		{name: "U=3 S_mc=40 Gaussian", u: 3, smc: 40, sp: 48,
			sc: accel.Scenarios{Seed: 2, HorizonYears: h, Vols: vols(3, 0.4)}},
		{name: "U=8 CHOL S_mc=64", u: 8, smc: 64, sp: 64,
			sc: accel.Scenarios{Seed: 3, HorizonYears: h, Vols: vols(8, 0.3), Cholesky: randomLower(8, 3)}},
		{name: "U=8 t5 VOL S_mc=64", u: 8, smc: 64, sp: 80,
			sc: accel.Scenarios{Seed: 4, HorizonYears: h, Vols: vols(8, 0.5), StudentTDoF: 5, VolOfVol: 0.8, SpotVolCorr: -0.6}},
		{name: "U=7 t3 VOL CHOL S_mc=37 first=2^32-5", u: 7, smc: 37, sp: 48, first: 1<<32 - 5,
			sc: accel.Scenarios{Seed: 5, HorizonYears: 0.25, Vols: vols(7, 0.6), StudentTDoF: 3, VolOfVol: 1.5,
				SpotVolCorr: 0.4, Cholesky: randomLower(7, 5)}},
		{name: "U=5 t64 S_mc=17 first=2^40+3", u: 5, smc: 17, sp: 32, first: 1<<40 + 3,
			sc: accel.Scenarios{Seed: 6, HorizonYears: h, Vols: vols(5, 0.2), StudentTDoF: 64}},
		{name: "saturations U=16 ones t3 VOL", u: 16, smc: 33, sp: 48,
			sc: accel.Scenarios{Seed: 7, HorizonYears: 2.25, Vols: vols(16, 10), StudentTDoF: 3, VolOfVol: 10,
				SpotVolCorr: -1, Cholesky: lowerOnes(16)}},
		{name: "S_mc=0", u: 2, smc: 0, sp: 16,
			sc: accel.Scenarios{Seed: 8, HorizonYears: h, Vols: vols(2, 0.3), VolOfVol: 0.5}},
		{name: "S_mc=Sp first=2^64-33", u: 4, smc: 32, sp: 32, first: 1<<64 - 33,
			sc: accel.Scenarios{Seed: 9, HorizonYears: h, Vols: []float64{0, 0.1, 1, 3}}},
		{name: "U=U_MAX CHOL", u: uMax, smc: 16, sp: 16,
			sc: accel.Scenarios{Seed: 10, HorizonYears: h, Vols: vols(uMax, 0.3), Cholesky: randomLower(uMax, 10)}},
	}
	for i, c := range cases {
		p, err := fxp.NewScenarioParams(&c.sc, c.u)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		src := scenGenSrc(t, p, c.smc, c.sp, c.first)
		checkScenGen(t, dev, c.name, src, scenGenDst(p, c.sp, uint64(i)))
	}
	// Random jobs: the Go encoder's src (first = 0).
	for _, name := range []string{"gaussian", "correlated", "student-t", "vol-shocks", "everything"} {
		o := jobtest.Configs[name]
		o.Scenarios = 36 + 9*len(name) // a few tiles, the last one partial
		pl, err := job.NewPlan(jobtest.Random(uint64(len(name)), o))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		src := make([]byte, pl.Sizes().ScenGenSrc)
		if err := pl.EncodeScenGen(src); err != nil {
			t.Fatal(err)
		}
		checkScenGen(t, dev, "jobtest "+name, src, scenGenDst(pl.Scen, pl.Sp, 77))
	}
}

// checkScenGen submits src over a dst filled with pattern and compares the
// output and out_bytes with job.ExecScenGen on the same bytes.
func checkScenGen(t *testing.T, dev *driver.Device, name string, src, pattern []byte) {
	t.Helper()
	want := bytes.Clone(pattern)
	wantOut, st := job.ExecScenGen(src, want)
	if st != job.StatusOK {
		t.Fatalf("%s: ExecScenGen status %d", name, st)
	}
	got, cpl, err := submitScenGen(t, dev, src, pattern, len(pattern))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if cpl.OutBytes != uint64(wantOut) {
		t.Errorf("%s: out_bytes %d, want %d", name, cpl.OutBytes, wantOut)
	}
	if !bytes.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: first difference at byte %d (word %d): got %x, want %x (pattern %x)", name, i, i/4,
					got[i&^3:i&^3+4], want[i&^3:i&^3+4], pattern[i&^3:i&^3+4])
			}
		}
	}
	t.Logf("%-40s cycles %8d  out_bytes %d", name, cpl.Cycles, cpl.OutBytes)
}

// TestKernScenGenBadDesc: every malformed descriptor completes with
// BAD_DESC and leaves the output buffer as it was.
func TestKernScenGenBadDesc(t *testing.T) {
	s, dev := openScenGen(t, Config{MemBytes: 8 << 20})
	uMax := int(dev.Info().ScenGenUMax)
	le := binary.LittleEndian
	sc := accel.Scenarios{Seed: 21, HorizonYears: 0.1, Vols: vols(5, 0.3), Cholesky: randomLower(5, 21),
		StudentTDoF: 4, VolOfVol: 0.7, SpotVolCorr: 0.2}
	p, err := fxp.NewScenarioParams(&sc, 5)
	if err != nil {
		t.Fatal(err)
	}
	gauss, err := fxp.NewScenarioParams(&accel.Scenarios{Seed: 22, HorizonYears: 0.1, Vols: vols(3, 0.3)}, 3)
	if err != nil {
		t.Fatal(err)
	}
	big, err := fxp.NewScenarioParams(&accel.Scenarios{Seed: 23, HorizonYears: 0.1, Vols: vols(uMax+1, 0.3)}, uMax+1)
	if err != nil {
		t.Fatal(err)
	}
	const rec = job.ScenGenHeaderBytes
	tab := rec + fxp.ScenarioRecordFixedBytes
	chol := tab + fxp.ScenarioUnderlyingBytes*5
	type mutation struct {
		name   string
		params *fxp.ScenarioParams
		edit   func(src []byte) []byte
		dstLen func(n int) int
	}
	keep := func(n int) int { return n }
	muts := []mutation{
		{"magic", p, func(b []byte) []byte { b[0] ^= 1; return b }, keep},
		{"header reserved u32", p, func(b []byte) []byte { b[0x0C] = 1; return b }, keep},
		{"header reserved u64", p, func(b []byte) []byte { b[0x1F] = 0x80; return b }, keep},
		{"Sp not a multiple of 16", p, func(b []byte) []byte { le.PutUint32(b[0x08:], 40); return b }, keep},
		{"Sp 0", p, func(b []byte) []byte { le.PutUint32(b[0x04:], 0); le.PutUint32(b[0x08:], 0); return b }, keep},
		{"Sp over StrideMax", p, func(b []byte) []byte { le.PutUint32(b[0x08:], job.StrideMax+16); return b }, keep},
		{"S_mc > Sp", p, func(b []byte) []byte { le.PutUint32(b[0x04:], 49); return b }, keep},
		{"first + S_mc wraps", p, func(b []byte) []byte { le.PutUint64(b[0x10:], 1<<64-20); return b }, keep},
		{"U 0", p, func(b []byte) []byte { le.PutUint32(b[rec:], 0); return b }, keep},
		{"U over U_MAX", big, func(b []byte) []byte { return b }, keep},
		{"flags bit 2", p, func(b []byte) []byte { b[rec+4] |= 4; return b }, keep},
		{"ν 2", p, func(b []byte) []byte { le.PutUint32(b[rec+0x10:], 2); return b }, keep},
		{"ν 65", p, func(b []byte) []byte { le.PutUint32(b[rec+0x10:], 65); return b }, keep},
		{"record reserved u32", p, func(b []byte) []byte { b[rec+0x14] = 1; return b }, keep},
		{"record reserved u64", p, func(b []byte) []byte { b[rec+0x3F] = 1; return b }, keep},
		{"√(ν−2) not normalised", p, func(b []byte) []byte { le.PutUint32(b[rec+0x18:], 1<<29); return b }, keep},
		{"√(ν−2) exponent", p, func(b []byte) []byte { le.PutUint32(b[rec+0x1C:], 5000); return b }, keep},
		{"√(ν−2) negative", p, func(b []byte) []byte { le.PutUint32(b[rec+0x18:], uint32(0xC0000000)); return b }, keep},
		{"Gaussian with √(ν−2)", gauss, func(b []byte) []byte { le.PutUint32(b[rec+0x18:], 1<<30); return b }, keep},
		{"Gaussian with a zero-mantissa exponent", gauss, func(b []byte) []byte { le.PutUint32(b[rec+0x1C:], 1); return b }, keep},
		{"ρ > 1", p, func(b []byte) []byte { le.PutUint32(b[rec+0x20:], 1<<30+1); return b }, keep},
		{"√(1−ρ²) < 0", p, func(b []byte) []byte { le.PutUint32(b[rec+0x24:], uint32(0xFFFFFFFF)); return b }, keep},
		{"η√h mantissa", p, func(b []byte) []byte { le.PutUint32(b[rec+0x28:], 1<<28); return b }, keep},
		{"η√h shift", p, func(b []byte) []byte { le.PutUint32(b[rec+0x2C:], 62); return b }, keep},
		{"b > 0", p, func(b []byte) []byte { le.PutUint64(b[rec+0x30:], 1); return b }, keep},
		{"vol constants without VOL", gauss, func(b []byte) []byte { le.PutUint32(b[rec+0x20:], 5); return b }, keep},
		{"μ > 0 (last entry)", p, func(b []byte) []byte { le.PutUint64(b[tab+16*4:], 1); return b }, keep},
		{"μ < −2^37", p, func(b []byte) []byte { mu := -(int64(1) << 37) - 1; le.PutUint64(b[tab:], uint64(mu)); return b }, keep},
		{"vm below 2^27", p, func(b []byte) []byte { le.PutUint32(b[tab+16*2+8:], 1<<26); return b }, keep},
		{"vsh 63", p, func(b []byte) []byte { le.PutUint32(b[tab+16*3+12:], 63); return b }, keep},
		{"vm 0 with a shift", gauss, func(b []byte) []byte {
			le.PutUint32(b[rec+fxp.ScenarioRecordFixedBytes+8:], 0)
			return b
		}, keep},
		{"Cholesky above the diagonal", p, func(b []byte) []byte { le.PutUint32(b[chol+4*(1*5+3):], 7); return b }, keep},
		{"Cholesky > 1", p, func(b []byte) []byte { le.PutUint32(b[chol+4*(4*5+4):], 1<<30+1); return b }, keep},
		{"Cholesky padding", p, func(b []byte) []byte { le.PutUint32(b[chol+4*25:], 1); return b }, keep},
		{"src_len short by 8", p, func(b []byte) []byte { return b[:len(b)-8] }, keep},
		{"src_len 32", p, func(b []byte) []byte { return b[:32] }, keep},
		{"dst_len short by 8", p, func(b []byte) []byte { return b }, func(n int) int { return n - 8 }},
	}
	for i, m := range muts {
		src := m.edit(scenGenSrc(t, m.params, 48, 48, 0))
		pattern := scenGenDst(m.params, 48, uint64(1000+i))
		dstLen := m.dstLen(len(pattern))
		// The executor agrees, except on the build limit U_MAX (its own
		// limit is accel.UnderlyingsMax).
		if _, st := job.ExecScenGen(src, make([]byte, dstLen)); (st == job.StatusBadDesc) == (m.params == big) {
			t.Fatalf("%s: ExecScenGen status %d: the test is wrong", m.name, st)
		}
		_, _, err := submitScenGen(t, dev, src, pattern, dstLen)
		var de *driver.DeviceError
		if !errors.As(err, &de) || de.Status != regs.CodeBadDesc {
			t.Fatalf("%s: error %v, want BAD_DESC", m.name, err)
		}
		// The output buffer still holds the pattern in the simulator's memory.
		mem := s.Memory().Bytes()
		at := bytes.Index(mem, pattern[:64])
		if at < 0 || !bytes.Equal(mem[at:at+len(pattern)], pattern) {
			t.Fatalf("%s: the output buffer was written", m.name)
		}
	}
	// The device goes on: a good descriptor after the bad ones.
	checkScenGen(t, dev, "after BAD_DESC", scenGenSrc(t, p, 21, 32, 5), scenGenDst(p, 32, 1))
}

// TestKernScenGenCycles logs the completion cycles of a few job shapes with
// an ideal memory (no read latency, no back-pressure), for the cycle formula
// in ballast_scengen.sv; each output is still checked against the executor.
func TestKernScenGenCycles(t *testing.T) {
	_, dev := openScenGen(t, Config{MemBytes: 16 << 20})
	uMax := int(dev.Info().ScenGenUMax)
	h := 2.0 / 252
	shapes := []scenGenCase{
		{name: "U=3 Gaussian S_mc=16", u: 3, smc: 16, sp: 16,
			sc: accel.Scenarios{Seed: 31, HorizonYears: h, Vols: vols(3, 0.3)}},
		{name: "U=3 Gaussian S_mc=40", u: 3, smc: 40, sp: 48,
			sc: accel.Scenarios{Seed: 31, HorizonYears: h, Vols: vols(3, 0.3)}},
		{name: "U=8 CHOL S_mc=64", u: 8, smc: 64, sp: 64,
			sc: accel.Scenarios{Seed: 32, HorizonYears: h, Vols: vols(8, 0.3), Cholesky: randomLower(8, 32)}},
		{name: "U=8 t5 VOL S_mc=64", u: 8, smc: 64, sp: 64,
			sc: accel.Scenarios{Seed: 33, HorizonYears: h, Vols: vols(8, 0.3), StudentTDoF: 5, VolOfVol: 0.8, SpotVolCorr: -0.6}},
		{name: "U=8 t5 VOL CHOL S_mc=64", u: 8, smc: 64, sp: 64,
			sc: accel.Scenarios{Seed: 34, HorizonYears: h, Vols: vols(8, 0.3), StudentTDoF: 5, VolOfVol: 0.8,
				SpotVolCorr: -0.6, Cholesky: randomLower(8, 34)}},
		{name: "U=U_MAX Gaussian S_mc=16", u: uMax, smc: 16, sp: 16,
			sc: accel.Scenarios{Seed: 35, HorizonYears: h, Vols: vols(uMax, 0.3)}},
		{name: "U=U_MAX Gaussian S_mc=64", u: uMax, smc: 64, sp: 64,
			sc: accel.Scenarios{Seed: 35, HorizonYears: h, Vols: vols(uMax, 0.3)}},
		{name: "U=U_MAX CHOL S_mc=16", u: uMax, smc: 16, sp: 16,
			sc: accel.Scenarios{Seed: 36, HorizonYears: h, Vols: vols(uMax, 0.3), Cholesky: randomLower(uMax, 36)}},
		{name: "U=U_MAX CHOL S_mc=64", u: uMax, smc: 64, sp: 64,
			sc: accel.Scenarios{Seed: 36, HorizonYears: h, Vols: vols(uMax, 0.3), Cholesky: randomLower(uMax, 36)}},
	}
	for i, c := range shapes {
		p, err := fxp.NewScenarioParams(&c.sc, c.u)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkScenGen(t, dev, c.name, scenGenSrc(t, p, c.smc, c.sp, 0), scenGenDst(p, c.sp, uint64(i)))
	}
}

// TestKernScenGenRandom sweeps random shapes: U, S_mc, Sp, first, ν, vol
// shocks and factor drawn at random, under read latency and back-pressure.
func TestKernScenGenRandom(t *testing.T) {
	_, dev := openScenGen(t, Config{MemBytes: 16 << 20, MemLatencyCycles: 40, StallPermille: 200, Seed: 5})
	uMax := int(dev.Info().ScenGenUMax)
	r := rand.New(rand.NewPCG(2026, 11))
	for i := range 100 {
		u := 1 + r.IntN(min(uMax, 16))
		if i%10 == 9 {
			u = 1 + r.IntN(uMax)
		}
		sp := 16 * (1 + r.IntN(6))
		c := scenGenCase{u: u, sp: sp, smc: r.IntN(sp + 1), first: r.Uint64() >> r.IntN(64)}
		if c.first > 1<<64-1-uint64(sp) {
			c.first = 0
		}
		c.sc = accel.Scenarios{Seed: r.Uint64(), HorizonYears: 0.001 + r.Float64(), Vols: vols(u, 0.05+2*r.Float64())}
		if r.IntN(2) == 0 {
			c.sc.StudentTDoF = 3 + r.IntN(62)
		}
		if r.IntN(2) == 0 {
			c.sc.VolOfVol, c.sc.SpotVolCorr = 3*r.Float64(), 2*r.Float64()-1
		}
		if r.IntN(2) == 0 {
			c.sc.Cholesky = randomLower(u, r.Uint64())
		}
		p, err := fxp.NewScenarioParams(&c.sc, u)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		name := fmt.Sprintf("random %d: U=%d S_mc=%d Sp=%d ν=%d vol=%v chol=%v", i, u, c.smc, sp,
			c.sc.StudentTDoF, c.sc.VolOfVol > 0, c.sc.Cholesky != nil)
		checkScenGen(t, dev, name, scenGenSrc(t, p, c.smc, sp, c.first), scenGenDst(p, sp, uint64(i)))
	}
}

// TestKernScenGenWatchdog aborts SCENGEN descriptors mid-run (watchdog) in
// the load, generation and write phases, and checks that the next
// descriptors are still exact: nothing of an aborted job leaks into the
// next.
func TestKernScenGenWatchdog(t *testing.T) {
	_, dev := openScenGenCfg(t, Config{MemBytes: 16 << 20}, driver.Config{WatchdogCycles: 1200})
	uMax := int(dev.Info().ScenGenUMax)
	h := 2.0 / 252
	long := []scenGenCase{
		{u: uMax, smc: 64, sp: 64, sc: accel.Scenarios{Seed: 41, HorizonYears: h, Vols: vols(uMax, 0.3),
			Cholesky: randomLower(uMax, 41)}}, // aborted while loading the factor
		{u: 8, smc: 256, sp: 256, sc: accel.Scenarios{Seed: 42, HorizonYears: h, Vols: vols(8, 0.3),
			StudentTDoF: 7, VolOfVol: 1}}, // aborted in a later tile
		{u: 12, smc: 48, sp: 48, sc: accel.Scenarios{Seed: 43, HorizonYears: h, Vols: vols(12, 0.3),
			Cholesky: randomLower(12, 43), VolOfVol: 1}},
	}
	short := scenGenCase{u: 5, smc: 23, sp: 32, sc: accel.Scenarios{Seed: 44, HorizonYears: h, Vols: vols(5, 0.3),
		StudentTDoF: 4, VolOfVol: 0.5, Cholesky: randomLower(5, 44)}}
	ps, err := fxp.NewScenarioParams(&short.sc, short.u)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range long {
		p, err := fxp.NewScenarioParams(&c.sc, c.u)
		if err != nil {
			t.Fatal(err)
		}
		pattern := scenGenDst(p, c.sp, uint64(i))
		_, _, err = submitScenGen(t, dev, scenGenSrc(t, p, c.smc, c.sp, 0), pattern, len(pattern))
		var de *driver.DeviceError
		if !errors.As(err, &de) || de.Status != regs.CodeWatchdog {
			t.Fatalf("long job %d: error %v, want WATCHDOG", i, err)
		}
		checkScenGen(t, dev, fmt.Sprintf("after watchdog %d", i), scenGenSrc(t, ps, short.smc, short.sp, 3),
			scenGenDst(ps, short.sp, uint64(i)))
	}
}
