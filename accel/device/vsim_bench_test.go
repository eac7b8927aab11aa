package device

import (
	"context"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/job"
	"github.com/ballast-risk/ballast/accel/job/jobtest"
	"github.com/ballast-risk/ballast/accel/vsim"
	"github.com/ballast-risk/ballast/accel/vsim/vsimtest"
)

// Reference workload of the engine's benchmarks (engine/bench_test.go,
// bench/README.md): 20 correlated underlyings, 2,000 instruments, 10,000
// accounts × 20 positions, 10,000 scenarios, a four-point stress grid per
// underlying.
const (
	refU, refI, refP, refS, refPoints = 20, 2000, 10000 * 20, 10000, 4 * 20
	// projClockHz is the kernel clock the projections assume (ID_CLK_MHZ).
	projClockHz = 250e6
	// simMemLatencyCycles is the DMA read latency the harness models in the
	// benchmark: about 0.5 µs of PCIe round trip at 250 MHz is ~128 cycles;
	// 64 is a card's on-board memory.
	simMemLatencyCycles = 64
)

// BenchmarkVsimRisk runs a mid-size risk batch (20 correlated underlyings
// as the reference workload, 64 instruments, 64 accounts of up to 20
// positions, 1,024 scenarios and the stress grid) on the RTL under Verilator
// and reports the device cycles of each kernel unit per unit of work, the
// simulator's speed, and projections at 250 MHz — labelled "proj-": the
// revaluation rate of 1, 4 and 16 lanes (compute capacity: lanes beyond one
// need a data path of lanes × 8 bytes per cycle of loss writes, see
// hdl/rtl/kern/ballast_reval.sv), the Greeks rate of one GREEKS unit, and
// the reference workload's batch on the device as built (one unit of each
// kind, 64-bit DMA), extrapolated linearly in instruments, positions and
// scenarios from the measured per-unit costs at the same U.
func BenchmarkVsimRisk(b *testing.B) {
	vsimtest.Require(b)
	j := jobtest.Random(42, jobtest.Options{U: refU, Instruments: 64, Accounts: 64, PositionsMax: 20,
		Scenarios: 1024, Correlated: true, Stress: true})
	p, err := job.NewPlan(j)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	mem := (ArenaBytesFor(p) + (1 << 20) + 4095) &^ 4095
	be, closer, err := OpenVsim(ctx, vsim.Config{MemBytes: mem, MemLatencyCycles: simMemLatencyCycles},
		driver.Config{JobTimeout: 10 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := closer(); err != nil {
			b.Error(err)
		}
	}()
	var out accel.RiskResult
	start := be.Sim().Cycles()
	for b.Loop() {
		if err := be.RunPlan(ctx, p, &out); err != nil {
			b.Fatal(err)
		}
	}
	simCycles := be.Sim().Cycles() - start
	st := be.Stats()
	n := float64(st.Batches)
	per := func(o OpStats, work int) float64 { return float64(o.Cycles) / n / float64(work) }
	scen := per(st.ScenGen, p.SMC)
	reval := per(st.Reval, p.I*p.Sp)
	agg := per(st.AggTail, p.Positions*p.S)
	greeks := per(st.Greeks, p.I)
	b.ReportMetric(scen, "scengen-cycles/scenario")
	b.ReportMetric(reval, "reval-cycles/reval")
	b.ReportMetric(agg, "aggtail-cycles/madd")
	b.ReportMetric(greeks, "greeks-cycles/instrument")
	b.ReportMetric(float64(st.ScenGen.Cycles+st.Reval.Cycles+st.AggTail.Cycles+st.Greeks.Cycles)/n, "device-cycles/batch")
	b.ReportMetric(float64(simCycles)/b.Elapsed().Seconds(), "sim-cycles/s")
	for _, lanes := range []int{1, 4, 16} {
		b.ReportMetric(float64(lanes)*projClockHz/reval, "proj-revals/s-"+map[int]string{1: "1lane", 4: "4lanes", 16: "16lanes"}[lanes])
	}
	b.ReportMetric(projClockHz/greeks, "proj-greeks/s")
	refSp := (refS + refPoints + 15) &^ 15
	ref := scen*refS + reval*refI*float64(refSp) + agg*refP*refS + greeks*refI
	b.ReportMetric(ref/projClockHz, "proj-ref-batch-s")
	b.ReportMetric(agg*refP*refS/projClockHz, "proj-ref-aggtail-s")
	b.ReportMetric(reval*refI*float64(refSp)/projClockHz, "proj-ref-reval-s")
}
