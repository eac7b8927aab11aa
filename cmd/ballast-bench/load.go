package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/verdict/client"
	"github.com/ballast-risk/ballast/sim/loadgen"
)

// Load bounds.
const (
	// readyTimeout bounds the wait for ballastd to serve.
	readyTimeout = 60 * time.Second
	// stopGrace is how long ballastd gets to exit on SIGTERM.
	stopGrace = 15 * time.Second
	// metricsBytesMax bounds a /metrics body.
	metricsBytesMax = 8 << 20
	// scrapeTimeout bounds one /metrics scrape.
	scrapeTimeout = 2 * time.Second
	// loadQtyMax is the load's largest order quantity.
	loadQtyMax = 10
	// buildTimeout bounds `go build` of ballastd.
	buildTimeout = 5 * time.Minute
)

// loadSpec is one open-loop load run.
type loadSpec struct {
	transport string // tcp, shm, http
	rate      float64
	conns     int
}

func (s loadSpec) name() string { return fmt.Sprintf("%s %s/s", s.transport, rate0(s.rate)) }

// loadConfig configures the appliance figures.
type loadConfig struct {
	root string
	dir  string // the report's directory (ballastd's log goes there)
	// msgRate, scenarios and epochEvery configure ballastd's demo.
	msgRate          float64
	scenarios        int
	epochEvery       time.Duration
	warmup, duration time.Duration
	sample           time.Duration
	seed             uint64
	runs             []loadSpec
}

// applianceArgs are ballastd's flags, with tmp the working directory and
// token the admin secret (applianceLine passes "SECRET" so the report never
// shows the real one).
func (c *loadConfig) applianceArgs(tmp, sbe, httpAddr, token string) []string {
	return []string{"--data", filepath.Join(tmp, "data"), "--sbe", sbe, "--http", httpAddr, "--shm", filepath.Join(tmp, "shm"),
		"--token", "admin=" + token, "--msg-rate", strconv.FormatFloat(c.msgRate, 'f', -1, 64),
		"--scenarios", strconv.Itoa(c.scenarios), "--epoch-every", c.epochEvery.String(), "--stats-every", "1h"}
}

// applianceLine is the appliance's command line as the report shows it.
func (c *loadConfig) applianceLine() string {
	args := c.applianceArgs("TMP", "127.0.0.1:PORT", "127.0.0.1:PORT", "SECRET")
	return "ballastd " + strings.Join(args, " ")
}

// appliance is a running ballastd.
type appliance struct {
	cmd      *exec.Cmd
	tmp      string
	sbe      string
	httpURL  string
	shm      string
	token    string
	exited   chan struct{}
	exitErr  error
	stopOnce sync.Once
}

// freePort returns a loopback address with a port free right now.
func freePort() (string, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// errBuild reports a ballastd that does not build (the load figures are
// then skipped with the compiler's words).
var errBuild = errors.New("building ballastd failed")

// startAppliance builds ballastd into a temporary directory and starts it
// with the demo universe and feed, logging to logPath.
func startAppliance(ctx context.Context, c *loadConfig, logPath string) (*appliance, error) {
	tmp, err := os.MkdirTemp("", "ballast-bench-")
	if err != nil {
		return nil, err
	}
	bctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	build := exec.CommandContext(bctx, "go", "build", "-o", filepath.Join(tmp, "ballastd"), "./cmd/ballastd")
	build.Dir = c.root
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("%w: %v: %s", errBuild, err, lastLines(string(out), 6))
	}
	sbe, err := freePort()
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	httpAddr, err := freePort()
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	var secret [16]byte
	if _, err := rand.Read(secret[:]); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	a := &appliance{tmp: tmp, sbe: sbe, httpURL: "http://" + httpAddr, shm: filepath.Join(tmp, "shm"),
		token: hex.EncodeToString(secret[:]), exited: make(chan struct{})}
	logf, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	a.cmd = exec.Command(filepath.Join(tmp, "ballastd"), c.applianceArgs(tmp, sbe, httpAddr, a.token)...)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	if err := a.cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	go func() {
		a.exitErr = a.cmd.Wait()
		logf.Close()
		close(a.exited)
	}()
	if err := a.waitReady(ctx); err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

// waitReady waits until the HTTP API lists accounts.
func (a *appliance) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-a.exited:
			return fmt.Errorf("ballastd exited before serving: %v", a.exitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, _, last = loadgen.Discover(dctx, a.httpURL, a.token)
		cancel()
		if last == nil {
			return nil
		}
	}
	return fmt.Errorf("ballastd not serving after %v: %v", readyTimeout, last)
}

