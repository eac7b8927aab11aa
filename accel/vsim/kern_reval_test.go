package vsim

// Co-simulation tests of the REVAL unit (hdl/rtl/kern/ballast_reval.sv):
// the RTL's output buffer must equal job.ExecReval's byte for byte, every
// BAD_DESC rule of the executor must complete with BAD_DESC without writing,
// and the completion cycles of a few job sizes are logged for the
// throughput figures. The default build (one lane) runs every test; the
// four-lane build (hdl/build/ballast-vsim-lanes4, beside the default one)
// runs the executor comparison on a subset of the jobs and the cycle
// figures.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/fxp"
	"github.com/ballast-risk/ballast/accel/internal/regs"
	"github.com/ballast-risk/ballast/accel/job"
	"github.com/ballast-risk/ballast/accel/job/jobtest"
)

// revalCase is one REVAL job: the header fields, the instrument records and
// the scenario buffer.
type revalCase struct {
	name              string
	u, sp, cols, cdgv int
	hasM              bool
	recs              []byte // I × 160
	scen              []byte // X, then M with hasM
}

func (c *revalCase) instruments() int { return len(c.recs) / fxp.InstrumentRecordBytes }

// src encodes the REVAL input: the 64-byte header and the records at 64.
func (c *revalCase) src() []byte {
	le := binary.LittleEndian
	b := make([]byte, job.RevalHeaderBytes+len(c.recs))
	le.PutUint32(b[0x00:], job.MagicReval)
	le.PutUint32(b[0x04:], uint32(c.instruments()))
	le.PutUint32(b[0x08:], uint32(c.u))
	le.PutUint32(b[0x0C:], uint32(c.sp))
	le.PutUint32(b[0x10:], uint32(c.cols))
	le.PutUint32(b[0x14:], uint32(c.cdgv))
	if c.hasM {
		le.PutUint32(b[0x18:], job.RevalFlagM)
	}
	le.PutUint32(b[0x1C:], fxp.InstrumentRecordBytes)
	le.PutUint64(b[0x20:], job.RevalHeaderBytes)
	copy(b[job.RevalHeaderBytes:], c.recs)
	return b
}

// outBytes is the REVAL output size: pad64(8I) + 8·I·Sp.
func (c *revalCase) outBytes() int {
	return (8*c.instruments()+63)&^63 + 8*c.instruments()*c.sp
}

// revalEdgeInstruments are host instruments on the branches of Value: σ = 0
// (the intrinsic limit, in, at and out of the money), a tiny σ√T near SMin,
// a huge σ√T (s' saturates at SMax under large m), T = 0, deep in and out of
// the money, both models, linear kinds, and small and large notionals (loss
// shifts at both ends).
func revalEdgeInstruments() []accel.Instrument {
	opt := func(k accel.Kind, m accel.Model, s, K, t, sig, mult float64) accel.Instrument {
		return accel.Instrument{Kind: k, Model: m, S: s, Carry: 1.01, K: K, T: t, R: 0.03, Q: 0.01, Sigma: sig, Multiplier: mult}
	}
	return []accel.Instrument{
		{Kind: accel.Spot, S: 100, Carry: 1, Multiplier: 1},
		{Kind: accel.Future, S: 55, Carry: 1.02, T: 0.5, R: 0.02, Q: 0.01, Multiplier: 50},
		{Kind: accel.Spot, S: 0.001, Carry: 0.07, Multiplier: 0.01},
		{Kind: accel.Future, S: 3000, Carry: 3.9, T: 2, R: -0.5, Q: 0.7, Multiplier: 1e6},
		opt(accel.Call, accel.BSM, 100, 90, 0.5, 0, 10),
		opt(accel.Put, accel.BSM, 100, 110, 0.5, 0, 10),
		opt(accel.Call, accel.BSM, 100, 100, 0, 0.3, 1),
		opt(accel.Put, accel.Black76, 100, 99, 0, 0.3, 1),
		opt(accel.Call, accel.BSM, 100, 100, 1e-6, 1e-4, 100),
		opt(accel.Put, accel.BSM, 100, 100, 1e-6, 1e-4, 100),
		opt(accel.Call, accel.Black76, 100, 100, 64, 1, 1),
		opt(accel.Put, accel.BSM, 100, 130, 60, 1, 3),
		opt(accel.Call, accel.BSM, 100, 10, 1, 0.2, 1),
		opt(accel.Put, accel.BSM, 100, 10, 1, 0.2, 1),
		opt(accel.Call, accel.Black76, 100, 900, 0.1, 0.9, 1e4),
		opt(accel.Put, accel.Black76, 20, 0.01, 0.3, 0.5, 1e-5),
	}
}

