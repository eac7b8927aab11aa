// Command report summarises `go test -bench` output into the feed handler's
// headline figures: the median of each metric over the runs (-count N),
// beside its target, as a Markdown table. It also describes the machine
// (CPU model, cores, features via github.com/klauspost/cpuid/v2) so that
// every recorded figure says where it was measured.
//
//	go test -run '^$' -bench ... -count 3 ./... > raw.txt
//	go run ./bench/report -in raw.txt -cmd "the command" > summary.md
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/cpuid/v2"
	"golang.org/x/perf/benchfmt"
)

// figure is one headline number: the median of unit over the benchmarks
// whose full name matches pattern.
type figure struct {
	name    string
	pattern string // anchored regexp on the full benchmark name (without -GOMAXPROCS)
	unit    string
	target  float64 // 0: informational
	lower   bool    // true: lower is better (latency)
}

var figures = []figure{
	{"ITCH 5.0 decode from memory, per core (types drawn at random in TotalView-like proportions)", `^BenchmarkDecode$`, "msgs/s", 100e6, false},
	{"… the speed probe in the same runs, just before the samples (one Add Order decoded repeatedly: no mispredictions; about 3.6 ns in the VM's fast phase)", `^BenchmarkDecode$`, "probe-before-ns", 0, true},
	{"… the speed probe in the same runs, just after the samples", `^BenchmarkDecode$`, "probe-after-ns", 0, true},
	{"ITCH decode + book update, realistic flow, 4M-order index (per core)", `^BenchmarkApply$`, "msgs/s", 20e6, false},
	{"ITCH decode + book update, same, thread CPU time only", `^BenchmarkApply$`, "cpu-msgs/s", 20e6, false},
	{"Ring, two cores, batched copy of 64", `^BenchmarkSPSC/copy/64$`, "ticks/s", 100e6, false},
	{"Ring, two cores, batched copy of 256", `^BenchmarkSPSC/copy/256$`, "ticks/s", 100e6, false},
	{"Ring hand-off between two cores, in place as the pipeline makes it (Claim/Publish → Poll), p50 (includes one clock read)", `^BenchmarkHandoffLatencyInPlace$`, "p50-ns", 100, true},
	{"Ring hand-off between two cores, in place, p99", `^BenchmarkHandoffLatencyInPlace$`, "p99-ns", 0, true},
	{"… the floor in the same runs, just before the samples (one cache-line transfer, one-way)", `^BenchmarkHandoffLatencyInPlace$`, "floor-before-ns", 0, true},
	{"… the floor in the same runs, just after the samples", `^BenchmarkHandoffLatencyInPlace$`, "floor-after-ns", 0, true},
	{"Ring hand-off between two cores, copying API (TryPush → TryPop), p50 (includes one clock read)", `^BenchmarkHandoffLatency$`, "p50-ns", 0, true},
	{"Ring hand-off between two cores, copying API, p99", `^BenchmarkHandoffLatency$`, "p99-ns", 0, true},
	{"Ring hand-off between two cores, copying API, half the ping-pong round trip, p50 (no clock read on the hand-off)", `^BenchmarkPingPong$`, "oneway-p50-ns", 0, true},
	{"Clock read (time.Since), the stamped figures' overhead", `^BenchmarkHandoffLatencyInPlace$`, "clock-ns", 0, true},
	{"Floor: one cache-line transfer between the two cores, no ring (mean)", `^BenchmarkLineTransfer$`, "one-way-ns", 0, true},
	{"UDP source receive path (recvmmsg, socket pre-filled)", `^BenchmarkUDPReceiveQueued/recvmmsg$`, "pkts/s", 1e6, false},
	{"UDP source with a loopback sender on the same 2 cores", `^BenchmarkUDPLoopback/recvmmsg$`, "pkts/s", 0, false},
	{"pcap replay source (classic pcap, in memory)", `^BenchmarkPcapReplay/pcap$`, "pkts/s", 0, false},
	{"Whole replay: pcap → frame → MoldUDP64 → ITCH → books", `^BenchmarkReplay$`, "msgs/s", 0, false},
	{"Sources on veth, flood (sender on the same 2 cores): UDP", `^BenchmarkSourceCompare/udp/flood$`, "pkts/s", 0, false},
	{"Sources on veth, flood: AF_PACKET", `^BenchmarkSourceCompare/afpacket/flood$`, "pkts/s", 0, false},
	{"Sources on veth, flood: AF_XDP generic", `^BenchmarkSourceCompare/afxdp-generic/flood$`, "pkts/s", 0, false},
	{"Sources on veth, packet-to-ring p50: UDP", `^BenchmarkSourceCompare/udp/pingpong$`, "p50-ns", 0, true},
	{"Sources on veth, packet-to-ring p99: UDP", `^BenchmarkSourceCompare/udp/pingpong$`, "p99-ns", 0, true},
	{"Sources on veth, packet-to-ring p50: AF_PACKET", `^BenchmarkSourceCompare/afpacket/pingpong$`, "p50-ns", 0, true},
	{"Sources on veth, packet-to-ring p50: AF_XDP generic", `^BenchmarkSourceCompare/afxdp-generic/pingpong$`, "p50-ns", 0, true},
	{"Sources on veth, packet-to-ring p50: AF_XDP generic, busy-poll", `^BenchmarkSourceCompare/afxdp-generic/pingpong-busypoll$`, "p50-ns", 0, true},
	{"Sources on veth, packet-to-ring p99: AF_XDP generic, busy-poll", `^BenchmarkSourceCompare/afxdp-generic/pingpong-busypoll$`, "p99-ns", 0, true},
	{"Sources on veth, reader cost per packet (drain): UDP", `^BenchmarkSourceCompare/udp/drain$`, "rx-ns/pkt", 0, true},
	{"Sources on veth, reader cost per packet (drain): AF_PACKET", `^BenchmarkSourceCompare/afpacket/drain$`, "rx-ns/pkt", 0, true},
	{"Sources on veth, reader cost per packet (drain): AF_XDP generic", `^BenchmarkSourceCompare/afxdp-generic/drain$`, "rx-ns/pkt", 0, true},
	{"Option price + all Greeks, one at a time (pricing.Compute), one core", `^pricing\.BenchmarkCompute$`, "ns/option", 0, true},
	{"Option price + all Greeks, batched (pricing.ComputeBatch), one core", `^pricing\.BenchmarkComputeBatch$`, "ns/option", 40, true},
	{"Monte Carlo revaluation of one option, one at a time (Prepared.ValueAfterShock)", `^pricing\.BenchmarkValueAfterShock$`, "ns/op", 0, true},
	{"Monte Carlo revaluation, 32 shocks per call (Prepared.ValuesAfterShocks)", `^pricing\.BenchmarkValuesAfterShocks$`, "ns/reval", 0, true},
	{"Risk batch kernel: revaluation per instrument-scenario", `^kernel\.BenchmarkRevalue$`, "ns/reval", 0, true},
	{"Risk batch kernel: aggregation per position-scenario (AVX)", `^kernel\.BenchmarkAggregate$`, "ns/madd", 0, true},
	{"Account check summary (tail.Account.ResetWith), 10,000 scenarios", `^tail\.BenchmarkAccountResetWith$`, "ns/op", 0, true},
	{"Implied vol solve", `^pricing\.BenchmarkImpliedVol$`, "ns/op", 0, true},
	{"VaR + ES of 10,000 losses (tail.Compute)", `^tail\.BenchmarkCompute$`, "ns/op", 0, true},
	{"Reference epoch, 2 cores, until published (snapshot + batch + instrument summaries; 20 underlyings, 2,000 instruments, 10,000 accounts × 20 positions, 10,000 scenarios)", `^engine\.BenchmarkReferenceEpoch$`, "s/epoch", 1, true},
	{"Reference epoch, 2 cores: the batch alone (reference backend)", `^engine\.BenchmarkReferenceEpoch$`, "batch-s/epoch", 0, true},
	{"Reference epoch, 2 cores, until every account's check summary is built (background)", `^engine\.BenchmarkReferenceEpoch$`, "indexed-s/epoch", 0, true},
	{"Reference epoch on the fixed-point cpu backend (accel/cpu), 2 cores, until published", `^engine\.BenchmarkReferenceEpochCPU$`, "s/epoch", 0, true},
	{"Reference epoch on the cpu backend: the batch alone", `^engine\.BenchmarkReferenceEpochCPU$`, "batch-s/epoch", 0, true},
	{"cpu backend: fixed-point full revaluations per second, one core", `^cpu\.BenchmarkRevalue/full$`, "revals/s", 0, false},
	{"cpu backend: delta-gamma-vega revaluations per second, one core", `^cpu\.BenchmarkRevalue/dgv$`, "revals/s", 0, false},
	{"cpu backend: scenario generation (20 correlated underlyings), one core", `^cpu\.BenchmarkScenarios$`, "scenarios/s", 0, false},
	{"cpu backend: aggregation multiply-adds per second, one core, AVX-512 kernel", `^cpu\.BenchmarkAggregate/avx512$`, "madds/s", 0, false},
	{"cpu backend: aggregation multiply-adds per second, one core, scalar Go", `^cpu\.BenchmarkAggregate/scalar$`, "madds/s", 0, false},
	{"cpu backend: whole risk batch (2,000 instruments, 2,000 accounts, 2,000 scenarios), all cores", `^cpu\.BenchmarkRisk$`, "revals/s", 0, false},
	{"vsim (RTL under Verilator, DMA latency 64 cycles): REVAL device cycles per revaluation, 1 lane", `^device\.BenchmarkVsimRisk$`, "reval-cycles/reval", 0, true},
	{"vsim: AGGTAIL device cycles per position-scenario multiply-add", `^device\.BenchmarkVsimRisk$`, "aggtail-cycles/madd", 0, true},
	{"vsim: SCENGEN device cycles per scenario (20 correlated underlyings)", `^device\.BenchmarkVsimRisk$`, "scengen-cycles/scenario", 0, true},
	{"vsim: GREEKS device cycles per instrument", `^device\.BenchmarkVsimRisk$`, "greeks-cycles/instrument", 0, true},
	{"vsim: simulator speed", `^device\.BenchmarkVsimRisk$`, "sim-cycles/s", 0, false},
	{"PROJECTION at 250 MHz: revaluations/s, 1 lane", `^device\.BenchmarkVsimRisk$`, "proj-revals/s-1lane", 0, false},
	{"PROJECTION at 250 MHz: revaluations/s, 4 lanes (needs a 4 × 8 B/cycle data path)", `^device\.BenchmarkVsimRisk$`, "proj-revals/s-4lanes", 0, false},
	{"PROJECTION at 250 MHz: revaluations/s, 16 lanes (needs a 16 × 8 B/cycle data path)", `^device\.BenchmarkVsimRisk$`, "proj-revals/s-16lanes", 0, false},
	{"PROJECTION at 250 MHz: options priced with Greeks per second, one GREEKS unit", `^device\.BenchmarkVsimRisk$`, "proj-greeks/s", 0, false},
	{"PROJECTION at 250 MHz: reference batch on the device as built (one unit each, 64-bit DMA)", `^device\.BenchmarkVsimRisk$`, "proj-ref-batch-s", 0, true},
	{"PROJECTION: of which AGGTAIL", `^device\.BenchmarkVsimRisk$`, "proj-ref-aggtail-s", 0, true},
	{"Pre-trade check, reference workload, typical order, p50", `^engine\.BenchmarkCheck/typical$`, "p50-ns", 0, true},
	{"Pre-trade check, reference workload, typical order, p99", `^engine\.BenchmarkCheck/typical$`, "p99-ns", 5000, true},
	{"Pre-trade check, reference workload, typical order, p99.9", `^engine\.BenchmarkCheck/typical$`, "p99.9-ns", 0, true},
	{"Pre-trade check, typical order from 64 busy accounts, p50", `^engine\.BenchmarkCheck/typical-hot$`, "p50-ns", 0, true},
	{"Pre-trade check, typical order from 64 busy accounts, p99", `^engine\.BenchmarkCheck/typical-hot$`, "p99-ns", 0, true},
	{"Pre-trade check, typical order, 4 accounts whose vectors stay in cache, p50", `^engine\.BenchmarkCheck/typical-resident$`, "p50-ns", 0, true},
	{"Pre-trade check, typical order, 4 accounts whose vectors stay in cache, p99", `^engine\.BenchmarkCheck/typical-resident$`, "p99-ns", 0, true},
	{"Pre-trade check, new instrument on a held underlying, p99", `^engine\.BenchmarkCheck/new-instrument$`, "p99-ns", 0, true},
	{"Pre-trade check, random instrument and size, p99", `^engine\.BenchmarkCheck/random$`, "p99-ns", 0, true},
}