// stop terminates ballastd (SIGTERM, then SIGKILL after stopGrace) and
// removes its directory.
func (a *appliance) stop() error {
	var err error
	a.stopOnce.Do(func() {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.exited:
		case <-time.After(stopGrace):
			_ = a.cmd.Process.Kill()
			<-a.exited
			err = fmt.Errorf("ballastd did not stop within %v of SIGTERM", stopGrace)
		}
		if rerr := os.RemoveAll(a.tmp); err == nil {
			err = rerr
		}
	})
	return err
}

// scrape reads /metrics into sample name (with labels) → value.
func (a *appliance) scrape(ctx context.Context) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.httpURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseMetrics(io.LimitReader(resp.Body, metricsBytesMax))
}

// parseMetrics reads the Prometheus text format's samples (timestamps and
// comments ignored; unparsable lines skipped).
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// The value follows the last space outside the labels.
		end := strings.LastIndexByte(line, '}')
		rest := line[max(end, 0):]
		sp := strings.IndexByte(rest, ' ')
		if sp < 0 {
			continue
		}
		name := strings.TrimSpace(line[:max(end, 0)+sp])
		fields := strings.Fields(rest[sp:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		out[name] = v
	}
	return out, sc.Err()
}

// sumFamily sums the samples of a family (every label set).
func sumFamily(m map[string]float64, family string) float64 {
	s := 0.0
	for k, v := range m {
		if k == family || strings.HasPrefix(k, family+"{") {
			s += v
		}
	}
	return s
}

// verdictsTotal is the appliance's verdicts answered so far, all
// transports.
func verdictsTotal(m map[string]float64) float64 {
	return sumFamily(m, "ballast_sbe_verdicts_total") + sumFamily(m, "ballast_http_verdicts_total")
}

// histogramFromMetrics reads a Prometheus histogram in seconds (cumulative
// le buckets) into a Histogram in nanoseconds; ok is false when the family
// is absent or empty.
func histogramFromMetrics(m map[string]float64, family string) (Histogram, bool) {
	type bucket struct {
		le  float64
		cum float64
	}
	var bs []bucket
	prefix := family + `_bucket{le="`
	for k, v := range m {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		le, _, _ := strings.Cut(rest, `"`)
		x := math.Inf(1)
		if le != "+Inf" {
			var err error
			if x, err = strconv.ParseFloat(le, 64); err != nil {
				continue
			}
		}
		bs = append(bs, bucket{x, v})
	}
	if len(bs) == 0 {
		return Histogram{}, false
	}
	slices.SortFunc(bs, func(a, b bucket) int { return cmp.Compare(a.le, b.le) })
	var h Histogram
	prev := 0.0
	for _, b := range bs {
		ns := int64(math.MaxInt64)
		if !math.IsInf(b.le, 1) {
			ns = int64(math.Round(b.le * 1e9))
		}
		h.BoundsNs = append(h.BoundsNs, ns)
		h.Counts = append(h.Counts, uint64(max(0, b.cum-prev)))
		prev = b.cum
	}
	return h, prev > 0
}

// loadResults are the appliance figures' data.
type loadResults struct {
	latency    []LatencyRun
	throughput []Series
	t2v        *LatencyRun // the appliance's own tick-to-verdict, when it exports it
	skips      []Skip
}