// revalHostRecords encodes instruments as records on random underlyings < u.
func revalHostRecords(t *testing.T, r *rand.Rand, ins []accel.Instrument, u int) []byte {
	t.Helper()
	b := make([]byte, len(ins)*fxp.InstrumentRecordBytes)
	for i := range ins {
		ip, err := fxp.NewInstrumentParams(&ins[i])
		if err != nil {
			t.Fatalf("instrument %d %+v: %v", i, ins[i], err)
		}
		ip.PutRecord(b[i*fxp.InstrumentRecordBytes:], uint32(r.IntN(u)))
	}
	return b
}

// revalSyntheticRecords are valid records with random constants (any sign,
// exponents around their usual ranges, random V0, loss scale and ln(F/K)):
// the RTL must follow fxp on every record the executor accepts, not only on
// those NewInstrumentParams makes.
func revalSyntheticRecords(r *rand.Rand, n, u int) []byte {
	le := binary.LittleEndian
	b := make([]byte, n*fxp.InstrumentRecordBytes)
	for i := range n {
		rec := b[i*fxp.InstrumentRecordBytes:]
		kind := 1 + r.IntN(4)
		rec[0] = byte(kind)
		if kind >= 3 {
			rec[1] = byte(1 + r.IntN(2))
		}
		rec[2] = byte(1 + r.IntN(62))
		le.PutUint32(rec[4:], uint32(r.IntN(u)))
		le.PutUint64(rec[8:], uint64(r.Int64N(1<<46)))
		le.PutUint32(rec[0x10:], uint32(1<<23+r.IntN(1<<23)))
		le.PutUint32(rec[0x14:], uint32(int32(r.Int64N(1<<31+1)-1<<30)))
		for k := range 15 {
			off := 0x18 + 8*k
			if r.IntN(12) == 0 {
				continue // zero Scaled
			}
			m := int32(1<<30 + r.Int64N(1<<30))
			if r.IntN(3) == 0 {
				m = -m
			}
			e := int32(-34 + r.IntN(10))
			if r.IntN(10) == 0 {
				e = int32(r.IntN(8193) - 4096)
			}
			le.PutUint32(rec[off:], uint32(m))
			le.PutUint32(rec[off+4:], uint32(e))
		}
	}
	return b
}

// revalScenarios fills a U × Sp X matrix (and M) with log-returns and vol
// multipliers: mostly realistic moves, plus 0, ±XMax, values beyond the
// clamps (any int32), m = 1, m below MMin, m up to 2^32 − 1, and garbage in
// the padding columns (which REVAL must not read).
func revalScenarios(r *rand.Rand, u, sp int, hasM bool) []byte {
	mats := 1
	if hasM {
		mats = 2
	}
	b := make([]byte, 4*mats*u*sp)
	le := binary.LittleEndian
	for k := range u * sp {
		var x int32
		switch r.IntN(10) {
		case 0:
			x = int32(r.Uint32())
		case 1:
			x = [...]int32{0, fxp.XMax, -fxp.XMax, 1<<31 - 1, -1 << 31, fxp.XMax + 1, -fxp.XMax - 1}[r.IntN(7)]
		default:
			x = int32(r.NormFloat64() * 0.05 * (1 << fxp.XFrac))
		}
		le.PutUint32(b[4*k:], uint32(x))
		if hasM {
			var m uint32
			switch r.IntN(8) {
			case 0:
				m = r.Uint32()
			case 1:
				m = [...]uint32{0, 1, fxp.MMin - 1, fxp.MMin, fxp.MOne, 1<<32 - 1, 1 << 31}[r.IntN(7)]
			default:
				m = uint32(float64(fxp.MOne) * (0.5 + r.Float64()))
			}
			le.PutUint32(b[4*(u*sp+k):], m)
		}
	}
	return b
}