func main() {
	in := flag.String("in", "-", "go test -bench output `FILE` (- for stdin)")
	cmd := flag.String("cmd", "", "the exact command that produced the input, recorded in the report")
	flag.Parse()
	r := io.Reader(os.Stdin)
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		defer f.Close()
		r = f
	}
	samples, err := collect(r)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	write(os.Stdout, *cmd, samples)
}

// collect returns every value per (benchmark name, unit).
func collect(r io.Reader) (map[string]map[string][]float64, error) {
	out := map[string]map[string][]float64{}
	br := benchfmt.NewReader(r, "bench")
	for br.Scan() {
		res, ok := br.Result().(*benchfmt.Result)
		if !ok {
			continue // a syntax error or unit metadata line
		}
		name := "Benchmark" + string(res.Name.Full())
		name = regexp.MustCompile(`-\d+$`).ReplaceAllString(name, "")
		// Each result is filed under its bare name and under
		// "pkg.Name" (pkg the import path's last element), so a figure can
		// tell apart equally named benchmarks of different packages.
		keys := []string{name}
		if pkg := res.GetConfig("pkg"); pkg != "" {
			keys = append(keys, path.Base(pkg)+"."+name)
		}
		for _, key := range keys {
			if out[key] == nil {
				out[key] = map[string][]float64{}
			}
			for _, v := range res.Values {
				// benchfmt normalizes some units (ns/op → sec/op) and then
				// keeps the original in Orig*; others are only in Unit/Value.
				unit, val := v.OrigUnit, v.OrigValue
				if unit == "" {
					unit, val = v.Unit, v.Value
				}
				out[key][unit] = append(out[key][unit], val)
			}
		}
	}
	return out, br.Err()
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func human(v float64, unit string) string {
	switch {
	case strings.HasSuffix(unit, "/s") && v >= 1e6:
		return fmt.Sprintf("%.1f M %s", v/1e6, unit)
	case strings.HasSuffix(unit, "/s") && v >= 1e3:
		return fmt.Sprintf("%.0f k %s", v/1e3, unit)
	case strings.HasSuffix(unit, "-ns") && v >= 1e3:
		return fmt.Sprintf("%.1f µs (%s)", v/1e3, strings.TrimSuffix(unit, "-ns"))
	case strings.HasSuffix(unit, "-ns"):
		return fmt.Sprintf("%.0f ns (%s)", v, strings.TrimSuffix(unit, "-ns"))
	case (strings.HasPrefix(unit, "ns/") || strings.HasSuffix(unit, "-ns/pkt")) && v < 10:
		return fmt.Sprintf("%.3g %s", v, unit)
	case strings.HasPrefix(unit, "ns/") || strings.HasSuffix(unit, "-ns/pkt"):
		return fmt.Sprintf("%.0f %s", v, unit)
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}

func write(w io.Writer, cmd string, samples map[string]map[string][]float64) {
	fmt.Fprintf(w, "# Ballast benchmark figures\n\n")
	fmt.Fprintf(w, "- date: %s\n", time.Now().UTC().Format(time.RFC3339))
	if cmd != "" {
		fmt.Fprintf(w, "- command: `%s`\n", cmd)
	}
	fmt.Fprintf(w, "- machine: %s, %d logical cores (%d physical), %s/%s, %s\n",
		cpuid.CPU.BrandName, cpuid.CPU.LogicalCores, cpuid.CPU.PhysicalCores, runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(w, "- CPU features: %s\n", strings.Join(keyFeatures(), " "))
	fmt.Fprintf(w, "- cache: L1d %d KiB, L2 %d KiB, L3 %d KiB, line %d bytes\n\n",
		cpuid.CPU.Cache.L1D>>10, cpuid.CPU.Cache.L2>>10, cpuid.CPU.Cache.L3>>10, cpuid.CPU.CacheLine)
	fmt.Fprintf(w, "Each figure is the median over the runs; `n` is the number of runs.\n\n")
	fmt.Fprintln(w, "| figure | median | n | target | met |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, f := range figures {
		re := regexp.MustCompile(f.pattern)
		var vals []float64
		for name, units := range samples {
			if re.MatchString(name) {
				vals = append(vals, units[f.unit]...)
			}
		}
		if len(vals) == 0 {
			fmt.Fprintf(w, "| %s | not run | 0 | %s | |\n", f.name, target(f))
			continue
		}
		m := median(vals)
		met := ""
		if f.target != 0 {
			met = "no"
			if (f.lower && m <= f.target) || (!f.lower && m >= f.target) {
				met = "yes"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s |\n", f.name, human(m, f.unit), len(vals), target(f), met)
	}
}

func target(f figure) string {
	switch {
	case f.target == 0:
		return "—"
	case f.lower:
		return "≤ " + human(f.target, f.unit)
	}
	return "≥ " + human(f.target, f.unit)
}

func keyFeatures() []string {
	var out []string
	for _, f := range []cpuid.FeatureID{cpuid.SSE4, cpuid.AVX, cpuid.AVX2, cpuid.BMI2, cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AESNI} {
		if cpuid.CPU.Supports(f) {
			out = append(out, f.String())
		}
	}
	return out
}
