package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/sim/portfolio"
)

func TestPortfolioUsage(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "never")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"portfolio", "-h"}, exitOK, "-as-of"},
		{[]string{"portfolio", "--out", out}, exitUsage, "--preset is required"},
		{[]string{"portfolio", "--preset", "huge", "--out", out}, exitUsage, `--preset "huge"`},
		{[]string{"portfolio", "--preset", "demo", "--as-of", "yesterday", "--out", out}, exitUsage, "--as-of"},
		{[]string{"portfolio", "--preset", "demo", "--accounts", "-3", "--out", out}, exitUsage, "--accounts -3"},
		{[]string{"portfolio", "--preset", "demo", "--accounts", "2000000", "--out", out}, exitUsage, "--accounts"},
		{[]string{"portfolio", "--preset", "demo", "--out", ""}, exitUsage, "--out"},
		{[]string{"portfolio", "--preset", "demo", "--out", out, "extra"}, exitUsage, "unexpected argument"},
		{[]string{"portfolio", "--preset", "demo", "--seed", "x", "--out", out}, exitUsage, "-seed"},
		{[]string{"portfolio", "--preset", "demo", "--as-of", "20000-01-01T00:00:00Z", "--out", out}, exitUsage, "--as-of"},
		{[]string{"portfolio", "--preset", "demo", "--as-of", "9500-01-01T00:00:00Z", "--out", out}, exitUsage, "AsOf"},
	}
	for _, c := range cases {
		code, stdout, stderr := runCmd(c.args...)
		if code != c.code || !strings.Contains(stdout+stderr, c.want) {
			t.Errorf("%q: exit %d (want %d), output lacks %q:\n%s%s", c.args, code, c.code, c.want, stdout, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a usage error created the output directory")
	}
}

// runPortfolioCmd runs the portfolio subcommand and decodes its summary.
func runPortfolioCmd(t *testing.T, args ...string) portfolioSummary {
	t.Helper()
	code, stdout, stderr := runCmd(append([]string{"portfolio"}, args...)...)
	if code != exitOK {
		t.Fatalf("%q: exit %d: %s", args, code, stderr)
	}
	if strings.Count(stdout, "\n") != 1 || !strings.HasSuffix(stdout, "\n") {
		t.Errorf("summary is not one line: %q", stdout)
	}
	var sum portfolioSummary
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sum); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	return sum
}

func TestPortfolioDemo(t *testing.T) {
	// The command of bench/workload/README.md, into a temporary directory:
	// it reproduces the committed demo workload byte for byte.
	dir := filepath.Join(t.TempDir(), "demo")
	sum := runPortfolioCmd(t, "--preset", "demo", "--seed", "1", "--as-of", "2026-11-20T21:00:00Z", "--out", dir)
	if sum.Preset != "demo" || sum.Seed != 1 || sum.AsOf != "2026-11-20T21:00:00Z" || sum.Underlyings != 5 ||
		sum.Instruments != 100 || sum.Firms != 10 || sum.Accounts != 100 || sum.Positions < 500 || sum.Positions > 1200 {
		t.Errorf("summary %+v", sum)
	}
	if sum.Health["healthy"]+sum.Health["near"]+sum.Health["deep"] != sum.Accounts {
		t.Errorf("health counts %v do not add up to %d accounts", sum.Health, sum.Accounts)
	}
	if sum.Master != filepath.Join(dir, portfolio.MasterFile) || sum.AccountsOut != filepath.Join(dir, portfolio.AccountsFile) ||
		sum.Metadata != filepath.Join(dir, portfolio.MetaFile) {
		t.Errorf("paths %q %q %q", sum.Master, sum.AccountsOut, sum.Metadata)
	}
	asOf := time.Date(2026, 11, 20, 21, 0, 0, 0, time.UTC)
	m, err := instrument.Load(sum.Master, asOf)
	if err != nil {
		t.Fatal(err)
	}
	set, err := account.Load(sum.AccountsOut, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Accounts) != 100 || len(m.Instruments) != 100 {
		t.Errorf("loaded %d accounts, %d instruments", len(set.Accounts), len(m.Instruments))
	}
	committed := filepath.Join("..", "..", "bench", "workload", "demo")
	for _, name := range []string{portfolio.MasterFile, portfolio.AccountsFile, portfolio.MetaFile} {
		got, err1 := os.ReadFile(filepath.Join(dir, name))
		want, err2 := os.ReadFile(filepath.Join(committed, name))
		if err1 != nil || err2 != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from bench/workload/demo/%s (%v, %v)", name, name, err1, err2)
		}
	}
}

func TestPortfolioFlags(t *testing.T) {
	base := t.TempDir()
	a := runPortfolioCmd(t, "--preset", "reference", "--accounts", "7", "--out", filepath.Join(base, "a"))
	if a.Accounts != 7 || a.Firms != 7 || a.Positions != 7*20 || a.Instruments != 2000 {
		t.Errorf("--accounts 7: %+v", a)
	}
	// The default --as-of is the reference instant; a later one moves the
	// expiries with it.
	runPortfolioCmd(t, "--preset", "demo", "--seed", "2", "--out", filepath.Join(base, "b"))
	c := runPortfolioCmd(t, "--preset", "demo", "--seed", "2", "--as-of", "2027-01-15T14:30:00+01:00", "--out", filepath.Join(base, "c"))
	if c.AsOf != "2027-01-15T13:30:00Z" {
		t.Errorf("as_of %q, want the instant in UTC", c.AsOf)
	}
	mb, _ := os.ReadFile(filepath.Join(base, "b", portfolio.MasterFile))
	mc, _ := os.ReadFile(filepath.Join(base, "c", portfolio.MasterFile))
	committed, _ := os.ReadFile(filepath.Join("..", "..", "bench", "workload", "demo", portfolio.MasterFile))
	if len(mb) == 0 || bytes.Equal(mb, mc) || bytes.Equal(mb, committed) {
		t.Error("--seed or --as-of did not change the master")
	}
	if !strings.Contains(string(mc), "2027-02-19T21:00:00Z") {
		t.Error("--as-of 2027-01-15: no option expiring on the third Friday of February")
	}
	// An output path that is a file fails at run time.
	blocker := filepath.Join(base, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd("portfolio", "--preset", "demo", "--out", blocker); code != exitFail {
		t.Errorf("--out over a file: exit %d, want %d: %s", code, exitFail, stderr)
	}
}
