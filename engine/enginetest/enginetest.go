// Package enginetest builds the engine package's test book (engine/testdata:
// accounts 1001, 1002 of firm acme, 2001, 2002 of beta, 3001 of gamma) for
// the tests of the packages around the engine (engine/verdict,
// engine/httpapi, engine/dashboard, sim/loadgen, sim/itchgen, cmd/ballastctl),
// as net/http/httptest does for HTTP: test support only.
package enginetest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/kernel"
)

// AsOf is the book's valuation time and the engine's clock.
var AsOf = time.Date(2026, 11, 20, 21, 0, 0, 0, time.UTC)

// Engine returns a fresh engine over the test book on the float64 reference
// backend, 2,000 scenarios, its clock fixed at AsOf and every mark fresh; no
// epoch has run yet.
func Engine(tb testing.TB) *engine.Engine {
	tb.Helper()
	return EngineWith(tb, nil)
}

// EngineWith is Engine with the configuration passed through edit first
// (nil: unchanged), e.g. to add an attestation verifier.
func EngineWith(tb testing.TB, edit func(*engine.Config)) *engine.Engine {
	tb.Helper()
	m, set := Book(tb)
	cfg := engine.DefaultConfig(&kernel.Reference{})
	cfg.Scenarios = 2000
	cfg.Now = func() time.Time { return AsOf }
	if edit != nil {
		edit(&cfg)
	}
	e, err := engine.New(cfg, m, set)
	if err != nil {
		tb.Fatal(err)
	}
	e.MarkAllFresh()
	return e
}

// Book parses the test book: the instrument master at AsOf and the
// accounts, for tests that build the engine with their own configuration.
func Book(tb testing.TB) (*instrument.Master, *account.Set) {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("enginetest: cannot locate engine/testdata")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "testdata")
	data, err := os.ReadFile(filepath.Join(dir, "master.json"))
	if err != nil {
		tb.Fatal(err)
	}
	m, err := instrument.Parse(data, AsOf)
	if err != nil {
		tb.Fatal(err)
	}
	adata, err := os.ReadFile(filepath.Join(dir, "accounts.json"))
	if err != nil {
		tb.Fatal(err)
	}
	set, err := account.Parse(adata, m)
	if err != nil {
		tb.Fatal(err)
	}
	return m, set
}