// revalCases are the co-simulated jobs: random host portfolios
// (accel/job/jobtest) under both models, with and without M, synthetic
// records, and the edge instruments; sizes cover the smallest (one
// instrument, one column, Sp = 16), odd C, C not a multiple of the chunk,
// C_dgv anywhere in [0, C].
func revalCases(t *testing.T) []revalCase {
	r := rand.New(rand.NewPCG(2026, 11))
	var cs []revalCase
	add := func(name string, recs []byte, u, sp, cols, cdgv int, hasM bool) {
		cs = append(cs, revalCase{name: name, u: u, sp: sp, cols: cols, cdgv: cdgv, hasM: hasM, recs: recs,
			scen: revalScenarios(r, u, sp, hasM)})
	}
	for k, o := range []jobtest.Options{
		{U: 3, Instruments: 12, Accounts: 1, Scenarios: 10},
		{U: 4, Instruments: 9, Accounts: 1, Scenarios: 10, Model: accel.DeltaGammaVega},
	} {
		jb := jobtest.Random(uint64(40+k), o)
		recs := make([]byte, len(jb.Instruments)*fxp.InstrumentRecordBytes)
		for i := range jb.Instruments {
			ip, err := fxp.NewInstrumentParams(&jb.Instruments[i])
			if err != nil {
				t.Fatal(err)
			}
			ip.PutRecord(recs[i*fxp.InstrumentRecordBytes:], jb.Instruments[i].Underlying)
		}
		add(fmt.Sprintf("jobtest-%d-noM", k), recs, o.U, 80, 77, 40*k, false)
		add(fmt.Sprintf("jobtest-%d-M", k), recs, o.U, 304, 291, 150, true)
	}
	edge := revalEdgeInstruments()
	add("edge-M-dgv", revalHostRecords(t, r, edge, 2), 2, 48, 48, 24, true)
	add("edge-noM", revalHostRecords(t, r, edge, 2), 2, 32, 31, 0, false)
	add("edge-M-full", revalHostRecords(t, r, edge, 3), 3, 528, 517, 0, true)
	add("synthetic-M", revalSyntheticRecords(r, 24, 5), 5, 64, 63, 31, true)
	add("synthetic-noM", revalSyntheticRecords(r, 16, 3), 3, 48, 47, 47, false)
	add("smallest", revalHostRecords(t, r, edge[4:5], 1), 1, 16, 1, 1, false)
	add("one-col-M", revalHostRecords(t, r, edge[10:11], 1), 1, 16, 1, 0, true)
	add("cols-2-mod-4", revalSyntheticRecords(r, 6, 2), 2, 32, 30, 13, true)
	return cs
}

// revalLanesCases are the jobs the four-lane build runs: C ≡ 1, 2 and 3
// (mod 4) (rows ending in a partial lane group), C_dgv inside a lane group,
// with and without M, and the smallest job (one column: three idle lanes).
var revalLanesCases = []string{"jobtest-1-M", "edge-noM", "synthetic-M", "cols-2-mod-4", "smallest"}

// revalLanes4Binary is the four-lane simulator (`make hdl` builds it as
// hdl/build/ballast-vsim-lanes4), next to the default one. Like the default
// harness it must exist unless BALLAST_VSIM_SKIP is set.
func revalLanes4Binary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(filepath.Dir(harness(t)), "ballast-vsim-lanes4")
	if err := AvailableBinary(bin); err != nil {
		if reason := os.Getenv(envSkip); reason != "" {
			t.Skipf("four-lane co-simulation skipped (%s=%q): %v", envSkip, reason, err)
		}
		t.Fatalf("the four-lane REVAL co-simulation needs %s: %v\n"+
			"(build it with `make hdl`, or set %s=<reason> to skip these tests)", bin, err, envSkip)
	}
	return bin
}

// revalBuild is one simulator build the REVAL tests run on.
type revalBuild struct {
	name  string
	lanes uint32                    // the ID_LANES it must report; 0: any (the default build)
	bin   func(t testing.TB) string // the simulator binary
}

