package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/ballast-risk/ballast/engine/verdict/client"
	"github.com/ballast-risk/ballast/sim/loadgen"
)

const loadSynopsis = `Usage: ballast-sim load --transport tcp|shm|http [--addr HOST:PORT | --shm-dir DIR | --http URL] [flags]

Drives a verdict server with load and prints the result (a human summary,
or with --json one JSON object holding the result and the command line).

Modes:
  open   open-loop OrderChecks at --rate per second (fixed gaps, or Poisson
         with --poisson); each latency is measured from the request's
         INTENDED send time, so a stall shows up as queueing; the summary
         says how many requests the sender sent late and how far behind it got
  max    closed loop: --inflight pipelined checks outstanding on each of
         --conns connections; reports the sustained checks/s
  fills  closed loop: --conns writers each with --inflight (default 1) Fills
         of unique execIds outstanding; reports durable fills/s and ack latency
  open-fills
         open-loop Fills at --rate per second, as a matching engine reports
         executions: latency from each fill's intended send time to its
         durable Ack (run it beside an open-mode run for checks and fills)

Over shm (--shm-direct, the default) each session is a client.Direct with
no goroutine of its own, and the open-loop sender polls every session for
answers while it waits for the next send time: the load generator is one
busy goroutine. --shm-direct=false uses client.Conn, which runs a reader
goroutine per session (plus a receiver per session in the load generator).
Over tcp in open loop (--tcp-direct, the default) likewise: each session
is a client.Direct whose socket the sender reads without waiting, so no
answer waits for a goroutine to be woken; max and fills modes, and
--tcp-direct=false, use client.Conn. Over http in open loop (--http-direct,
the default, plain http only) each session is a client.HTTPDirect, a
keep-alive connection the sender writes and reads without waiting;
otherwise fasthttp's client with a worker goroutine per session. Either
way a connection carries one request at a time and queues the rest.

Orders are drawn deterministically (--seed) from --accounts x --instruments
at --price (0: at the mark) with quantities log-uniform in [--qty-min,
--qty-max]; without --accounts or --instruments they are discovered through
the HTTP API (--http, GET /v1/accounts and /v1/instruments). The token
comes from --token or $BALLAST_TOKEN.

Flags:
`

// loadOpts are the load subcommand's flags.
type loadOpts struct {
	transport, addr, shmDir, httpURL, token, mode      string
	rate                                               float64
	poisson, jsonOut, shmDirect, tcpDirect, httpDirect bool
	duration, warmup, late, drain                      time.Duration
	conns, inflight, batch                             int
	seed, execBase                                     uint64
	accounts, instruments                              string
	price, qtyMin, qtyMax                              int64
}

