package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/sim/itchgen"
)

// errHelp reports that -h was asked for and the usage printed (exit 0).
var errHelp = errors.New("help shown")

// dropListMax bounds the packets --drop-packets may list.
const dropListMax = 1 << 16

// genFlags are the flags shared by both subcommands: what to generate and
// how to frame it.
type genFlags struct {
	symbols    int
	names      string
	seed       uint64
	seconds    float64
	messages   uint64
	bookOrders int
	noHalts    bool
	jumps      float64
	session    string
	payload    int
	dropRate   float64
	dropList   string
	events     string
}

func (g *genFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&g.symbols, "symbols", itchgen.DefaultSymbolCount, "number of symbols (locates 1..K)")
	fs.StringVar(&g.names, "names", "", "comma-separated symbol names (overrides --symbols)")
	fs.Uint64Var(&g.seed, "seed", 1, "seed: equal seeds and flags give identical sessions")
	fs.Uint64Var(&g.messages, "messages", 0, "exact number of ITCH messages in the session (opening and closing included)")
	fs.IntVar(&g.bookOrders, "book-orders", itchgen.DefaultBookOrdersMax, "bound on live orders per book")
	fs.BoolVar(&g.noHalts, "no-halts", false, "no volatility pauses")
	fs.Float64Var(&g.jumps, "jumps", 0, "mean price jumps per symbol per simulated hour")
	fs.StringVar(&g.session, "session", "BALLAST01", "MoldUDP64 session name (up to 10 characters)")
	fs.IntVar(&g.payload, "payload-bytes", moldudp64.PayloadBytesDefault, "largest MoldUDP64 packet in bytes")
	fs.Float64Var(&g.dropRate, "drop-rate", 0, "probability that a data packet is deliberately lost (0..1)")
	fs.StringVar(&g.dropList, "drop-packets", "", "data packets to lose, 0-based: e.g. 3,7,10-12")
	fs.StringVar(&g.events, "events", "", "scripted market events, or @FILE holding them: e.g.\n"+
		"'crash@20s:-25%:AAPL,MSFT; volspike@40s:x3:30s; outage@60s:10s' (times from the session's start)")
}

// parse parses args into fs; -h prints the usage to stdout.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return errHelp
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// usageFunc prints a subcommand's synopsis and flags.
func usageFunc(fs *flag.FlagSet, synopsis string) func() {
	return func() {
		fmt.Fprint(fs.Output(), synopsis)
		fs.PrintDefaults()
	}
}

// config turns the shared flags into a generator config.
func (g *genFlags) config(ratePerSec float64) (itchgen.Config, error) {
	cfg := itchgen.Config{SymbolCount: g.symbols, Seed: g.seed, Messages: g.messages,
		Rate: ratePerSec, BookOrdersMax: g.bookOrders, NoHalts: g.noHalts, JumpsPerHour: g.jumps}
	if g.names != "" {
		cfg.Symbols = strings.Split(g.names, ",")
	} else if g.symbols < 1 || g.symbols > itchgen.SymbolsMax {
		return cfg, fmt.Errorf("%w: --symbols %d outside 1..%d", errUsage, g.symbols, itchgen.SymbolsMax)
	}
	if g.seconds < 0 || math.IsNaN(g.seconds) || g.seconds > 86_400 {
		return cfg, fmt.Errorf("%w: --seconds %v outside 0..86400", errUsage, g.seconds)
	}
	if len(g.session) == 0 || len(g.session) > moldudp64.SessionLen {
		return cfg, fmt.Errorf("%w: --session %q: want 1..%d characters", errUsage, g.session, moldudp64.SessionLen)
	}
	if !(g.dropRate >= 0 && g.dropRate <= 1) {
		return cfg, fmt.Errorf("%w: --drop-rate %v outside 0..1", errUsage, g.dropRate)
	}
	evs, err := loadEvents(g.events)
	if err != nil {
		return cfg, err
	}
	cfg.Events = evs
	return cfg, nil
}

// parseDropList parses "3,7,10-12" into packet indices.
func parseDropList(s string) ([]uint64, error) {
	if s == "" {
		return nil, nil
	}
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: --drop-packets %q: %v", errUsage, part, err)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("%w: --drop-packets %q: bad range", errUsage, part)
			}
		}
		if b-a >= dropListMax || uint64(len(out))+b-a+1 > dropListMax {
			return nil, fmt.Errorf("%w: --drop-packets lists more than %d packets", errUsage, dropListMax)
		}
		for i := a; ; i++ { // written so that b = MaxUint64 ends
			out = append(out, i)
			if i == b {
				break
			}
		}
	}
	return out, nil
}
