package httpapi

import (
	"bytes"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ballast-risk/ballast/engine/margin"
)

// Collector adds metrics to GET /metrics: WriteMetrics appends complete
// metric families (# HELP, # TYPE and samples) in the Prometheus text
// exposition format 0.0.4 to w. It is called once per scrape.
type Collector interface {
	WriteMetrics(w io.Writer) error
}

// CollectorFunc adapts a function to Collector.
type CollectorFunc func(w io.Writer) error

// WriteMetrics implements Collector.
func (f CollectorFunc) WriteMetrics(w io.Writer) error { return f(w) }

const (
	statusMin    = 100
	statusCount  = 500 // codes 100..599
	reasonsCount = 16
)

// checkBucketsNs are the upper bounds of the check latency histogram.
var checkBucketsNs = [...]int64{1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
	500_000, 1_000_000, 2_500_000, 10_000_000, 100_000_000}

// metrics holds the server's counters; every field is updated atomically
// and allocation-free.
type metrics struct {
	requests      [routesCount][statusCount]atomic.Uint64
	verdicts      [2][reasonsCount]atomic.Uint64 // [accept][reason]
	checkBuckets  [len(checkBucketsNs) + 1]atomic.Uint64
	checkSumNs    atomic.Int64
	streamClients atomic.Int64
	streamEvents  atomic.Uint64
	streamDropped atomic.Uint64
}

func newMetrics() *metrics { return &metrics{} }

func (m *metrics) request(route, code int) {
	if code < statusMin || code >= statusMin+statusCount {
		code = fasthttp.StatusInternalServerError
	}
	m.requests[route][code-statusMin].Add(1)
}

func (m *metrics) verdict(accept bool, reason uint8) {
	a := 0
	if accept {
		a = 1
	}
	if reason >= reasonsCount {
		reason = reasonsCount - 1
	}
	m.verdicts[a][reason].Add(1)
}

func (m *metrics) checkLatency(d time.Duration) {
	ns := int64(d)
	i := 0
	for i < len(checkBucketsNs) && ns > checkBucketsNs[i] {
		i++
	}
	m.checkBuckets[i].Add(1)
	m.checkSumNs.Add(ns)
}

func writeFamily(b *bytes.Buffer, name, typ, help string) {
	b.WriteString("# HELP ")
	b.WriteString(name)
	b.WriteByte(' ')
	b.WriteString(help)
	b.WriteString("\n# TYPE ")
	b.WriteString(name)
	b.WriteByte(' ')
	b.WriteString(typ)
	b.WriteByte('\n')
}

func writeSample(b *bytes.Buffer, name, labels string, v uint64) {
	b.WriteString(name)
	b.WriteString(labels)
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(v, 10))
	b.WriteByte('\n')
}

func secondsString(ns int64) string {
	return strconv.FormatFloat(float64(ns)/1e9, 'g', -1, 64)
}

// write renders the server's own metric families.
func (m *metrics) write(b *bytes.Buffer) {
	writeFamily(b, "ballast_http_requests_total", "counter", "HTTP requests answered, by route and status code.")
	for r := range m.requests {
		for c := range m.requests[r] {
			if v := m.requests[r][c].Load(); v > 0 {
				writeSample(b, "ballast_http_requests_total",
					`{route="`+routeNames[r]+`",code="`+strconv.Itoa(c+statusMin)+`"}`, v)
			}
		}
	}
	writeFamily(b, "ballast_http_verdicts_total", "counter", "What-if verdicts given over HTTP, by decision and reason.")
	for a, decision := range [2]string{"reject", "accept"} {
		for r := range m.verdicts[a] {
			if v := m.verdicts[a][r].Load(); v > 0 {
				writeSample(b, "ballast_http_verdicts_total",
					`{decision="`+decision+`",reason="`+margin.Reason(r).String()+`"}`, v)
			}
		}
	}
	writeFamily(b, "ballast_http_check_seconds", "histogram", "POST /v1/check handling time (decode, checks, encode).")
	var cum uint64
	for i, ub := range checkBucketsNs {
		cum += m.checkBuckets[i].Load()
		writeSample(b, "ballast_http_check_seconds_bucket", `{le="`+secondsString(ub)+`"}`, cum)
	}
	cum += m.checkBuckets[len(checkBucketsNs)].Load()
	writeSample(b, "ballast_http_check_seconds_bucket", `{le="+Inf"}`, cum)
	b.WriteString("ballast_http_check_seconds_sum ")
	b.WriteString(secondsString(m.checkSumNs.Load()))
	b.WriteByte('\n')
	writeSample(b, "ballast_http_check_seconds_count", "", cum)

	writeFamily(b, "ballast_http_stream_clients", "gauge", "Connected /v1/stream clients.")
	writeSample(b, "ballast_http_stream_clients", "", uint64(max(m.streamClients.Load(), 0)))
	writeFamily(b, "ballast_http_stream_events_total", "counter", "Margin events published to /v1/stream.")
	writeSample(b, "ballast_http_stream_events_total", "", m.streamEvents.Load())
	writeFamily(b, "ballast_http_stream_dropped_total", "counter", "Stream clients disconnected for falling behind.")
	writeSample(b, "ballast_http_stream_dropped_total", "", m.streamDropped.Load())
}

func (s *Server) writeMetrics(ctx *fasthttp.RequestCtx) {
	var b bytes.Buffer
	s.metrics.write(&b)
	ps := s.poll.Stats()
	writeFamily(&b, "ballast_http_busy_poll_reads_total", "counter",
		"HTTP socket reads under Config.BusyPoll (ballastd --http-busy-poll), by outcome: spun (data came while spinning) or parked (in the network poller); 0 when off.")
	writeSample(&b, "ballast_http_busy_poll_reads_total", `{outcome="spun"}`, ps.Spun)
	writeSample(&b, "ballast_http_busy_poll_reads_total", `{outcome="parked"}`, ps.Parked)
	if s.cfg.Collector != nil {
		if err := s.cfg.Collector.WriteMetrics(&b); err != nil {
			writeError(ctx, fasthttp.StatusInternalServerError, "collector failed: "+err.Error())
			return
		}
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	ctx.SetBody(b.Bytes())
}

// CheckLatency returns the POST /v1/check latency histogram: the buckets'
// upper bounds in nanoseconds, ascending, and the counts, one more than the
// bounds (the last counts checks above the last bound). The two slices are
// new; dashboard.NewLatency takes them as they are.
func (s *Server) CheckLatency() (boundsNs []int64, counts []uint64) {
	boundsNs = append([]int64(nil), checkBucketsNs[:]...)
	counts = make([]uint64, len(s.metrics.checkBuckets))
	for i := range counts {
		counts[i] = s.metrics.checkBuckets[i].Load()
	}
	return boundsNs, counts
}