var revalBuilds = []revalBuild{
	{name: "default", bin: harness},
	{name: "lanes4", lanes: 4, bin: revalLanes4Binary},
}

// revalSubmit runs one REVAL descriptor through the driver: src, the
// scenario buffer (arg0 = its address, arg1 = its length) and a dst of
// dstBytes filled with fill; it returns dst and the result.
func revalSubmit(ctx context.Context, dev *driver.Device, src, scen []byte, dstBytes int, fill []byte) ([]byte, driver.Result, error) {
	got := make([]byte, dstBytes)
	jb := driver.Job{
		Descs: []driver.Desc{{
			Opcode:  regs.OpReval,
			Src:     driver.Ref{Buf: 0, Off: 0, Len: (len(src) + 7) &^ 7},
			Dst:     driver.Ref{Buf: 2, Off: 0, Len: dstBytes},
			Arg0Ref: driver.Ref{Buf: 1, Off: 0, Len: len(scen)},
			Arg1:    uint64(len(scen)),
		}},
		Bufs: []driver.Buffer{
			{Bytes: (len(src) + 7) &^ 7, In: src},
			{Bytes: len(scen), In: scen},
			{Bytes: dstBytes, In: fill, Out: got},
		},
	}
	res, err := dev.Submit(ctx, &jb)
	return got, res, err
}

func openRevalDevice(t *testing.T, cfg Config) (*Sim, *driver.Device) {
	t.Helper()
	return openRevalBuild(t, cfg, revalBuild{name: "default", bin: harness})
}

// openRevalBuild starts build b's simulator and opens the driver on it; the
// device must support REVAL and report b's lane count.
func openRevalBuild(t *testing.T, cfg Config, b revalBuild) (*Sim, *driver.Device) {
	t.Helper()
	// startCosim's, with b's binary.
	cfg.Binary = b.bin(t)
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
	dev, err := driver.Open(s.Bar(), s.Memory(), driver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dev.Close() })
	info := dev.Info()
	if !info.Supports(regs.OpReval) {
		t.Fatalf("the device lacks REVAL: ID_CAPS %#x", info.Caps)
	}
	if b.lanes != 0 && info.Lanes != b.lanes {
		t.Fatalf("%s build: ID_LANES %d, want %d", b.name, info.Lanes, b.lanes)
	}
	return s, dev
}

// TestKernRevalMatchesExecutor compares the RTL's REVAL output with
// job.ExecReval byte for byte, under DMA latency and random back-pressure:
// every job on the default build, revalLanesCases on the four-lane one.
func TestKernRevalMatchesExecutor(t *testing.T) {
	for _, b := range revalBuilds {
		t.Run(b.name, func(t *testing.T) {
			cases := revalCases(t)
			if b.lanes != 0 {
				cases = slices.DeleteFunc(cases, func(c revalCase) bool { return !slices.Contains(revalLanesCases, c.name) })
				if len(cases) != len(revalLanesCases) {
					t.Fatalf("revalLanesCases names %d jobs, %d found", len(revalLanesCases), len(cases))
				}
			}
			_, dev := openRevalBuild(t, Config{MemBytes: 8 << 20, MemLatencyCycles: 20, StallPermille: 120, Seed: 5}, b)
			revalMatchExecutor(t, dev, cases)
		})
	}
}

