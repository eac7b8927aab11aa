package vsim

// Co-simulation tests of the GREEKS unit (hdl/rtl/kern/ballast_greeks.sv):
// the RTL's output buffers against job.ExecGreeks byte for byte, its
// BAD_DESC answers (nothing written) and its cycle counts.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
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

// An instrument record, one GREEKS result and the GREEKS header, in bytes.
const (
	gkRecBytes = fxp.InstrumentRecordBytes
	gkOutBytes = job.GreeksRecordBytes
	gkHdrBytes = job.GreeksHeaderBytes
)

// greeksSrc builds a GREEKS src: the header, pad zero bytes, then recs
// (whole records).
func greeksSrc(recs []byte, pad int) []byte {
	src := make([]byte, gkHdrBytes+pad+len(recs))
	le := binary.LittleEndian
	le.PutUint32(src[0x00:], job.MagicGreeks)
	le.PutUint32(src[0x04:], uint32(len(recs)/gkRecBytes))
	le.PutUint32(src[0x08:], gkRecBytes)
	le.PutUint64(src[0x10:], uint64(gkHdrBytes+pad))
	copy(src[gkHdrBytes+pad:], recs)
	return src
}

// instRecords encodes instruments as records (NewInstrumentParams).
func instRecords(t testing.TB, ins []accel.Instrument) []byte {
	t.Helper()
	b := make([]byte, gkRecBytes*len(ins))
	for i := range ins {
		p, err := fxp.NewInstrumentParams(&ins[i])
		if err != nil {
			t.Fatalf("instrument %d %+v: %v", i, ins[i], err)
		}
		p.PutRecord(b[gkRecBytes*i:], uint32(i))
	}
	return b
}

// edgeInstruments are the branches of Greeks: linear kinds, BSM and
// Black-76 calls and puts, the σ→0 limit in, at and out of the money,
// expiry 0, the σ√T = 8 and |ln(F/K)| near 8 ends, negative rates.
func edgeInstruments() []accel.Instrument {
	var ins []accel.Instrument
	add := func(k accel.Kind, m accel.Model, s, kk, tt, r, q, sig, carry float64) {
		ins = append(ins, accel.Instrument{Kind: k, Model: m, S: s, K: kk, T: tt, R: r, Q: q,
			Sigma: sig, Carry: carry, Multiplier: 10})
	}
	add(accel.Spot, 0, 100, 0, 0, 0, 0, 0, 1)
	add(accel.Spot, 0, 0.01, 0, 0, 0, 0, 0, 3.99)
	add(accel.Future, 0, 250, 0, 0.5, 0.05, 0.01, 0, 1.02)
	add(accel.Future, 0, 50, 0, 100, -1, 1, 0, 0.0625)
	for _, k := range []accel.Kind{accel.Call, accel.Put} {
		for _, m := range []accel.Model{accel.BSM, accel.Black76} {
			add(k, m, 100, 100, 0.5, 0.03, 0.01, 0.2, 1)     // near the money
			add(k, m, 100, 100, 1, 0, 0, 0, 1)               // σ = 0 at the forward (BSM)
			add(k, m, 100, 80, 1, 0.02, 0, 0, 1)             // σ = 0 in/out of the money
			add(k, m, 100, 125, 1, 0.02, 0, 0, 1)            // σ = 0 the other side
			add(k, m, 100, 90, 0, 0.02, 0, 0.3, 1)           // T = 0
			add(k, m, 100, 100, 0.25, 0, 0, 1e-6, 1)         // s just below SMin
			add(k, m, 100, 100, 64, 0.01, 0.01, 1, 1)        // σ√T = 8
			add(k, m, 100, 100*math.Exp(7.5), 2, 0, 0, 2, 1) // deep out (call)
			add(k, m, 100, 100*math.Exp(-7.5), 2, 0, 0, 2, 1)
			add(k, m, 30, 31, 3, -0.2, 0.4, 0.45, 1.5) // negative rate, carry
			add(k, m, 5000, 4000, 0.02, 0.9, -0.9, 0.1, 0.8)
		}
	}
	return ins
}

