// Package enginetest builds the engine package's test book (engine/testdata:
// accounts 1001, 1002 of firm acme, 2001, 2002 of beta, 3001 of gamma) for
// the tests of the packages around the engine (engine/verdict,
// engine/httpapi, engine/dashboard, sim/loadgen, sim/itchgen, cmd/ballastctl),
// as net/http/httptest does for HTTP: test support only.
package enginetest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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

// Listing is an instrument master extension document for the test book: a
// call series on AAA, id 100.
const Listing = `{"version":1,"instruments":[
 {"id":100,"symbol":"AAA 2027-03 C110","kind":"call","underlying":"AAA","strike":110,"expiry":"2027-03-19T21:00:00Z","multiplier":100}]}`

// ManyListing is a valid extension document for the test book listing n
// call strikes on AAA (ids from 1000), for the bounds on one listing.
func ManyListing(n int) string {
	var b strings.Builder
	b.WriteString(`{"version":1,"instruments":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"symbol":"AAA 2027-03 C%d","kind":"call","underlying":"AAA","strike":%d,"expiry":"2027-03-19T21:00:00Z","multiplier":100}`,
			1000+i, 200+i, 200+i)
	}
	b.WriteString(`]}`)
	return b.String()
}