func loadFlags() (*flag.FlagSet, *loadOpts) {
	o := &loadOpts{}
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.StringVar(&o.transport, "transport", "tcp", "tcp, shm or http")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:9070", "SBE server address (tcp; ballastd --sbe)")
	fs.StringVar(&o.shmDir, "shm-dir", "/dev/shm/ballast", "the server's shared-memory slot directory (shm; ballastd --shm)")
	fs.BoolVar(&o.shmDirect, "shm-direct", true, "shm: sessions without goroutines (client.DialShmDirect), polled by the open-loop sender; false: client.DialShm with a reader goroutine per session")
	fs.BoolVar(&o.httpDirect, "http-direct", true, "http, open loop, plain http: sessions without goroutines (client.DialHTTPDirect: the sender writes each request and reads its answer without waiting); false, and always in max and fills modes or over https: fasthttp's client with a worker goroutine per session")
	fs.BoolVar(&o.tcpDirect, "tcp-direct", true, "tcp, open loop: sessions without goroutines (client.DialDirect: non-blocking socket reads polled by the sender); false, and always in max and fills modes: client.Dial with a reader goroutine per session")
	fs.StringVar(&o.httpURL, "http", "", "HTTP API base URL, e.g. http://127.0.0.1:8080 (http transport, and discovery)")
	fs.StringVar(&o.token, "token", "", "bearer token (default $BALLAST_TOKEN)")
	fs.StringVar(&o.mode, "mode", "open", "open, open-fills, max or fills")
	fs.Float64Var(&o.rate, "rate", 10_000, "open loop: arrivals per second")
	fs.BoolVar(&o.poisson, "poisson", false, "open loop: Poisson arrivals (exponential gaps) instead of fixed gaps")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured duration")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up before the measured duration (sent, not measured)")
	fs.IntVar(&o.conns, "conns", 1, "connections (fills: writers)")
	fs.IntVar(&o.inflight, "inflight", 0, fmt.Sprintf("bound on outstanding requests per connection (0: %d; fills: 1)", loadgen.DefaultInflightMax))
	fs.IntVar(&o.batch, "flush-batch", loadgen.DefaultFlushBatchMax, "requests queued on a connection before a write when behind")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the schedule and the orders")
	fs.StringVar(&o.accounts, "accounts", "", "comma-separated account ids (default: discovered over --http)")
	fs.StringVar(&o.instruments, "instruments", "", "comma-separated instrument ids (default: discovered over --http)")
	fs.Int64Var(&o.price, "price", 0, "limit price in 1/10,000 (0: at the mark; fills use 1 then)")
	fs.Int64Var(&o.qtyMin, "qty-min", 1, "smallest order quantity")
	fs.Int64Var(&o.qtyMax, "qty-max", 100_000, "largest order quantity (large orders get margin rejects)")
	fs.DurationVar(&o.late, "late-threshold", loadgen.DefaultLateThreshold, "open loop: lag beyond which a request counts as sent late")
	fs.DurationVar(&o.drain, "drain-timeout", loadgen.DefaultDrainTimeout, "wait for outstanding answers at the end (and the longest wait for window room)")
	fs.Uint64Var(&o.execBase, "exec-id-base", 0, "fills: first execId (0: the current Unix time in ns)")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object instead of the summary")
	fs.Usage = usageFunc(fs, loadSynopsis)
	return fs, o
}

// loadOutput is --json's object.
type loadOutput struct {
	Command []string       `json:"command"`
	Result  loadgen.Result `json:"result"`
}