// randomInstruments draws n host instruments across the kinds, models and
// parameter ranges NewInstrumentParams accepts (σ = 0 one time in ten).
func randomInstruments(r *rand.Rand, n int) []accel.Instrument {
	ins := make([]accel.Instrument, 0, n)
	for len(ins) < n {
		in := accel.Instrument{Kind: accel.Kind(1 + r.IntN(4)), S: 1 + 500*r.Float64(),
			T: 3 * r.Float64() * r.Float64(), R: 0.2*r.Float64() - 0.05, Q: 0.1 * r.Float64(),
			Sigma: 0.05 + 0.9*r.Float64(), Carry: 0.8 + 0.4*r.Float64(), Multiplier: 1 + 99*r.Float64()}
		if in.Kind >= accel.Call {
			in.Model = accel.Model(1 + r.IntN(2))
			in.K = in.S * math.Exp(1.5*r.NormFloat64())
			if r.IntN(10) == 0 {
				in.Sigma = 0
			}
		}
		if _, err := fxp.NewInstrumentParams(&in); err == nil {
			ins = append(ins, in)
		}
	}
	return ins
}

// rawRecords draws n records that pass validation but are otherwise
// arbitrary: every kind and model, Scaled constants with any sign,
// M = −2^31, zero constants, exponents from −90 to 40 and the record's
// extreme exponents, ln(F/K) = 0 and its bounds. They drive the datapath
// through its saturations and int64 wraps.
func rawRecords(r *rand.Rand, n int) []byte {
	le := binary.LittleEndian
	b := make([]byte, gkRecBytes*n)
	for i := range n {
		rec := b[gkRecBytes*i:][:gkRecBytes]
		kind := byte(1 + r.IntN(4))
		rec[0] = kind
		if kind >= 3 {
			rec[1] = byte(1 + r.IntN(2))
		}
		rec[2] = byte(1 + r.IntN(62))
		le.PutUint32(rec[4:], r.Uint32())
		le.PutUint64(rec[8:], uint64(r.Int64N(1<<46)))
		le.PutUint32(rec[16:], 1<<23+uint32(r.IntN(1<<23)))
		var lnfk int32
		switch r.IntN(5) {
		case 0:
			lnfk = 0
		case 1:
			lnfk = int32(r.IntN(2)*2-1) << 30
		default:
			lnfk = int32(r.Int32N(1<<29)) - 1<<28
		}
		le.PutUint32(rec[20:], uint32(lnfk))
		for k := range 15 {
			var m, e int32
			switch r.IntN(12) {
			case 0: // zero
			case 1:
				m, e = math.MinInt32, int32(r.IntN(131)-90)
			case 2:
				m, e = int32(1<<30+r.IntN(1<<30)), int32(r.IntN(2)*8192-4096)
			default:
				m = int32(1<<30 + r.IntN(1<<30))
				if r.IntN(4) == 0 {
					m = -m
				}
				e = int32(r.IntN(131) - 90)
			}
			le.PutUint32(rec[24+8*k:], uint32(m))
			le.PutUint32(rec[28+8*k:], uint32(e))
		}
		// σ√T (constant 4) mostly in the kernel's range, so d1/d2 are live.
		if r.IntN(3) != 0 {
			le.PutUint32(rec[24+8*4:], uint32(1<<30+r.IntN(1<<30)))
			le.PutUint32(rec[28+8*4:], uint32(int32(r.IntN(20)-45)))
		}
	}
	return b
}

