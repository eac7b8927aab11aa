package main

import (
	"bufio"
	"fmt"
	"time"

	"github.com/ballast-risk/ballast/engine/dashboard"
	"github.com/ballast-risk/ballast/feedhandler/source"
)

// attachAppliance connects the appliance to the market-data path: the
// consumer hands every tick to the engine's marks, the feed loop binds each
// book's locate to its underlying, /readyz asks whether the feed is live and
// /metrics gets the feed, ring and accelerator figures.
func (d *daemon) attachAppliance(a *appliance) {
	d.app = a
	d.cons.eng = a.eng
	d.feed.bind = func(locate uint16, sym string) { a.eng.BindLocate(locate, sym) }
	a.feedLive = d.feedLive
	a.extraMetrics = d.writeMetrics
	a.dashFeed = d.dashboardFeed
	a.dashAccel = d.dashboardAccel
	if d.x != nil {
		d.x.onEvent = a.marketEvent
		// The demo exchange stamps ITCH timestamps with the wall-clock
		// send time on this host: tick-to-verdict is measurable. (An
		// external feed's timestamps are the exchange's clock: only with
		// PTP-synchronised clocks would the figure mean anything.)
		a.eng.SetTickToVerdict(true)
	}
}

// dashboardFeed is the feed's part of the dashboard.
func (d *daemon) dashboardFeed() (dashboard.Feed, bool) {
	s := d.feed.snapshot()
	f := dashboard.Feed{Packets: s.counters.Packets, Messages: s.counters.Messages,
		GapsOpened: s.seq.GapsOpened, GapsRecovered: s.seq.GapsRecovered, GapsLost: s.seq.GapsLost,
		RingDepth: d.ticks.Len(), RingCapacity: d.ticks.Cap(), LastTickAgeNs: -1}
	if last := d.cons.lastNs.Load(); last != 0 {
		f.LastTickAgeNs = source.Now() - last
	}
	if live, why := d.feedLive(); !live {
		f.Stale, f.StaleReason = true, why
	}
	return f, true
}

// dashboardAccel is the accelerator's part of the dashboard.
func (d *daemon) dashboardAccel() (dashboard.Accelerator, bool) {
	st := d.accel.state()
	a := dashboard.Accelerator{Backend: st.backend, Healthy: true}
	if st.wrapped {
		a.Degraded = st.health.Degraded
		a.Healthy = st.devErr == "" && !st.refused
		switch {
		case st.devErr != "":
			a.Detail = st.devErr
		case st.health.Degraded:
			a.Detail = "running on the " + st.health.Fallback + " fallback: " + st.health.LastError
		}
	}
	return a, true
}

// feedLive reports whether market data is arriving: a tick within
// feedLiveWindow and no unrecovered gap.
func (d *daemon) feedLive() (bool, string) {
	last := d.cons.lastNs.Load()
	if last == 0 {
		return false, "no market data yet"
	}
	if age := time.Duration(source.Now() - last); age > feedLiveWindow {
		return false, fmt.Sprintf("no market data for %v", age.Round(time.Millisecond))
	}
	if d.feed.snapshot().stale {
		return false, "feed stale: a gap is not recovered"
	}
	return true, ""
}

// writeMetrics appends the feed, ring and accelerator metric families.
func (d *daemon) writeMetrics(w *bufio.Writer) {
	s := d.feed.snapshot()
	c, q := s.counters, s.seq
	sample(w, "ballast_feed_packets_total", "counter", "MoldUDP64 packets received.", c.Packets)
	sample(w, "ballast_feed_messages_total", "counter", "ITCH messages applied (duplicates excluded).", c.Messages)
	sample(w, "ballast_feed_duplicates_total", "counter", "Messages dropped as duplicates.", q.Duplicates)
	sample(w, "ballast_feed_malformed_total", "counter", "Malformed packets and messages skipped.", c.MalformedPackets+c.BadMessages)
	family(w, "ballast_feed_gaps_total", "counter", "Sequence gaps, by outcome.")
	fmt.Fprintf(w, "ballast_feed_gaps_total{outcome=\"opened\"} %d\n", q.GapsOpened)
	fmt.Fprintf(w, "ballast_feed_gaps_total{outcome=\"recovered\"} %d\n", q.GapsRecovered)
	fmt.Fprintf(w, "ballast_feed_gaps_total{outcome=\"lost\"} %d\n", q.GapsLost)
	sample(w, "ballast_feed_lost_messages_total", "counter", "Messages declared lost (gaps not recovered).", q.LostMessages)
	stale := 0
	if s.stale {
		stale = 1
	}
	sample(w, "ballast_feed_stale", "gauge", "1 while a gap is unrecovered (marks are stale).", stale)
	sample(w, "ballast_ring_depth", "gauge", "Ticks waiting in the feed handler's ring.", d.ticks.Len())
	sample(w, "ballast_ring_capacity", "gauge", "Slots of the feed handler's ring.", d.ticks.Cap())
	cs := d.cons.stats(0, true)
	sample(w, "ballast_ticks_total", "counter", "Ticks consumed from the ring.", cs.ticks)
	sample(w, "ballast_tick_latency_p99_seconds", "gauge", "Tick latency (packet receive to consumer), p99 since start.", time.Duration(cs.p99).Seconds())
	st := d.accel.state()
	degraded, healthy := 0, 1
	var primary, fallback, failures uint64 = st.jobs, 0, st.failures
	if st.wrapped {
		h := st.health
		primary, fallback, failures = h.PrimaryJobs, h.FallbackJobs, h.Failures
		if h.Degraded {
			degraded = 1
		}
		if st.devErr != "" || st.refused {
			healthy = 0
		}
	}
	lbl := fmt.Sprintf("{backend=%q}", st.backend)
	family(w, "ballast_accel_healthy", "gauge", "1 when the accelerator answers (cpu: always).")
	fmt.Fprintf(w, "ballast_accel_healthy%s %d\n", lbl, healthy)
	family(w, "ballast_accel_degraded", "gauge", "1 while risk batches run on the cpu fallback.")
	fmt.Fprintf(w, "ballast_accel_degraded%s %d\n", lbl, degraded)
	family(w, "ballast_accel_jobs_total", "counter", "Risk batches completed, by the backend that ran them.")
	fmt.Fprintf(w, "ballast_accel_jobs_total{backend=%q,role=\"primary\"} %d\n", st.backend, primary)
	fmt.Fprintf(w, "ballast_accel_jobs_total{backend=%q,role=\"fallback\"} %d\n", st.backend, fallback)
	family(w, "ballast_accel_failures_total", "counter", "Risk batches the primary backend failed.")
	fmt.Fprintf(w, "ballast_accel_failures_total%s %d\n", lbl, failures)
}