func runLoad(args []string, stdout, stderr io.Writer) error {
	fs, o := loadFlags()
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	switch o.mode {
	case "open", "open-fills", "max", "fills":
	default:
		return fmt.Errorf("%w: --mode %q: want open, open-fills, max or fills", errUsage, o.mode)
	}
	if o.conns < 1 || o.inflight < 0 {
		return fmt.Errorf("%w: --conns %d, --inflight %d: want conns >= 1, inflight >= 0", errUsage, o.conns, o.inflight)
	}
	if o.token == "" {
		o.token = os.Getenv("BALLAST_TOKEN")
	}
	if o.token == "" {
		return fmt.Errorf("%w: --token or $BALLAST_TOKEN is required", errUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	target, note, err := o.target()
	if err != nil {
		return err
	}
	mix, err := o.mix(ctx)
	if err != nil {
		return err
	}
	opts := loadgen.Options{Rate: o.rate, Poisson: o.poisson, Seed: o.seed, Warmup: o.warmup, Duration: o.duration,
		Conns: o.conns, InflightMax: o.inflight, Mix: mix, LateThreshold: o.late, DrainTimeout: o.drain,
		FlushBatchMax: o.batch, ExecIDBase: o.execBase, Note: note}
	var res loadgen.Result
	switch o.mode {
	case "open":
		res, err = loadgen.Run(ctx, target, opts)
	case "open-fills":
		res, err = loadgen.RunOpenFills(ctx, target, opts)
	case "max":
		res, err = loadgen.RunMax(ctx, target, opts)
	default:
		res, err = loadgen.RunFills(ctx, target, opts)
	}
	if errors.Is(err, loadgen.ErrOptions) || errors.Is(err, loadgen.ErrMix) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if res.Mode == "" { // nothing ran
		return err
	}
	if o.jsonOut {
		line, jerr := json.Marshal(loadOutput{Command: commandLine(args), Result: res})
		if jerr != nil {
			return jerr
		}
		if _, werr := stdout.Write(append(line, '\n')); werr != nil {
			return werr
		}
	} else {
		printLoadSummary(stdout, &res)
	}
	if err == nil && (res.Lost > 0 || res.Mismatches > 0) {
		err = fmt.Errorf("%d requests lost and %d answers mismatched", res.Lost, res.Mismatches)
	}
	return err
}

// commandLine is the command as run, with a --token value redacted.
func commandLine(args []string) []string {
	out := []string{"ballast-sim", "load"}
	redact := false
	for _, a := range args {
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case redact:
			a, redact = "REDACTED", false
		case strings.HasPrefix(a, "-") && name == "token" && hasValue:
			a = a[:strings.IndexByte(a, '=')+1] + "REDACTED"
		case strings.HasPrefix(a, "-") && name == "token":
			redact = true
		}
		out = append(out, a)
	}
	return out
}

// target builds the transport and the result's note on where the server
// runs.
func (o *loadOpts) target() (loadgen.Target, string, error) {
	window := o.inflight
	if window <= 0 {
		window = loadgen.DefaultInflightMax
	}
	copts := client.Options{RecvMax: max(window, client.DefaultRecvMax)}
	local := fmt.Sprintf("server on this host: the load generator and the server share its %d CPUs", loadgen.ThisHost().NumCPU)
	switch o.transport {
	case "tcp":
		if o.addr == "" {
			return nil, "", fmt.Errorf("%w: --addr is required for tcp", errUsage)
		}
		note := ""
		if isLoopback(o.addr) {
			note = local + "; "
		}
		direct := o.tcpDirect && (o.mode == "open" || o.mode == "open-fills")
		if direct {
			note += "tcp client: client.Direct (no goroutines; the sender polls every socket)"
		} else {
			note += "tcp client: pipelined client.Conn (a reader goroutine per session)"
		}
		return &loadgen.TCPTarget{Addr: o.addr, Token: o.token, Options: copts, Direct: direct}, note, nil
	case "shm":
		if o.shmDir == "" {
			return nil, "", fmt.Errorf("%w: --shm-dir is required for shm", errUsage)
		}
		note := local + "; shm client: pipelined client.Conn (a reader goroutine per session)"
		if o.shmDirect {
			note = local + "; shm client: client.Direct (no goroutines; open loop: the sender polls every session)"
		}
		return &loadgen.ShmTarget{Dir: o.shmDir, Token: o.token, Options: copts, Direct: o.shmDirect}, note, nil
	case "http":
		if o.httpURL == "" {
			return nil, "", fmt.Errorf("%w: --http is required for http", errUsage)
		}
		u, err := url.Parse(o.httpURL)
		if err != nil || u.Host == "" {
			return nil, "", fmt.Errorf("%w: --http %q: want http://host:port", errUsage, o.httpURL)
		}
		note := ""
		if isLoopback(u.Host) {
			note = local
		}
		direct := o.httpDirect && u.Scheme == "http" && (o.mode == "open" || o.mode == "open-fills")
		if note != "" {
			note += "; "
		}
		if direct {
			note += "http client: client.HTTPDirect (no goroutines; the sender polls every connection; one request in flight per connection)"
		} else {
			note += "http client: fasthttp (a worker goroutine per connection; one request in flight per connection)"
		}
		return &loadgen.HTTPTarget{URL: strings.TrimRight(o.httpURL, "/"), Token: o.token, QueueMax: window, Direct: direct}, note, nil
	}
	return nil, "", fmt.Errorf("%w: --transport %q: want tcp, shm or http", errUsage, o.transport)
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// mix builds the order mix from the flags, discovering what is missing.
func (o *loadOpts) mix(ctx context.Context) (loadgen.Mix, error) {
	accts, err := parseIDs(o.accounts, "--accounts", 64)
	if err != nil {
		return loadgen.Mix{}, err
	}
	insts32, err := parseIDs(o.instruments, "--instruments", 32)
	if err != nil {
		return loadgen.Mix{}, err
	}
	insts := make([]uint32, len(insts32))
	for i, v := range insts32 {
		insts[i] = uint32(v)
	}
	if len(accts) == 0 || len(insts) == 0 {
		if o.httpURL == "" {
			return loadgen.Mix{}, fmt.Errorf("%w: give --accounts and --instruments, or --http to discover them", errUsage)
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		da, di, err := loadgen.Discover(dctx, strings.TrimRight(o.httpURL, "/"), o.token)
		cancel()
		if err != nil {
			return loadgen.Mix{}, err
		}
		if len(accts) == 0 {
			accts = da
		}
		if len(insts) == 0 {
			insts = di
		}
	}
	m, err := loadgen.CrossMix(accts, insts, o.price, o.qtyMin, o.qtyMax)
	if err != nil {
		return m, fmt.Errorf("%w: %v", errUsage, err)
	}
	return m, nil
}

// parseIDs parses a comma-separated list of at most loadgen.SpecsMax
// unsigned ids of the given bit size.
func parseIDs(s, flagName string, bitSize int) ([]uint64, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > loadgen.SpecsMax {
		return nil, fmt.Errorf("%w: %s lists %d ids (at most %d)", errUsage, flagName, len(parts), loadgen.SpecsMax)
	}
	ids := make([]uint64, 0, len(parts))
	for _, p := range parts {
		v, err := strconv.ParseUint(strings.TrimSpace(p), 10, bitSize)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %q is not an id", errUsage, flagName, p)
		}
		ids = append(ids, v)
	}
	return ids, nil
}

// printLoadSummary writes the human summary.
func printLoadSummary(w io.Writer, r *loadgen.Result) {
	us := func(ns int64) string { return strconv.FormatFloat(float64(ns)/1e3, 'f', 1, 64) + " µs" }
	switch r.Mode {
	case "open":
		pois := ""
		if r.Poisson {
			pois = " (Poisson)"
		}
		fmt.Fprintf(w, "open loop over %s: %.0f checks/s target%s, achieved %.0f/s, %d conns, window %d per conn\n",
			r.Transport, r.Rate, pois, r.AchievedRate, r.Conns, r.InflightMax)
	case "max":
		fmt.Fprintf(w, "max throughput over %s: %.0f checks/s sustained, %d conns x %d in flight\n",
			r.Transport, r.AchievedRate, r.Conns, r.InflightMax)
	case "fills":
		fmt.Fprintf(w, "durable fills over %s: %.0f fills/s, %d writers x %d in flight, execIds from %d\n",
			r.Transport, r.AchievedRate, r.Conns, r.InflightMax, r.ExecIDBase)
	case "open-fills":
		fmt.Fprintf(w, "open-loop durable fills over %s: %.0f fills/s target, achieved %.0f/s, %d conns, window %d per conn, execIds from %d\n",
			r.Transport, r.Rate, r.AchievedRate, r.Conns, r.InflightMax, r.ExecIDBase)
	}
	fmt.Fprintf(w, "  duration %v after %v warm-up; sent %d, received %d, lost %d, errors %d, mismatches %d\n",
		time.Duration(r.DurationNs), time.Duration(r.WarmupNs), r.Sent, r.Received, r.Lost, r.Errors, r.Mismatches)
	if len(r.ErrorCodes) > 0 {
		fmt.Fprintf(w, "  error codes: %v\n", r.ErrorCodes)
	}
	from := "actual send (closed loop)"
	if r.Mode == "open" {
		from = "intended send"
	}
	l := r.Latency
	fmt.Fprintf(w, "  latency from %s, %d samples: p50 %s  p90 %s  p99 %s  p99.9 %s  p99.99 %s  max %s  mean %.1f µs\n",
		from, l.Count, us(l.P50), us(l.P90), us(l.P99), us(l.P999), us(l.P9999), us(l.Max), l.MeanNs/1e3)
	if r.Lag != nil {
		fmt.Fprintf(w, "  sender: %d requests sent over %s late; lag p50 %s p99 %s p99.9 %s, max behind %s\n",
			r.Lag.Late, us(r.Lag.ThresholdNs), us(r.Lag.P50Ns), us(r.Lag.P99Ns), us(r.Lag.P999Ns), us(r.Lag.MaxBehindNs))
	}
	if r.Accepts+r.Rejects > 0 {
		fmt.Fprintf(w, "  verdicts: %d accepts, %d rejects %v\n", r.Accepts, r.Rejects, r.Reasons)
	}
	fmt.Fprintf(w, "  host: %s, %d CPUs, GOMAXPROCS %d, %s\n", r.Host.CPU, r.Host.NumCPU, r.Host.GOMAXPROCS, r.Host.GoVersion)
	if r.Note != "" {
		fmt.Fprintf(w, "  note: %s\n", r.Note)
	}
	if r.Aborted != "" {
		fmt.Fprintf(w, "  ABORTED: %s\n", r.Aborted)
	}
}
