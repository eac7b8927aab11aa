// Command ballast-jitter measures this machine's jitter: the gaps a thread
// spinning on the monotonic clock sees, and the latency floor they put under
// every request path (see package bench/jitter).
//
//	ballast-jitter [--duration 5s] [--spinners 1] [--json]
//
// It prints a Markdown table (gaps per second and share of time lost per
// gap length, then the p99 and p99.9 floors), or the result as JSON. Exit
// status: 0 done, 1 interrupted or failed, 2 bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ballast-risk/ballast/bench/jitter"
)

// errUsage reports bad flags.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "ballast-jitter:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "ballast-jitter:", err)
		os.Exit(1)
	}
}

// run parses args, measures and prints the result to stdout. An
// interrupted measurement still prints what it measured.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ballast-jitter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 5*time.Second, fmt.Sprintf("how long each spinner spins (at most %v)", jitter.DurationMax))
	spinners := fs.Int("spinners", 1, fmt.Sprintf("spinners, one core each (at most %d here)", jitter.SpinnersLimit()))
	asJSON := fs.Bool("json", false, "print the result as JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *duration <= 0 || *spinners <= 0 {
		return fmt.Errorf("%w: --duration and --spinners must be positive", errUsage)
	}
	res, err := jitter.Measure(ctx, jitter.Options{Duration: *duration, Spinners: *spinners})
	if errors.Is(err, jitter.ErrOptions) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if res.Spinners == 0 {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if werr := enc.Encode(res); werr != nil {
			return errors.Join(err, werr)
		}
		return err
	}
	_, werr := fmt.Fprintf(stdout, "Platform jitter: %d spinner(s) × %v (gaps: clock-read intervals > %s)\n\n%s",
		res.Spinners, time.Duration(res.DurationNs), jitter.Ns(res.GapFloorNs), res.Markdown())
	return errors.Join(err, werr)
}