// runLoad starts ballastd and drives each run of c against it with
// sim/loadgen's open loop, sampling the appliance's verdict counters every
// c.sample for the throughput series.
func runLoad(ctx context.Context, c *loadConfig, progress func(float64)) (*loadResults, error) {
	res := &loadResults{}
	a, err := startAppliance(ctx, c, filepath.Join(c.dir, "ballastd.log"))
	if errors.Is(err, errBuild) {
		res.skips = append(res.skips, Skip{What: "every load run", Reason: err.Error()})
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	defer a.stop()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	accts, insts, err := loadgen.Discover(dctx, a.httpURL, a.token)
	cancel()
	if err != nil {
		return nil, err
	}
	if n := loadgen.SpecsMax / len(insts); len(accts) > n {
		accts = accts[:n]
	}
	mix, err := loadgen.CrossMix(accts, insts, 0, 1, loadQtyMax)
	if err != nil {
		return nil, err
	}
	for i, s := range c.runs {
		run, series, err := c.loadRun(ctx, a, s, mix, func(f float64) {
			progress((float64(i) + f) / float64(len(c.runs)))
		})
		if err != nil {
			res.skips = append(res.skips, Skip{What: s.name(), Reason: err.Error()})
			continue
		}
		res.latency = append(res.latency, run)
		res.throughput = append(res.throughput, series)
	}
	if m, err := a.scrape(ctx); err == nil {
		if h, ok := histogramFromMetrics(m, engine.TickToVerdictMetric); ok {
			r := latencyFromHistogram("ballastd (its /metrics)", h)
			r.Note = "the appliance's own " + engine.TickToVerdictMetric + " over its whole life, load runs included"
			res.t2v = &r
		}
	}
	if err := a.stop(); err != nil {
		return res, err
	}
	return res, nil
}

// latencyFromHistogram summarises a histogram as a LatencyRun.
func latencyFromHistogram(name string, h Histogram) LatencyRun {
	r := LatencyRun{Name: name, Histogram: &h, Percentiles: percentilesOf(h, curvePercentiles)}
	for i, n := range h.Counts {
		r.Count += int64(n)
		if n > 0 {
			r.MaxNs = h.BoundsNs[i]
			if r.MaxNs == math.MaxInt64 && i > 0 {
				r.MaxNs = h.BoundsNs[i-1]
			}
		}
	}
	return r
}

// target returns the transport of spec s against a.
func (a *appliance) target(s loadSpec) (loadgen.Target, error) {
	copts := client.Options{RecvMax: max(loadgen.DefaultInflightMax, client.DefaultRecvMax)}
	switch s.transport {
	case "tcp":
		return &loadgen.TCPTarget{Addr: a.sbe, Token: a.token, Options: copts}, nil
	case "shm":
		return &loadgen.ShmTarget{Dir: a.shm, Token: a.token, Options: copts}, nil
	case "http":
		return &loadgen.HTTPTarget{URL: a.httpURL, Token: a.token, QueueMax: loadgen.DefaultInflightMax}, nil
	}
	return nil, fmt.Errorf("%w: transport %q", errUsage, s.transport)
}

// loadRun is one open-loop run with the throughput sampled alongside.
func (c *loadConfig) loadRun(ctx context.Context, a *appliance, s loadSpec, mix loadgen.Mix, progress func(float64)) (LatencyRun, Series, error) {
	t, err := a.target(s)
	if err != nil {
		return LatencyRun{}, Series{}, err
	}
	series := Series{Name: s.name(), Unit: "verdicts/s"}
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		total := c.warmup + c.duration
		tk := time.NewTicker(c.sample)
		defer tk.Stop()
		var lastT time.Time
		var lastV float64
		for {
			m, err := a.scrape(sctx)
			now := time.Now()
			if err == nil {
				v := verdictsTotal(m)
				if !lastT.IsZero() {
					series.Points = append(series.Points, Point{T: now.Sub(start).Seconds(), V: (v - lastV) / now.Sub(lastT).Seconds()})
				}
				lastT, lastV = now, v
			}
			progress(min(0.99, now.Sub(start).Seconds()/total.Seconds()))
			select {
			case <-sctx.Done():
				return
			case <-tk.C:
			}
		}
	}()
	res, err := loadgen.Run(ctx, t, loadgen.Options{Rate: s.rate, Seed: c.seed, Warmup: c.warmup, Duration: c.duration,
		Conns: max(1, s.conns), Mix: mix, Note: "ballastd on this host: the load generator, the appliance and its simulated feed share the cores"})
	stop()
	wg.Wait()
	if err != nil && res.Mode == "" {
		return LatencyRun{}, series, err
	}
	l := res.Latency
	run := LatencyRun{Name: s.name(), Transport: s.transport, Rate: s.rate, Achieved: res.AchievedRate, Count: l.Count,
		MeanNs: l.MeanNs, MaxNs: l.Max, Errors: res.Errors, Lost: res.Lost, Mismatches: res.Mismatches, Load: &res,
		Percentiles: []Percentile{{P: 50, Ns: l.P50}, {P: 90, Ns: l.P90}, {P: 99, Ns: l.P99}, {P: 99.9, Ns: l.P999}, {P: 99.99, Ns: l.P9999}}}
	if res.Lag != nil {
		run.Late = res.Lag.Late
	}
	if err != nil {
		run.Note = "run ended early: " + err.Error()
	}
	if res.Aborted != "" {
		run.Note = "aborted: " + res.Aborted
	}
	return run, series, nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