// revalMatchExecutor runs cases on dev and compares each output buffer and
// out_bytes with job.ExecReval's.
func revalMatchExecutor(t *testing.T, dev *driver.Device, cases []revalCase) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, c := range cases {
		src := c.src()
		want := make([]byte, c.outBytes())
		n, st := job.ExecReval(src, c.scen, want)
		if st != job.StatusOK || n != len(want) {
			t.Fatalf("%s: executor status %d out %d", c.name, st, n)
		}
		fill := bytes.Repeat([]byte{0xA5}, len(want))
		got, res, err := revalSubmit(ctx, dev, src, c.scen, len(want), fill)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ob := res.Completions[0].OutBytes; ob != uint64(n) {
			t.Errorf("%s: out_bytes %d, want %d", c.name, ob, n)
		}
		if !bytes.Equal(got, want) {
			for k := 0; k < len(want); k += 8 {
				if !bytes.Equal(got[k:k+8], want[k:k+8]) {
					v0b := (8*c.instruments() + 63) &^ 63
					i, col := -1, -1
					if k >= v0b {
						i, col = (k-v0b)/(8*c.sp), (k-v0b)/8%c.sp
					}
					t.Fatalf("%s: byte %d (instrument %d column %d): got %#x, want %#x", c.name, k, i, col,
						binary.LittleEndian.Uint64(got[k:]), binary.LittleEndian.Uint64(want[k:]))
				}
			}
		}
		t.Logf("%s: I=%d U=%d Sp=%d C=%d C_dgv=%d M=%v: %d cycles", c.name, c.instruments(), c.u, c.sp, c.cols,
			c.cdgv, c.hasM, res.Completions[0].Cycles)
	}
}

// revalMutation is one malformed REVAL job: a change to a valid job's
// header, record, scenario length or dst length that ExecReval refuses.
type revalMutation struct {
	name   string
	src    func(b []byte) // header and records
	scen   int            // scenario-buffer length change (bytes)
	srcLen int            // when not 0, src is cut to this length
	dst    int            // dst length change (bytes)
}

func revalMutations() []revalMutation {
	le := binary.LittleEndian
	put32 := func(off int, v uint32) func([]byte) { return func(b []byte) { le.PutUint32(b[off:], v) } }
	put64 := func(off int, v uint64) func([]byte) { return func(b []byte) { le.PutUint64(b[off:], v) } }
	rec := func(i, off int, v byte) func([]byte) {
		return func(b []byte) { b[job.RevalHeaderBytes+i*fxp.InstrumentRecordBytes+off] = v }
	}
	rec32 := func(i, off int, v uint32) func([]byte) {
		return func(b []byte) { le.PutUint32(b[job.RevalHeaderBytes+i*fxp.InstrumentRecordBytes+off:], v) }
	}
	return []revalMutation{
		{name: "magic", src: put32(0x00, 0x314C5653)},
		{name: "I=0", src: put32(0x04, 0)},
		{name: "I beyond InstrumentsMax", src: put32(0x04, accel.InstrumentsMax+1)},
		{name: "I beyond the records", src: put32(0x04, 4)},
		{name: "U=0", src: put32(0x08, 0)},
		{name: "U beyond UnderlyingsMax", src: put32(0x08, accel.UnderlyingsMax+1)},
		{name: "Sp not a multiple of 16", src: put32(0x0C, 40)},
		{name: "Sp=0", src: put32(0x0C, 0)},
		{name: "Sp beyond StrideMax", src: put32(0x0C, job.StrideMax+16)},
		{name: "C=0", src: put32(0x10, 0)},
		{name: "C>Sp", src: put32(0x10, 33)},
		{name: "C_dgv>C", src: put32(0x14, 31)},
		{name: "flags", src: put32(0x18, 2)},
		{name: "record size", src: put32(0x1C, 168)},
		{name: "records offset unaligned", src: put64(0x20, 68)},
		{name: "records offset in header", src: put64(0x20, 56)},
		{name: "records offset past src", src: put64(0x20, 1<<40)},
		{name: "reserved 0x28", src: put64(0x28, 1)},
		{name: "reserved 0x38", src: put64(0x38, 1<<63)},
		{name: "scenario buffer short", scen: -8},
		{name: "src shorter than the header", srcLen: 56},
		{name: "src cuts the last record", srcLen: job.RevalHeaderBytes + 2*fxp.InstrumentRecordBytes + 152},
		{name: "dst short", dst: -8},
		{name: "record kind 0", src: rec(1, 0x00, 0)},
		{name: "record kind 5", src: rec(2, 0x00, 5)},
		{name: "record model on a linear kind", src: rec(0, 0x01, 1)},
		{name: "record model 3 on an option", src: rec(2, 0x01, 3)},
		{name: "record lossSh 0", src: rec(1, 0x02, 0)},
		{name: "record lossSh 63", src: rec(1, 0x02, 63)},
		{name: "record reserved byte 3", src: rec(2, 0x03, 1)},
		{name: "record underlying = U", src: rec32(2, 0x04, 2)},
		{name: "record V0 negative", src: rec(1, 0x0F, 0x80)},
		{name: "record V0 = 2^46", src: rec32(1, 0x0C, 1<<14)},
		{name: "record lossM < 2^23", src: rec32(2, 0x10, 1<<23-1)},
		{name: "record lossM = 2^24", src: rec32(2, 0x10, 1<<24)},
		{name: "record ln(F/K) > 2^30", src: rec32(2, 0x14, 1<<30+1)},
		{name: "record Scaled unnormalised", src: rec32(2, 0x20, 1<<29)},
		{name: "record Scaled zero with E", src: rec32(2, 0x5C, 1)},
		{name: "record Scaled E > 4096", src: rec32(2, 0x3C, 4097)},
		{name: "record Greeks Scaled E < -4096", src: rec32(2, 0x8C, uint32(0xFFFFEFFF))},
		{name: "record reserved tail", src: rec(2, 0x9F, 1)},
	}
}