// greeksDevice starts a simulator and opens the driver on it.
func greeksDevice(t *testing.T) *driver.Device {
	t.Helper()
	s := startCosim(t, Config{MemBytes: 8 << 20, MemLatencyCycles: 16, StallPermille: 100, Seed: 11})
	dev, err := driver.Open(s.Bar(), s.Memory(), driver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

// submitGreeks runs one GREEKS descriptor over src with a dstLen-byte
// output buffer and returns the buffer and the completion.
func submitGreeks(t *testing.T, dev *driver.Device, src []byte, srcLen, dstLen int) ([]byte, driver.Completion, error) {
	t.Helper()
	out := make([]byte, dstLen)
	jb := &driver.Job{
		Descs: []driver.Desc{{Opcode: regs.OpGreeks,
			Src: driver.Ref{Buf: 0, Len: srcLen}, Dst: driver.Ref{Buf: 1, Len: dstLen}}},
		Bufs: []driver.Buffer{{Bytes: max(len(src), srcLen), In: src}, {Bytes: dstLen, Out: out}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := dev.Submit(ctx, jb)
	return out, res.Completions[0], err
}

// checkGreeks runs src on the device and compares with job.ExecGreeks.
func checkGreeks(t *testing.T, dev *driver.Device, name string, src []byte, dstLen int) driver.Completion {
	t.Helper()
	want := make([]byte, dstLen)
	wantN, st := job.ExecGreeks(src, want)
	if st != job.StatusOK {
		t.Fatalf("%s: ExecGreeks status %d", name, st)
	}
	got, cpl, err := submitGreeks(t, dev, src, len(src), dstLen)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if cpl.OutBytes != uint64(wantN) {
		t.Errorf("%s: out_bytes %d, want %d", name, cpl.OutBytes, wantN)
	}
	if !bytes.Equal(got, want) {
		for i := 0; i < dstLen; i += 8 {
			if !bytes.Equal(got[i:i+8], want[i:i+8]) {
				t.Fatalf("%s: instrument %d field %d: %#x, want %#x (record %x)", name, i/64, i%64/8,
					binary.LittleEndian.Uint64(got[i:]), binary.LittleEndian.Uint64(want[i:]),
					src[int(binary.LittleEndian.Uint64(src[0x10:]))+gkRecBytes*(i/64):][:gkRecBytes])
			}
		}
	}
	return cpl
}

// TestKernGreeksMatchesExecutor checks the RTL's Greeks bit for bit against
// job.ExecGreeks: random jobs, the edge instruments, random host
// instruments, arbitrary valid records (one instrument, sizes not multiples
// of the read chunk or of the lanes), records after padding, a dst longer
// than needed.
func TestKernGreeksMatchesExecutor(t *testing.T) {
	dev := greeksDevice(t)

	for _, seed := range []uint64{1, 2} {
		rj := jobtest.Random(seed, jobtest.Configs["gaussian"])
		p, err := job.NewPlan(rj)
		if err != nil {
			t.Fatal(err)
		}
		src := make([]byte, p.Sizes().GreeksSrc)
		if err := p.EncodeGreeks(src); err != nil {
			t.Fatal(err)
		}
		checkGreeks(t, dev, "random job", src, p.Sizes().Greeks)
	}

	edge := instRecords(t, edgeInstruments())
	checkGreeks(t, dev, "edge instruments", greeksSrc(edge, 0), len(edge)/gkRecBytes*gkOutBytes)
	checkGreeks(t, dev, "edge, padded, long dst", greeksSrc(edge, 24), len(edge)/gkRecBytes*gkOutBytes+72)

	r := rand.New(rand.NewPCG(5, 9))
	hostRecs := instRecords(t, randomInstruments(r, 400))
	checkGreeks(t, dev, "random instruments", greeksSrc(hostRecs, 0), 400*gkOutBytes)

	for _, n := range []int{1, 16, 200, 7} {
		checkGreeks(t, dev, "raw records", greeksSrc(rawRecords(r, n), 8*r.IntN(4)), n*gkOutBytes)
	}

	// A large job of arbitrary records, and what it reached in the
	// reference: the non-limit option path, the σ→0 limit at the forward,
	// Fixed saturations and live prices.
	big := greeksSrc(rawRecords(r, 1500), 0)
	checkGreeks(t, dev, "1500 raw records", big, 1500*gkOutBytes)
	want := make([]byte, 1500*gkOutBytes)
	job.ExecGreeks(big, want)
	var live, limitATM, saturated, priced int
	for i := range 1500 {
		var g [8]int64
		for k := range g {
			g[k] = int64(binary.LittleEndian.Uint64(want[gkOutBytes*i+8*k:]))
			if g[k] == math.MaxInt64 || g[k] == -math.MaxInt64 {
				saturated++
			}
		}
		if big[gkHdrBytes+gkRecBytes*i] < byte(accel.Call) {
			continue
		}
		switch {
		case g[2] != 0:
			live++
		case g[3] != 0:
			limitATM++
		}
		if g[0] > 0 {
			priced++
		}
	}
	t.Logf("1500 raw records: %d options off the σ→0 limit, %d at it with vega, %d saturated fields, %d priced",
		live, limitATM, saturated, priced)
	if live == 0 || limitATM == 0 || saturated == 0 || priced == 0 {
		t.Error("the raw records no longer reach every branch of Greeks")
	}
}

// TestKernGreeksCycles logs the completion cycles of GREEKS jobs of 1, 16
// and 200 instruments (results checked too), with and without DMA
// back-pressure, for the throughput projection.
func TestKernGreeksCycles(t *testing.T) {
	for _, stall := range []uint32{0, 100} {
		s := startCosim(t, Config{MemBytes: 8 << 20, MemLatencyCycles: 16, StallPermille: stall, Seed: 17})
		dev, err := driver.Open(s.Bar(), s.Memory(), driver.Config{})
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(8, 8))
		cyc := map[int]uint64{}
		for _, n := range []int{1, 16, 200} {
			cpl := checkGreeks(t, dev, "raw records", greeksSrc(rawRecords(r, n), 0), n*gkOutBytes)
			cyc[n] = cpl.Cycles
			t.Logf("GREEKS (DMA latency 16, stalls %d‰) I=%d: %d cycles, %.1f per instrument",
				stall, n, cpl.Cycles, float64(cpl.Cycles)/float64(n))
		}
		if c1, c200 := cyc[1], cyc[200]; c200 > c1 {
			per := float64(c200-c1) / 199
			t.Logf("GREEKS (stalls %d‰) marginal: %.1f cycles per instrument; at 250 MHz %.2f M options/s",
				stall, per, 250e6/per/1e6)
		}
		dev.Close()
	}
}

// badGreeks are malformed GREEKS jobs: each breaks one rule of
// job.ExecGreeks. The base is three valid records; srcLen and dstLen are the
// descriptor lengths.
type badGreeks struct {
	name           string
	src            []byte
	srcLen, dstLen int
}

func badGreeksCases(t testing.TB) []badGreeks {
	r := rand.New(rand.NewPCG(77, 1))
	base := func() []byte { return greeksSrc(rawRecords(r, 3), 0) }
	le := binary.LittleEndian
	var cs []badGreeks
	add := func(name string, f func(b []byte), dSrc, dst int) {
		b := base()
		f(b)
		cs = append(cs, badGreeks{name, b, len(b) + dSrc, dst})
	}
	ok := 3 * gkOutBytes
	rec := func(i, off int) int { return gkHdrBytes + gkRecBytes*i + off }
	add("magic", func(b []byte) { b[0] ^= 1 }, 0, ok)
	add("I = 0", func(b []byte) { le.PutUint32(b[4:], 0) }, 0, ok)
	add("record size", func(b []byte) { le.PutUint32(b[8:], 152) }, 0, ok)
	add("reserved 0x0C", func(b []byte) { b[0x0D] = 1 }, 0, ok)
	add("reserved 0x38", func(b []byte) { b[0x3F] = 0x80 }, 0, ok)
	add("offset misaligned", func(b []byte) { le.PutUint64(b[0x10:], 68) }, 0, ok)
	add("offset in header", func(b []byte) { le.PutUint64(b[0x10:], 56) }, 0, ok)
	add("offset past src", func(b []byte) { le.PutUint64(b[0x10:], 1<<40) }, 0, ok)
	add("src too short", func([]byte) {}, -8, ok)
	add("src shorter than a header", func([]byte) {}, -len(base())+56, ok)
	add("dst too short", func([]byte) {}, 0, ok-8)
	add("kind 0", func(b []byte) { b[rec(1, 0)] = 0 }, 0, ok)
	add("kind 5", func(b []byte) { b[rec(2, 0)] = 5 }, 0, ok)
	add("model of a spot", func(b []byte) { b[rec(0, 0)], b[rec(0, 1)] = 1, 1 }, 0, ok)
	add("model 3", func(b []byte) { b[rec(0, 0)], b[rec(0, 1)] = 3, 3 }, 0, ok)
	add("lossSh 63", func(b []byte) { b[rec(1, 2)] = 63 }, 0, ok)
	add("reserved[3]", func(b []byte) { b[rec(1, 3)] = 1 }, 0, ok)
	add("v0 = 2^46", func(b []byte) { le.PutUint64(b[rec(2, 8):], 1<<46) }, 0, ok)
	add("v0 < 0", func(b []byte) { le.PutUint64(b[rec(2, 8):], 1<<63) }, 0, ok)
	add("lossM", func(b []byte) { le.PutUint32(b[rec(0, 16):], 1<<24) }, 0, ok)
	add("ln(F/K)", func(b []byte) { le.PutUint32(b[rec(0, 20):], 1<<30+1) }, 0, ok)
	add("Scaled not normalised", func(b []byte) { le.PutUint64(b[rec(2, 24+8*14):], 1<<29|7<<32) }, 0, ok)
	add("Scaled zero with E", func(b []byte) { le.PutUint64(b[rec(1, 24+8*6):], 1<<32) }, 0, ok)
	add("Scaled E", func(b []byte) { le.PutUint64(b[rec(0, 24+8*3):], 1<<30|4097<<32) }, 0, ok)
	add("record reserved", func(b []byte) { b[rec(2, 159)] = 1 }, 0, ok)
	// The unit's limit (the executor's): I ≤ accel.InstrumentsMax.
	add("I over the limit", func(b []byte) { le.PutUint32(b[4:], accel.InstrumentsMax+1) }, 0, ok)
	add("I at the limit, src short", func(b []byte) { le.PutUint32(b[4:], accel.InstrumentsMax) }, 0, ok)
	for _, c := range cs {
		if c.srcLen < 0 {
			t.Fatalf("%s: bad case", c.name)
		}
		if _, st := job.ExecGreeks(c.src[:min(c.srcLen, len(c.src))], make([]byte, c.dstLen)); st != job.StatusBadDesc {
			t.Fatalf("%s: ExecGreeks status %d, want BAD_DESC", c.name, st)
		}
	}
	return cs
}

// TestKernGreeksBadDesc submits each malformed job through the driver
// (a *driver.DeviceError BAD_DESC) and through raw descriptors whose output
// buffer holds a pattern that must survive.
func TestKernGreeksBadDesc(t *testing.T) {
	cases := badGreeksCases(t)
	dev := greeksDevice(t)
	for _, c := range cases[:8] {
		_, _, err := submitGreeks(t, dev, c.src, c.srcLen, c.dstLen)
		var de *driver.DeviceError
		if !errors.As(err, &de) || de.Status != regs.CodeBadDesc {
			t.Errorf("%s: %v, want a BAD_DESC device error", c.name, err)
		}
	}
	// The device goes on after BAD_DESC.
	src := greeksSrc(rawRecords(rand.New(rand.NewPCG(3, 3)), 2), 0)
	checkGreeks(t, dev, "after BAD_DESC", src, 2*gkOutBytes)

	s := startCosim(t, Config{MemLatencyCycles: 8, StallPermille: 50, Seed: 5})
	rg := openRings(t, s)
	const srcOff, dstOff = bufOff, bufOff + 0x8000
	for i, c := range cases {
		copy(rg.mem[srcOff:], c.src)
		dst := rg.mem[dstOff:][:4096]
		for k := range dst {
			dst[k] = byte(0xA5 ^ k)
		}
		st, n := rg.run(t, regs.OpGreeks, uint32(i+1), rg.iova+srcOff, uint64(c.srcLen), rg.iova+dstOff, uint64(c.dstLen), [3]uint64{})
		if st != regs.CodeBadDesc || n != 0 {
			t.Errorf("%s: status %d out_bytes %d, want BAD_DESC (%d) and 0", c.name, st, n, regs.CodeBadDesc)
		}
		for k := range dst {
			if dst[k] != byte(0xA5^k) {
				t.Fatalf("%s: dst byte %d written", c.name, k)
			}
		}
	}
}

// TestKernGreeksWatchdogAbort lets the watchdog abort GREEKS jobs in the
// validation pass and in the compute pass, and checks that the unit then
// runs the next job bit-exact.
func TestKernGreeksWatchdogAbort(t *testing.T) {
	s := startCosim(t, Config{MemBytes: 8 << 20, MemLatencyCycles: 16, StallPermille: 100, Seed: 13})
	dev, err := driver.Open(s.Bar(), s.Memory(), driver.Config{WatchdogCycles: 3000})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	r := rand.New(rand.NewPCG(21, 4))
	// About 4,400 cycles of validation, then about 5,000 in all.
	for _, n := range []int{200, 100} {
		src := greeksSrc(rawRecords(r, n), 0)
		_, _, err := submitGreeks(t, dev, src, len(src), n*gkOutBytes)
		var de *driver.DeviceError
		if !errors.As(err, &de) || de.Status != regs.CodeWatchdog {
			t.Fatalf("I=%d under a 3000-cycle watchdog: %v, want WATCHDOG", n, err)
		}
		ok := greeksSrc(rawRecords(r, 40), 8)
		checkGreeks(t, dev, "after a watchdog abort", ok, 40*gkOutBytes)
	}
}
