package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/ballast-risk/ballast/sim/portfolio"
)

const portfolioSynopsis = `Usage: ballast-sim portfolio --preset reference|demo [--seed N] [--as-of RFC3339] [--accounts N] [--out DIR]

Generates an instrument master and an accounts set (firms, portfolios,
collateral, credit profiles) and writes them in the engine's formats:
DIR/master.json, DIR/accounts.json.gz and DIR/workload.json (seed, as-of,
counts). Prints a one-line JSON summary. The same flags give byte-identical
files.

Presets: reference (20 underlyings, 2,000 instruments, 50 firms, 10,000
accounts of 20 positions: the bench/workload reference) and demo (the
ballastd demo feed's first 5 symbols at its opening prices, 100
instruments, 10 firms, 100 accounts).

Flags:
`

// portfolioOpts are the portfolio subcommand's flags.
type portfolioOpts struct {
	preset   string
	seed     uint64
	asOf     string
	accounts int
	out      string
}

func portfolioFlags() (*flag.FlagSet, *portfolioOpts) {
	o := &portfolioOpts{}
	fs := flag.NewFlagSet("portfolio", flag.ContinueOnError)
	fs.StringVar(&o.preset, "preset", "", "universe preset: reference or demo (required)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed: equal seeds and flags give identical files")
	fs.StringVar(&o.asOf, "as-of", portfolio.ReferenceAsOf.Format(time.RFC3339),
		"valuation instant (RFC 3339); expiries are placed relative to it")
	fs.IntVar(&o.accounts, "accounts", 0, "number of accounts (0: the preset's; firms are capped at it)")
	fs.StringVar(&o.out, "out", ".", "directory to write the files into (created if missing)")
	fs.Usage = usageFunc(fs, portfolioSynopsis)
	return fs, o
}

// portfolioSummary is the portfolio subcommand's JSON output.
type portfolioSummary struct {
	Preset      string         `json:"preset"`
	Seed        uint64         `json:"seed"`
	AsOf        string         `json:"as_of"`
	Underlyings int            `json:"underlyings"`
	Instruments int            `json:"instruments"`
	Firms       int            `json:"firms"`
	Accounts    int            `json:"accounts"`
	Positions   int            `json:"positions"`
	Health      map[string]int `json:"health"`
	Master      string         `json:"master"`
	AccountsOut string         `json:"accounts_file"`
	Metadata    string         `json:"metadata"`
}

// portfolioConfig turns the flags into a generator config.
func (o *portfolioOpts) config() (portfolio.Config, error) {
	var cfg portfolio.Config
	switch o.preset {
	case "reference":
		cfg = portfolio.Reference()
	case "demo":
		cfg = portfolio.Demo()
	case "":
		return cfg, fmt.Errorf("%w: --preset is required (reference or demo)", errUsage)
	default:
		return cfg, fmt.Errorf("%w: --preset %q: want reference or demo", errUsage, o.preset)
	}
	cfg.Seed = o.seed
	asOf, err := time.Parse(time.RFC3339Nano, o.asOf)
	if err != nil {
		return cfg, fmt.Errorf("%w: --as-of %q: %v", errUsage, o.asOf, err)
	}
	cfg.AsOf = asOf
	if o.accounts != 0 {
		if o.accounts < 0 || o.accounts > portfolio.AccountsMax {
			return cfg, fmt.Errorf("%w: --accounts %d outside 1..%d", errUsage, o.accounts, portfolio.AccountsMax)
		}
		cfg.Accounts = o.accounts
		cfg.Firms = min(cfg.Firms, cfg.Accounts)
	}
	if o.out == "" {
		return cfg, fmt.Errorf("%w: --out is empty", errUsage)
	}
	return cfg, nil
}

func runPortfolio(args []string, stdout, _ io.Writer) error {
	fs, o := portfolioFlags()
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	u, err := portfolio.Generate(cfg)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := u.WriteFiles(o.out); err != nil {
		return err
	}
	c := u.Meta.Counts
	sum := portfolioSummary{Preset: o.preset, Seed: cfg.Seed, AsOf: u.Meta.AsOf, Underlyings: c.Underlyings,
		Instruments: c.Instruments, Firms: c.Firms, Accounts: c.Accounts, Positions: c.Positions, Health: u.Meta.Health,
		Master:      filepath.Join(o.out, portfolio.MasterFile),
		AccountsOut: filepath.Join(o.out, portfolio.AccountsFile),
		Metadata:    filepath.Join(o.out, portfolio.MetaFile)}
	line, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(line, '\n'))
	return err
}