// TestKernRevalBadDesc submits malformed jobs: each completes with BAD_DESC
// (a *driver.DeviceError) and the output buffer keeps its fill pattern: the
// device wrote nothing, not even the V0 array.
func TestKernRevalBadDesc(t *testing.T) {
	s, dev := openRevalDevice(t, Config{MemBytes: 4 << 20, MemLatencyCycles: 8, StallPermille: 50, Seed: 9})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := rand.New(rand.NewPCG(3, 4))
	edge := revalEdgeInstruments()
	// Three records (linear, linear, option) on U = 2, Sp = 32, C = 30, C_dgv = 10.
	base := revalCase{u: 2, sp: 32, cols: 30, cdgv: 10, hasM: true,
		recs: revalHostRecords(t, r, []accel.Instrument{edge[0], edge[1], edge[6]}, 2), scen: revalScenarios(r, 2, 32, true)}
	want := make([]byte, base.outBytes())
	if _, st := job.ExecReval(base.src(), base.scen, want); st != job.StatusOK {
		t.Fatalf("base job: executor status %d", st)
	}
	for k, mu := range revalMutations() {
		src := base.src()
		if mu.src != nil {
			mu.src(src)
		}
		if mu.srcLen != 0 {
			src = src[:mu.srcLen]
		}
		scen := base.scen[:len(base.scen)+mu.scen]
		dstBytes := base.outBytes() + mu.dst
		if _, st := job.ExecReval(src, scen, make([]byte, dstBytes)); st != job.StatusBadDesc {
			t.Fatalf("%s: the executor answers %d, not BAD_DESC: a broken mutation", mu.name, st)
		}
		fill := make([]byte, dstBytes)
		for i := range fill {
			fill[i] = byte(r.Uint32()) | 1 // never all zero: a zero write shows
		}
		fill[0], fill[1] = byte(k), byte(k>>8)
		_, _, err := revalSubmit(ctx, dev, src, scen, dstBytes, fill)
		var de *driver.DeviceError
		if !errors.As(err, &de) || de.Status != regs.CodeBadDesc {
			t.Fatalf("%s: %v, want a BAD_DESC *driver.DeviceError", mu.name, err)
		}
		// The driver does not copy out a failed job's buffers: look for the
		// fill pattern, intact, in host memory.
		if !bytes.Contains(s.Memory().Bytes(), fill) {
			t.Fatalf("%s: the output buffer was written", mu.name)
		}
	}
	// The unmodified job still runs after all that.
	got, _, err := revalSubmit(ctx, dev, base.src(), base.scen, len(want), nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("valid job after the BAD_DESC ones: err %v, equal %v", err, bytes.Equal(got, want))
	}
}

// TestKernRevalCycles logs the completion cycles of a few job sizes without
// DMA latency or back-pressure (the throughput figures of the unit) on both
// builds, and checks the outputs too.
func TestKernRevalCycles(t *testing.T) {
	for _, b := range revalBuilds {
		t.Run(b.name, func(t *testing.T) {
			_, dev := openRevalBuild(t, Config{MemBytes: 8 << 20}, b)
			revalCycles(t, dev)
		})
	}
}

