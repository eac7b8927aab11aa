package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/kernel"
	"github.com/ballast-risk/ballast/engine/margin"
)

// marginAccount is one account's line of `ballastctl margin`.
type marginAccount struct {
	ID           uint64  `json:"id"`
	Firm         string  `json:"firm"`
	State        string  `json:"state"`
	Equity       float64 `json:"equity"`
	IM           float64 `json:"im"`
	MM           float64 `json:"mm"`
	VaR          float64 `json:"var"`
	ES           float64 `json:"es"`
	Stress       float64 `json:"stress"`
	CreditAddOn  float64 `json:"credit_add_on"`
	Concentrated float64 `json:"concentration_add_on"`
	Driver       string  `json:"driver"`
	HealthFactor float64 `json:"health_factor"`
}

// marginOutput is `ballastctl margin`'s JSON object.
type marginOutput struct {
	Epoch struct {
		ID         uint64  `json:"id"`
		Seed       uint64  `json:"seed,string"` // a string: 64-bit seeds lose digits as JSON numbers in most readers
		Hash       string  `json:"hash"`
		Backend    string  `json:"backend"`
		Scenarios  int     `json:"scenarios"`
		DurationMs float64 `json:"duration_ms"`
	} `json:"epoch"`
	AsOf     string          `json:"as_of"`
	States   map[string]int  `json:"states"`
	Accounts []marginAccount `json:"accounts"`
}

// runMargin computes one risk epoch over an instrument master and an
// accounts file, marking every underlying at the master's spot, and prints
// every account's margin status: an offline view of what the appliance
// serves (an extension of DESIGN §5.1's offline tools).
func runMargin(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("margin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	masterPath := fs.String("master", "", "instrument master `FILE` (engine/instrument format)")
	accountsPath := fs.String("accounts", "", "accounts `FILE` (engine/account format, gzip or not)")
	asOf := fs.String("as-of", "", "valuation instant, RFC 3339 (default: now)")
	n := fs.Int("scenarios", 10000, "Monte Carlo scenario `count`")
	seed := fs.Uint64("seed", engine.DefaultConfig(nil).Seed, "base `seed` of the epoch's scenarios")
	only := fs.Uint64("account", 0, "print only this account `ID`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ballastctl margin --master FILE --accounts FILE [--as-of RFC3339] [--scenarios N] [--seed K] [--account ID]")
		fmt.Fprintln(stderr, "\nRuns one risk epoch (float64 reference backend, every core) with the shipped margin\npolicy and prints each account's state, equity, IM, MM, VaR, ES and stress loss.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *masterPath == "" || *accountsPath == "" || fs.NArg() != 0 || *n < 1 {
		fs.Usage()
		return exitUsage
	}
	now := time.Now().UTC()
	if *asOf != "" {
		t, err := time.Parse(time.RFC3339Nano, *asOf)
		if err != nil {
			fmt.Fprintf(stderr, "ballastctl margin: --as-of: %v\n", err)
			return exitUsage
		}
		now = t
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "ballastctl margin: %v\n", err)
		return exitFail
	}
	m, err := instrument.Load(*masterPath, now)
	if err != nil {
		return fail(err)
	}
	set, err := account.Load(*accountsPath, m)
	if err != nil {
		return fail(err)
	}
	cfg := engine.DefaultConfig(&kernel.Reference{})
	cfg.Scenarios = *n
	cfg.Seed = *seed
	cfg.Now = func() time.Time { return now }
	e, err := engine.New(cfg, m, set)
	if err != nil {
		return fail(err)
	}
	e.MarkAllFresh()
	ep, err := e.RunEpoch(context.Background())
	if err != nil {
		return fail(err)
	}
	var out marginOutput
	out.Epoch.ID, out.Epoch.Seed, out.Epoch.Hash = ep.ID, ep.Seed, hex.EncodeToString(ep.Hash[:])
	out.Epoch.Backend, out.Epoch.Scenarios = ep.Backend, ep.Scenarios
	out.Epoch.DurationMs = float64(ep.Duration.Microseconds()) / 1000
	out.AsOf = now.Format(time.RFC3339Nano)
	out.States = map[string]int{margin.Healthy.String(): 0, margin.MarginCall.String(): 0, margin.Liquidate.String(): 0}
	out.Accounts = []marginAccount{}
	found := false
	for _, a := range e.Accounts() {
		s, err := e.Status(a.ID)
		if err != nil {
			return fail(err)
		}
		out.States[s.State.String()]++
		if *only != 0 && a.ID != *only {
			continue
		}
		found = true
		r := s.Requirement
		out.Accounts = append(out.Accounts, marginAccount{
			ID: s.Account, Firm: s.Firm, State: s.State.String(), Equity: s.Equity, IM: r.IM, MM: r.MM,
			VaR: s.VaR, ES: s.ES, Stress: s.Stress, CreditAddOn: r.Credit, Concentrated: r.Concentration,
			Driver: r.Driver, HealthFactor: s.HealthFactor,
		})
	}
	if *only != 0 && !found {
		return fail(fmt.Errorf("account %d not in %s", *only, *accountsPath))
	}
	if err := json.NewEncoder(stdout).Encode(out); err != nil {
		return fail(err)
	}
	return exitOK
}
