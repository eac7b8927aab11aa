package main

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict"
)

// epochBucketsS are the upper bounds of the epoch duration histogram.
var epochBucketsS = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

// backendsMax bounds the backends the epoch histogram tracks (cpu,
// reference, a device and its fallback).
const backendsMax = 8

// epochHistograms are epoch durations per backend, for GET /metrics.
type epochHistograms struct {
	mu sync.Mutex
	by map[string]*epochHist
}

type epochHist struct {
	counts [len(epochBucketsS)]uint64
	count  uint64
	sumS   float64
}

func (h *epochHistograms) record(backend string, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.by == nil {
		h.by = map[string]*epochHist{}
	}
	e := h.by[backend]
	if e == nil {
		if len(h.by) >= backendsMax {
			return
		}
		e = &epochHist{}
		h.by[backend] = e
	}
	s := d.Seconds()
	for i, b := range epochBucketsS {
		if s <= b {
			e.counts[i]++
		}
	}
	e.count++
	e.sumS += s
}

func (h *epochHistograms) write(w *bufio.Writer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.by))
	for n := range h.by {
		names = append(names, n)
	}
	sort.Strings(names)
	family(w, "ballast_epoch_duration_seconds", "histogram", "Risk epoch duration (snapshot, batch, indexing), by backend.")
	for _, n := range names {
		e := h.by[n]
		for i, b := range epochBucketsS {
			fmt.Fprintf(w, "ballast_epoch_duration_seconds_bucket{backend=%q,le=%q} %d\n", n, strconv.FormatFloat(b, 'g', -1, 64), e.counts[i])
		}
		fmt.Fprintf(w, "ballast_epoch_duration_seconds_bucket{backend=%q,le=\"+Inf\"} %d\n", n, e.count)
		fmt.Fprintf(w, "ballast_epoch_duration_seconds_sum{backend=%q} %g\n", n, e.sumS)
		fmt.Fprintf(w, "ballast_epoch_duration_seconds_count{backend=%q} %d\n", n, e.count)
	}
}

func family(w *bufio.Writer, name, typ, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func sample(w *bufio.Writer, name, typ, help string, v any) {
	family(w, name, typ, help)
	fmt.Fprintf(w, "%s %v\n", name, v)
}

// writeMetrics appends the appliance's metric families: epochs, notices,
// journal, and (set by the daemon) the feed, ring and accelerator.
func (a *appliance) writeMetrics(out io.Writer) error {
	w := bufio.NewWriter(out)
	m := &a.metrics
	sample(w, "ballast_epochs_total", "counter", "Risk epochs published.", m.epochs.Load())
	sample(w, "ballast_epoch_failures_total", "counter", "Risk epochs that failed.", m.epochFailures.Load())
	sample(w, "ballast_epoch_last_duration_seconds", "gauge", "Duration of the latest risk epoch.", time.Duration(m.lastEpochNs.Load()).Seconds())
	m.epochHist.write(w)
	sample(w, "ballast_margin_notices_total", "counter", "Margin state changes notified.", m.notices.Load())
	sample(w, "ballast_journal_last_seq", "gauge", "Sequence number of the latest durable record.", a.j.LastSeq())
	sample(w, "ballast_snapshots_total", "counter", "Durable snapshots written since start.", m.snapshots.Load())
	ts := a.eng.TickStats()
	family(w, "ballast_engine_ticks_total", "counter", "Ticks the engine took from the ring, by outcome.")
	fmt.Fprintf(w, "ballast_engine_ticks_total{outcome=\"applied\"} %d\n", ts.Applied)
	fmt.Fprintf(w, "ballast_engine_ticks_total{outcome=\"unbound\"} %d\n", ts.Unbound)
	fmt.Fprintf(w, "ballast_engine_ticks_total{outcome=\"empty\"} %d\n", ts.Empty)
	if a.sbeSrv != nil {
		st := a.sbeSrv.Stats()
		sample(w, "ballast_sbe_connections", "gauge", "Open SBE sessions over TCP.", st.Conns)
		sample(w, "ballast_sbe_shm_sessions", "gauge", "Open SBE sessions over shared memory.", st.ShmSessions)
		sample(w, "ballast_sbe_fills_total", "counter", "Fills applied through SBE.", st.FillsApplied)
		family(w, "ballast_sbe_check_seconds", "histogram", "Service time of SBE OrderChecks (decoded request to verdict), both transports.")
		cum := uint64(0)
		for i, b := range verdict.CheckBucketsNs {
			cum += st.CheckCounts[i]
			fmt.Fprintf(w, "ballast_sbe_check_seconds_bucket{le=%q} %d\n", strconv.FormatFloat(float64(b)/1e9, 'g', -1, 64), cum)
		}
		cum += st.CheckCounts[len(verdict.CheckBucketsNs)]
		fmt.Fprintf(w, "ballast_sbe_check_seconds_bucket{le=\"+Inf\"} %d\n", cum)
		fmt.Fprintf(w, "ballast_sbe_check_seconds_sum %g\n", float64(st.CheckSumNs)/1e9)
		fmt.Fprintf(w, "ballast_sbe_check_seconds_count %d\n", cum)
		family(w, "ballast_sbe_busy_poll_reads_total", "counter",
			"SBE/TCP socket reads under verdict.busy_poll, by outcome: spun (data came while spinning) or parked (in the network poller); 0 when off.")
		fmt.Fprintf(w, "ballast_sbe_busy_poll_reads_total{outcome=\"spun\"} %d\n", st.BusyPollSpun)
		fmt.Fprintf(w, "ballast_sbe_busy_poll_reads_total{outcome=\"parked\"} %d\n", st.BusyPollParked)
		family(w, "ballast_sbe_verdicts_total", "counter", "Verdicts answered over SBE (both transports), by reason.")
		for i, n := range st.Verdicts {
			if r := sbe.Reason(i); r.Valid() {
				fmt.Fprintf(w, "ballast_sbe_verdicts_total{reason=%q} %d\n", r.String(), n)
			}
		}
	}
	if a.eng.TickToVerdictStats().Enabled {
		if err := w.Flush(); err != nil {
			return err
		}
		if err := a.eng.WriteTickToVerdictMetrics(w); err != nil {
			return err
		}
	}
	if a.extraMetrics != nil {
		a.extraMetrics(w)
	}
	return w.Flush()
}