func revalCycles(t *testing.T, dev *driver.Device) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := rand.New(rand.NewPCG(8, 8))
	jb := jobtest.Random(77, jobtest.Options{U: 4, Instruments: 16, Accounts: 1, Scenarios: 10})
	for _, sz := range []struct {
		i, sp, cols int
		m           bool
	}{
		{4, 48, 48, false}, {4, 48, 48, true}, {16, 1008, 1000, false}, {16, 1008, 1000, true}, {2, 4000, 4000, true},
	} {
		c := revalCase{u: 4, sp: sz.sp, cols: sz.cols, cdgv: sz.cols / 2, hasM: sz.m,
			recs: revalHostRecords(t, r, jb.Instruments[:sz.i], 4), scen: revalScenarios(r, 4, sz.sp, sz.m)}
		src := c.src()
		want := make([]byte, c.outBytes())
		if _, st := job.ExecReval(src, c.scen, want); st != job.StatusOK {
			t.Fatalf("executor status %d", st)
		}
		got, res, err := revalSubmit(ctx, dev, src, c.scen, len(want), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("I=%d Sp=%d C=%d M=%v: output differs from the executor", sz.i, sz.sp, sz.cols, sz.m)
		}
		cyc := res.Completions[0].Cycles
		t.Logf("REVAL LANES=%d I=%d U=4 Sp=%d C=%d M=%v: %d cycles, %.3f cycles/valuation, %.3f cycles/output beat",
			dev.Info().Lanes, sz.i, sz.sp, sz.cols, sz.m, cyc, float64(cyc)/float64(sz.i*sz.cols), float64(cyc)/float64(len(want)/8))
	}
}

// TestKernRevalAbortAndReadError stops a long REVAL with the watchdog (the
// unit must drop the job at once, its lane and buffers included) and fails
// one with an injected DMA read error; a valid job right after each must
// still match the executor.
func TestKernRevalAbortAndReadError(t *testing.T) {
	const watchdog = 4000
	s := startCosim(t, Config{MemBytes: 4 << 20, MemLatencyCycles: 10, StallPermille: 50, Seed: 21})
	dev, err := driver.Open(s.Bar(), s.Memory(), driver.Config{WatchdogCycles: watchdog})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := rand.New(rand.NewPCG(13, 1))
	jb := jobtest.Random(5, jobtest.Options{U: 2, Instruments: 8, Accounts: 1, Scenarios: 10})
	long := revalCase{u: 2, sp: 1008, cols: 1000, cdgv: 0, hasM: true,
		recs: revalHostRecords(t, r, jb.Instruments, 2), scen: revalScenarios(r, 2, 1008, true)}
	short := revalCase{u: 2, sp: 64, cols: 60, cdgv: 20, hasM: true,
		recs: revalHostRecords(t, r, jb.Instruments[:3], 2), scen: revalScenarios(r, 2, 64, true)}
	want := make([]byte, short.outBytes())
	if _, st := job.ExecReval(short.src(), short.scen, want); st != job.StatusOK {
		t.Fatalf("executor status %d", st)
	}
	check := func(what string) {
		t.Helper()
		got, _, err := revalSubmit(ctx, dev, short.src(), short.scen, len(want), nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("valid job after %s: err %v, equal %v", what, err, bytes.Equal(got, want))
		}
	}
	for range 2 {
		_, _, err := revalSubmit(ctx, dev, long.src(), long.scen, long.outBytes(), nil)
		var de *driver.DeviceError
		if !errors.As(err, &de) || de.Status != regs.CodeWatchdog {
			t.Fatalf("a %d-valuation job under a %d-cycle watchdog: %v, want WATCHDOG", 8*1000, watchdog, err)
		}
		check("a watchdog abort")
	}
	mustWrite(t, s.Bar(), regs.RegFaultInject, regs.FaultInjectDMARead)
	_, _, err = revalSubmit(ctx, dev, short.src(), short.scen, len(want), nil)
	var de *driver.DeviceError
	if !errors.As(err, &de) || de.Status != regs.CodeDMARead {
		t.Fatalf("injected read fault: %v, want DMA_READ", err)
	}
	check("a DMA read error")
}
