// Command ballastd is the Ballast risk appliance.
//
// It receives an exchange's MoldUDP64/ITCH 5.0 market data over UDP, keeps
// the order books with the feed handler (gap detection and recovery through
// the exchange's re-request server included) and hands top-of-book ticks
// through a lock-free ring to the marks table, measuring tick latency from
// packet arrival to the consumer.
//
// With no arguments (or --demo, the default) it also runs the simulated
// exchange in-process: a seeded ITCH session paced onto loopback UDP, with a
// re-request server and optional deliberate packet loss, so that `make run`
// shows the whole path working. With --demo=false it listens on --feed for
// an external exchange (for example `ballast-sim send`) whose re-request
// server is --rerequest.
//
// --accel picks the backend the risk batches run on: cpu (the default), vsim
// (the Verilator simulation of the RTL, a supervised child process) or fpga
// (the card); a device is wrapped with the cpu backend as its fallback. At
// start-up a boot check runs one small deterministic risk batch on the chosen
// backend and requires it to equal the cpu backend's bit for bit; an absent
// device or a disagreeing one stops the start-up.
//
// Every --stats-every it logs one line of feed, tick and accelerator
// statistics; on SIGINT or SIGTERM (or after --duration) it closes the
// simulated session, drains the feed, logs a final summary, closes the
// accelerator (stopping the simulator) and exits 0. A second signal stops
// it at once. Exit status: 0 on success, 1 on a runtime failure, 2 on a
// usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ballast-risk/ballast/accel/vsim"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/udpsend"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// Flag defaults and bounds.
const (
	defaultMsgRate    = 20_000
	defaultStatsEvery = 5 * time.Second
	statsEveryMin     = 10 * time.Millisecond
	statsEveryMax     = 24 * time.Hour
	// dropRateMax keeps some packets flowing: a feed that loses every
	// packet has nothing to recover from.
	dropRateMax = 0.9
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default action so that a
		// second one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the parsed command line.
type options struct {
	demo       bool
	feed       string
	rerequest  string
	symbols    int
	msgRate    float64
	dropRate   float64
	seed       uint64
	statsEvery time.Duration
	duration   time.Duration
	logFormat  string
	accel      accelConfig
	app        applianceConfig

	feedAddr      netip.AddrPort // resolved --feed
	rerequestAddr netip.AddrPort // resolved --rerequest; invalid when none
}

const synopsis = `Usage: ballastd [flags]

Runs the Ballast appliance's market-data path: MoldUDP64/ITCH 5.0 over UDP
into the feed handler's order books, ticks through the ring into the marks
table. With --demo (the default) an in-process simulated exchange sends the
feed over loopback and answers retransmission requests.

Flags:
`

func newFlags(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("ballastd", flag.ContinueOnError)
	fs.BoolVar(&o.demo, "demo", true, "run the simulated exchange in-process and feed it to the feed handler")
	fs.StringVar(&o.feed, "feed", "127.0.0.1:0", "IPv4 address:port the feed handler listens on (port 0: any free port)")
	fs.StringVar(&o.rerequest, "rerequest", "", "with --demo=false: the exchange's MoldUDP64 re-request server, address:port (none: gaps are reported lost)")
	fs.IntVar(&o.symbols, "symbols", itchgen.DefaultSymbolCount, "simulated exchange: number of symbols")
	fs.Float64Var(&o.msgRate, "msg-rate", defaultMsgRate, "simulated exchange: ITCH messages per second (0: as fast as possible)")
	fs.Float64Var(&o.dropRate, "drop-rate", 0, "simulated exchange: probability that a data packet is deliberately lost, to exercise gap recovery")
	fs.Uint64Var(&o.seed, "seed", 1, "simulated exchange: seed of the session and of the drops")
	fs.DurationVar(&o.statsEvery, "stats-every", defaultStatsEvery, "interval of the statistics log line")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long, as on SIGTERM (0: run until a signal)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.accel.kind, "accel", accelCPU, "risk backend: cpu, vsim (Verilator simulation; binary $"+vsim.EnvBinary+
		" or hdl/build/ballast-vsim) or fpga (the card); a device falls back to cpu when it fails")
	o.app.tokens = tokenFlags{}
	fs.StringVar(&o.app.dataDir, "data", defaultDataDir, "directory of the durable state (journal and snapshots), created when missing")
	fs.StringVar(&o.app.httpAddr, "http", defaultHTTPAddr, "HTTP API and dashboard address (empty: off)")
	fs.StringVar(&o.app.sbeAddr, "sbe", defaultSBEAddr, "binary verdict protocol (SBE over TCP) address (empty: off)")
	fs.StringVar(&o.app.shmDir, "shm", defaultShmDir, "directory of the shared-memory verdict sessions (empty: off)")
	fs.IntVar(&o.app.shmSlots, "shm-slots", defaultShmSlots, "shared-memory verdict sessions offered (one client each)")
	fs.Var(o.app.tokens, "token", "ROLE=SECRET bearer token, repeatable; ROLE is admin, ops or firm:<id> (none: demo tokens are made and printed)")
	fs.StringVar(&o.app.masterFile, "master", "", "instrument master file (with --accounts; default with --demo: the generated demo universe)")
	fs.StringVar(&o.app.accountsFile, "accounts", "", "accounts file (with --master)")
	fs.StringVar(&o.app.attestorsFile, "attestors", "", "attestation allow-list file (JSON; none: attestations are refused)")
	fs.IntVar(&o.app.scenarios, "scenarios", 0, "Monte Carlo scenarios per risk epoch (0: the engine's default)")
	fs.DurationVar(&o.app.epochEvery, "epoch-every", defaultEpochEvery, "risk epoch period")
	fs.DurationVar(&o.app.snapshotEvery, "snapshot-every", defaultSnapshotEvery, "durable snapshot period")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// errHelp reports that the usage was printed on request.
var errHelp = errors.New("help requested")

// parseArgs parses and validates args; -h prints the usage to stdout and
// returns errHelp.
func parseArgs(args []string, stdout io.Writer) (options, error) {
	var o options
	fs := newFlags(&o)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return o, errHelp
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	if o.feedAddr, err = resolveIPv4(o.feed); err != nil {
		return o, fmt.Errorf("--feed: %w", err)
	}
	if o.feedAddr.Addr().IsMulticast() {
		return o, fmt.Errorf("--feed %s: a unicast address is required", o.feed)
	}
	if o.demo {
		for _, name := range []string{"rerequest"} {
			if set[name] {
				return o, fmt.Errorf("--%s applies only with --demo=false", name)
			}
		}
	} else {
		for _, name := range []string{"symbols", "msg-rate", "drop-rate", "seed"} {
			if set[name] {
				return o, fmt.Errorf("--%s applies only to the simulated exchange (--demo)", name)
			}
		}
		if o.rerequest != "" {
			if o.rerequestAddr, err = resolveIPv4(o.rerequest); err != nil {
				return o, fmt.Errorf("--rerequest: %w", err)
			}
			if o.rerequestAddr.Port() == 0 {
				return o, fmt.Errorf("--rerequest %s: a port is required", o.rerequest)
			}
		}
	}
	switch {
	case o.symbols < 1 || o.symbols > itchgen.SymbolsMax:
		return o, fmt.Errorf("--symbols %d outside 1..%d", o.symbols, itchgen.SymbolsMax)
	case !(o.msgRate >= 0 && o.msgRate <= udpsend.RateMax):
		return o, fmt.Errorf("--msg-rate %v outside 0..%g", o.msgRate, float64(udpsend.RateMax))
	case !(o.dropRate >= 0 && o.dropRate <= dropRateMax):
		return o, fmt.Errorf("--drop-rate %v outside 0..%g", o.dropRate, dropRateMax)
	case o.statsEvery < statsEveryMin || o.statsEvery > statsEveryMax:
		return o, fmt.Errorf("--stats-every %v outside %v..%v", o.statsEvery, statsEveryMin, statsEveryMax)
	case o.duration < 0:
		return o, fmt.Errorf("--duration %v is negative", o.duration)
	case o.logFormat != "text" && o.logFormat != "json":
		return o, fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	case !validAccel(o.accel.kind):
		return o, fmt.Errorf("--accel %q: want cpu, vsim or fpga", o.accel.kind)
	case o.app.dataDir == "":
		return o, errors.New("--data: a directory is required")
	case (o.app.masterFile == "") != (o.app.accountsFile == ""):
		return o, errors.New("--master and --accounts go together")
	case !o.demo && o.app.masterFile == "":
		return o, errors.New("--demo=false needs --master and --accounts")
	case o.app.shmSlots < 1 || o.app.shmSlots > shmSlotsMax:
		return o, fmt.Errorf("--shm-slots %d outside 1..%d", o.app.shmSlots, shmSlotsMax)
	case o.app.scenarios < 0 || o.app.scenarios > scenariosMax:
		return o, fmt.Errorf("--scenarios %d outside 0..%d", o.app.scenarios, scenariosMax)
	case o.app.epochEvery < epochEveryMin || o.app.epochEvery > epochEveryMax:
		return o, fmt.Errorf("--epoch-every %v outside %v..%v", o.app.epochEvery, epochEveryMin, epochEveryMax)
	case o.app.snapshotEvery < snapshotEveryMin || o.app.snapshotEvery > snapshotEveryMax:
		return o, fmt.Errorf("--snapshot-every %v outside %v..%v", o.app.snapshotEvery, snapshotEveryMin, snapshotEveryMax)
	}
	return o, nil
}

// resolveIPv4 resolves host:port to an IPv4 address and port.
func resolveIPv4(s string) (netip.AddrPort, error) {
	ua, err := net.ResolveUDPAddr("udp4", s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := ua.AddrPort()
	if !ap.Addr().Unmap().Is4() {
		return netip.AddrPort{}, fmt.Errorf("%s: not an IPv4 address", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// run runs ballastd with the command line args until ctx is done (or
// --duration passes) and returns the exit status. Logs go to stderr; stdout
// carries only the usage asked for with -h.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stdout)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "ballastd: %v\nRun 'ballastd -h' for the flags.\n", err)
		return exitUsage
	}
	return runOptions(ctx, o, stderr)
}

// runOptions is run after parsing: it opens and checks the accelerator,
// runs the daemon, and closes the accelerator after the summary. A device
// that does not close in order (a simulator that died meanwhile) makes the
// exit status 1.
func runOptions(ctx context.Context, o options, stderr io.Writer) (code int) {
	log := newLogger(stderr, o.logFormat)
	acc, err := openAccel(ctx, o.accel, log)
	if err != nil {
		log.Error("start-up failed", "err", err)
		return exitFail
	}
	defer func() {
		if err := acc.close(); err != nil {
			log.Error("accelerator did not close cleanly", "backend", acc.kind, "err", err)
			code = exitFail
		} else if acc.dev != nil {
			log.Info("accelerator closed", "backend", acc.kind)
		}
	}()
	d, err := startDaemon(o, log, acc)
	if err != nil {
		log.Error("start-up failed", "err", err)
		return exitFail
	}
	sum, err := d.run(ctx)
	log.Info("summary", sum.attrs()...)
	if err != nil {
		log.Error("stopped on error", "err", err)
		return exitFail
	}
	return exitOK
}

// newLogger returns the structured logger writing to w in format.
func newLogger(w io.Writer, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// formatPrice formats ITCH price units (1/10,000) as a decimal: two places
// when the price is on the cent grid, else four; "-" for no price.
func formatPrice(units int64) string {
	if units <= 0 {
		return "-"
	}
	whole, frac := units/10_000, units%10_000
	if frac%100 == 0 {
		return fmt.Sprintf("%d.%02d", whole, frac/100)
	}
	return fmt.Sprintf("%d.%04d", whole, frac)
}

// perSecond returns n events over ns nanoseconds as a rate, rounded.
func perSecond(n uint64, ns int64) uint64 {
	if ns <= 0 {
		return 0
	}
	return uint64(math.Round(float64(n) * 1e9 / float64(ns)))
}
