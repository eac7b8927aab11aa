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
// Settings come from the built-in defaults, then the TOML file named by
// --config (docs/ballastd.example.toml documents every key), then the flags
// given; --print-config prints the merged result. SIGHUP reloads the token
// set, the attestor allow-list, the log level and the periods from the same
// sources (reload.go); docs/ballastd.md is the reference.
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

	"github.com/ballast-risk/ballast/sim/itchgen"
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

// options are the parsed and validated configuration (config.go).
type options struct {
	demo       bool
	feed       string
	rerequest  string
	symbols    int
	msgRate    float64
	dropRate   float64
	seed       uint64
	events     []itchgen.Event // the demo exchange's market events
	statsEvery time.Duration
	duration   time.Duration
	logFormat  string
	logLevel   slog.Level
	accel      accelConfig
	app        applianceConfig

	configFile  string   // --config ("" none)
	printConfig bool     // --print-config
	cfg         config   // the merged configuration the options came from
	src         sources  // where its settings came from
	args        []string // the command line, parsed again on SIGHUP

	feedAddr      netip.AddrPort // resolved --feed
	rerequestAddr netip.AddrPort // resolved --rerequest; invalid when none
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
	if o.printConfig {
		if err := printConfig(stdout, o.cfg, o.configFile); err != nil {
			fmt.Fprintf(stderr, "ballastd: --print-config: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	return runOptions(ctx, o, stderr)
}

// runOptions is run after parsing: it opens and checks the accelerator,
// runs the daemon, and closes the accelerator after the summary. A device
// that does not close in order (a simulator that died meanwhile) makes the
// exit status 1.
func runOptions(ctx context.Context, o options, stderr io.Writer) (code int) {
	// SIGHUP reloads (reload.go); caught from the start so that one
	// arriving during start-up is applied once the daemon runs rather
	// than ending the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	level := new(slog.LevelVar)
	level.Set(o.logLevel)
	log := newLogger(stderr, o.logFormat, level)
	file := o.configFile
	if file == "" {
		file = "none"
	}
	log.Info("configuration", "file", file, "log_level", o.cfg.Log.Level)
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
	stopReloads := serveReloads(hup, newReloader(o, level, d, log))
	sum, err := d.run(ctx)
	stopReloads()
	log.Info("summary", sum.attrs()...)
	if err != nil {
		log.Error("stopped on error", "err", err)
		return exitFail
	}
	return exitOK
}

// newLogger returns the structured logger writing to w in format, at the
// level level (which a reload may change).
func newLogger(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
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
