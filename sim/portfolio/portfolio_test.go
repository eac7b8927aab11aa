package portfolio

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/sim/itchgen"
)

var (
	refOnce sync.Once
	refU    *Universe
	refErr  error
)

// reference returns the Reference universe, generated once per test binary.
func reference(t testing.TB) *Universe {
	t.Helper()
	refOnce.Do(func() { refU, refErr = Generate(Reference()) })
	if refErr != nil {
		t.Fatalf("Generate(Reference()): %v", refErr)
	}
	return refU
}

func TestReferenceShape(t *testing.T) {
	u := reference(t)
	m := u.Master
	if len(m.Underlyings) != 20 || len(m.Instruments) != 2000 {
		t.Fatalf("%d underlyings, %d instruments; want 20, 2000", len(m.Underlyings), len(m.Instruments))
	}
	if m.Rate != 0.04 {
		t.Errorf("rate %v, want 0.04", m.Rate)
	}
	feed := itchgen.GenerateSymbols(20)
	for ui, und := range m.Underlyings {
		if und.Symbol != feed[ui] || und.ITCH != feed[ui] {
			t.Errorf("underlying %d is %s/%s, want the feed's %s", ui, und.Symbol, und.ITCH, feed[ui])
		}
		if und.Spot < 20 || und.Spot > 500 {
			t.Errorf("%s: spot %v outside 20..500", und.Symbol, und.Spot)
		}
		if und.Div < 0 || und.Div > 0.03 {
			t.Errorf("%s: div %v outside 0..3%%", und.Symbol, und.Div)
		}
		var spot, fut, opt, b76 int
		optExpiries := map[time.Time]int{}
		b76Expiries := map[time.Time]bool{}
		for i, in := range m.Instruments {
			if in.Underlying != ui {
				continue
			}
			switch {
			case in.Kind == instrument.Spot:
				spot++
				if in.Multiplier != 1 {
					t.Errorf("%s: spot multiplier %v", in.Symbol, in.Multiplier)
				}
			case in.Kind == instrument.Future:
				fut++
				if in.Multiplier < 10 || in.Multiplier > 100 {
					t.Errorf("%s: futures multiplier %v outside 10..100", in.Symbol, in.Multiplier)
				}
				if mo := in.Expiry.Month(); mo%3 != 0 || in.Expiry.Weekday() != time.Friday || in.Expiry.Day() < 15 || in.Expiry.Day() > 21 {
					t.Errorf("%s: expiry %s is not a quarterly third Friday", in.Symbol, in.Expiry)
				}
			default:
				opt++
				optExpiries[in.Expiry]++
				if in.Multiplier != 100 {
					t.Errorf("%s: option multiplier %v", in.Symbol, in.Multiplier)
				}
				if in.Model == instrument.Black76 {
					b76++
					b76Expiries[in.Expiry] = true
					f := m.Instruments[in.Future]
					if f.Kind != instrument.Future || f.Underlying != ui || f.Expiry.Before(in.Expiry) {
						t.Errorf("%s (index %d): future %s does not match", in.Symbol, i, f.Symbol)
					}
					if !f.Expiry.Equal(in.Expiry) {
						t.Errorf("%s: Black-76 on %s, want the future of the same expiry", in.Symbol, f.Symbol)
					}
				} else if in.Future != -1 {
					t.Errorf("%s: BSM option with a future", in.Symbol)
				}
				fwd := und.Spot * math.Exp((m.Rate-und.Div)*instrument.YearsBetween(ReferenceAsOf, in.Expiry))
				if mny := in.Strike / fwd; mny < 0.685 || mny > 1.315 {
					t.Errorf("%s: moneyness %.3f outside 0.7..1.3", in.Symbol, mny)
				}
			}
		}
		if spot != 1 || fut != 3 || opt != 96 || b76 != 24 || len(optExpiries) != 4 || len(b76Expiries) != 1 {
			t.Errorf("%s: %d spot, %d futures, %d options (%d Black-76 at %d expiries) at %d expiries; want 1, 3, 96 (24 at 1), 4",
				und.Symbol, spot, fut, opt, b76, len(b76Expiries), len(optExpiries))
		}
		for e, n := range optExpiries {
			if n != 24 {
				t.Errorf("%s: %d options at %s, want 12 strikes × call/put", und.Symbol, n, e)
			}
		}
	}
	// Expiries 1m, 3m, 6m, 1y.
	var expiries []float64
	for _, in := range m.Instruments {
		if in.Kind.IsOption() && in.Underlying == 0 {
			if y := instrument.YearsBetween(ReferenceAsOf, in.Expiry); !slices.Contains(expiries, y) {
				expiries = append(expiries, y)
			}
		}
	}
	want := []float64{1.0 / 12, 3.0 / 12, 6.0 / 12, 1}
	for i, y := range expiries {
		if math.Abs(y-want[i]) > 0.03 {
			t.Errorf("option expiry %d at %.3f years, want about %.3f", i, y, want[i])
		}
	}

	if n := len(u.Accounts.Accounts); n != 10_000 {
		t.Fatalf("%d accounts, want 10,000", n)
	}
	firms := map[string]int{}
	for _, a := range u.Accounts.Accounts {
		if len(a.Positions) != 20 {
			t.Fatalf("account %d has %d positions, want 20", a.ID, len(a.Positions))
		}
		firms[a.Firm]++
	}
	if len(firms) != 50 {
		t.Errorf("%d firms, want 50", len(firms))
	}
	multi := 0
	for _, n := range firms {
		if n > 1 {
			multi++
		}
	}
	if multi < 40 {
		t.Errorf("only %d of 50 firms own more than one account", multi)
	}
}

// slicesOf reads an underlying's SVI smile from the master.
func slicesOf(t *testing.T, und instrument.Underlying) (atm float64, ss []sviSlice) {
	t.Helper()
	var v struct {
		ATM    float64    `json:"atm"`
		Slices []sviSlice `json:"slices"`
	}
	dec := json.NewDecoder(bytes.NewReader(und.Vol))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: vol: %v", und.Symbol, err)
	}
	return v.ATM, v.Slices
}

// durrleman is Gatheral's butterfly-arbitrage density term g(k) of a raw
// SVI slice; g ≥ 0 everywhere means no butterfly arbitrage.
func durrleman(s *sviSlice, k float64) float64 {
	d := k - s.M
	r := math.Sqrt(d*d + s.Sigma*s.Sigma)
	w := s.w(k)
	w1 := s.B * (s.Rho + d/r)
	w2 := s.B * s.Sigma * s.Sigma / (r * r * r)
	return (1-k*w1/(2*w))*(1-k*w1/(2*w)) - w1*w1/4*(1/w+0.25) + w2/2
}

func TestVolSurfaces(t *testing.T) {
	for _, u := range []*Universe{reference(t), mustGenerate(t, Demo())} {
		for _, und := range u.Master.Underlyings {
			atm, ss := slicesOf(t, und)
			if atm != und.ATMVol || atm < 0.15 || atm > 0.60 {
				t.Errorf("%s: atm %v (parsed %v) outside 0.15..0.60", und.Symbol, atm, und.ATMVol)
			}
			if len(ss) != len(u.Config.ExpiryMonths) {
				t.Fatalf("%s: %d slices for %d option expiries", und.Symbol, len(ss), len(u.Config.ExpiryMonths))
			}
			for i := range ss {
				s := &ss[i]
				if math.Abs(s.w(0)-atm*atm*s.T) > 1e-8 {
					t.Errorf("%s slice %d: w(0) = %v, want σ²T = %v", und.Symbol, i, s.w(0), atm*atm*s.T)
				}
				if s.Rho < -0.7 || s.Rho > -0.3 {
					t.Errorf("%s slice %d: rho %v outside -0.7..-0.3", und.Symbol, i, s.Rho)
				}
				if minW := s.A + s.B*s.Sigma*math.Sqrt(1-s.Rho*s.Rho); minW < 0 || s.B < 0 || s.Sigma <= 0 {
					t.Errorf("%s slice %d: a + bσ√(1−ρ²) = %v, b %v, σ %v", und.Symbol, i, minW, s.B, s.Sigma)
				}
				// Negative skew: lower strikes have higher implied vol.
				if !(s.w(-0.2) > s.w(0.2)) {
					t.Errorf("%s slice %d: no negative skew", und.Symbol, i)
				}
				for k := -2.0; k <= 2.0; k += 0.01 {
					if g := durrleman(s, k); g < -1e-9 {
						t.Errorf("%s slice %d: butterfly arbitrage at k=%.2f (g=%v)", und.Symbol, i, k, g)
						break
					}
					if i > 0 && !(s.w(k) > ss[i-1].w(k)) {
						t.Errorf("%s: calendar arbitrage between slices %d and %d at k=%.2f", und.Symbol, i-1, i, k)
						break
					}
				}
			}
		}
	}
}

// cholesky factors the n×n row-major matrix c; it fails unless c is
// positive definite.
func cholesky(c []float64, n int) ([]float64, bool) {
	l := make([]float64, n*n)
	for j := 0; j < n; j++ {
		d := c[j*n+j]
		for k := 0; k < j; k++ {
			d -= l[j*n+k] * l[j*n+k]
		}
		if !(d > 1e-9) {
			return nil, false
		}
		l[j*n+j] = math.Sqrt(d)
		for i := j + 1; i < n; i++ {
			s := c[i*n+j]
			for k := 0; k < j; k++ {
				s -= l[i*n+k] * l[j*n+k]
			}
			l[i*n+j] = s / l[j*n+j]
		}
	}
	return l, true
}

func TestCorrelation(t *testing.T) {
	if _, ok := cholesky([]float64{1, 0.9, 0.9, 0.9, 1, -0.9, 0.9, -0.9, 1}, 3); ok {
		t.Fatal("cholesky accepted an indefinite matrix")
	}
	for _, u := range []*Universe{reference(t), mustGenerate(t, Demo())} {
		m := u.Master
		n := len(m.Underlyings)
		var fm struct {
			Correlation struct {
				Symbols []string `json:"symbols"`
			} `json:"correlation"`
		}
		if err := json.Unmarshal(u.MasterJSON, &fm); err != nil {
			t.Fatal(err)
		}
		if len(fm.Correlation.Symbols) != n {
			t.Errorf("correlation names %d of %d underlyings", len(fm.Correlation.Symbols), n)
		}
		if _, ok := cholesky(m.Correlation, n); !ok {
			t.Errorf("%s: correlation is not positive definite", u.Config.Name)
		}
		sectors := u.Config.Sectors
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				v := m.Correlation[i*n+j]
				if v != m.Correlation[j*n+i] {
					t.Fatalf("not symmetric at %d,%d", i, j)
				}
				switch {
				case i == j:
					if v != 1 {
						t.Errorf("diagonal %d = %v", i, v)
					}
				case i*sectors/n == j*sectors/n:
					if v < 0.5 || v > 0.7 {
						t.Errorf("%s: intra-sector correlation %s/%s = %v outside 0.5..0.7", u.Config.Name,
							m.Underlyings[i].Symbol, m.Underlyings[j].Symbol, v)
					}
				default:
					if v < 0.2 || v > 0.35 {
						t.Errorf("%s: cross-sector correlation %s/%s = %v outside 0.2..0.35", u.Config.Name,
							m.Underlyings[i].Symbol, m.Underlyings[j].Symbol, v)
					}
				}
			}
		}
	}
}

func mustGenerate(t testing.TB, c Config) *Universe {
	t.Helper()
	u, err := Generate(c)
	if err != nil {
		t.Fatalf("Generate(%s): %v", c.Name, err)
	}
	return u
}

// accountStats recomputes, with the generator's pricer, an account's
// equity (weighted collateral + unrealised P&L) and its per-underlying net
// delta in shares.
func accountStats(mk *market, cfg *Config, a *account.Account) (equity float64, delta map[int]float64) {
	byID := func(id instrument.ID) *contract { return &mk.instruments[int(id)-1] }
	equity = a.Collateral[account.Cash] + cfg.CreditLineWeight*a.Collateral[account.CreditLine]
	delta = map[int]float64{}
	for _, p := range a.Positions {
		k := byID(p.Instrument)
		v := mk.value(k)
		equity += float64(p.Qty) * k.multiplier * (v.value - p.Price)
		delta[k.und] += float64(p.Qty) * k.multiplier * v.delta
	}
	return equity, delta
}

func TestAccounts(t *testing.T) {
	u := reference(t)
	cfg := u.Config
	mk := newMarket(&cfg)
	for i, k := range mk.instruments {
		if int(k.id) != i+1 {
			t.Fatalf("instrument %d has id %d: ids are not consecutive from 1", i, k.id)
		}
	}
	var styles [StylesCount]int
	var health [HealthCount]int
	limitsZero, creditLines, negCash := 0, 0, 0
	var shortOpts, opts [StylesCount]int
	for ai, a := range u.Accounts.Accounts {
		st, h, risk := u.Styles[ai], u.Health[ai], u.Risk[ai]
		styles[st]++
		health[h]++
		if a.Credit.PD < 0.001 || a.Credit.PD > 0.05 || a.Credit.LGD < 0.4 || a.Credit.LGD > 0.8 {
			t.Errorf("account %d: credit %+v outside PD 0.001..0.05, LGD 0.4..0.8", a.ID, a.Credit)
		}
		if a.Credit.Limit == 0 {
			limitsZero++
		} else if a.Credit.Limit < 2.9*risk-1000 || a.Credit.Limit > 10*risk+1000 {
			t.Errorf("account %d: limit %v not 3–10 × risk %v", a.ID, a.Credit.Limit, risk)
		}
		if a.Collateral[account.CreditLine] > 0 {
			creditLines++
		}
		if a.Collateral[account.Cash] < 0 {
			negCash++
		}
		equity, delta := accountStats(mk, &cfg, a)
		f := equity / risk
		tol := 0.02 / risk * float64(1+len(a.Positions)) // cent rounding
		switch h {
		case Healthy:
			if f < 1.5-tol {
				t.Errorf("healthy account %d: equity %.2f is %.3f × its risk", a.ID, equity, f)
			}
		case Near:
			if f < 0.8-tol || f > 1.15+tol {
				t.Errorf("near account %d: equity is %.3f × its risk", a.ID, f)
			}
		case Deep:
			if f < 0.05-tol || f > 0.5+tol {
				t.Errorf("deep account %d: equity is %.3f × its risk", a.ID, f)
			}
		}
		hedged := map[int]bool{}
		for _, p := range a.Positions {
			k := &mk.instruments[int(p.Instrument)-1]
			v := mk.value(k).value
			if p.Price < 0.01 {
				t.Fatalf("account %d: entry price %v", a.ID, p.Price)
			}
			if k.kind.IsOption() {
				opts[st]++
				if p.Qty < 0 {
					shortOpts[st]++
				}
				if math.Abs(p.Price-v) > 0.15*v+0.011 {
					t.Errorf("account %d: %s entered at %v, model value %v", a.ID, k.symbol, p.Price, v)
				}
			} else {
				// A few days of the underlying's vol, five deviations.
				if band := 5 * mk.underlyings[k.und].atm * math.Sqrt(10.0/252); math.Abs(math.Log(p.Price/v)) > band {
					t.Errorf("account %d: %s entered at %v, value %v", a.ID, k.symbol, p.Price, v)
				}
				if k.kind == instrument.Spot {
					hedged[k.und] = true
				}
			}
		}
		if st == MarketMaker {
			for und := range hedged {
				if d := delta[und]; math.Abs(d) > 1.51 {
					t.Errorf("market maker %d: net delta %.2f shares in %s", a.ID, d, mk.underlyings[und].symbol)
				}
			}
			if len(hedged) == 0 {
				t.Errorf("market maker %d has no spot hedge", a.ID)
			}
		}
	}
	n := float64(len(u.Accounts.Accounts))
	for s, c := range styles {
		if float64(c) < 0.1*n {
			t.Errorf("only %d %s accounts", c, Style(s))
		}
	}
	if sh := float64(health[Near]+health[Deep]) / n; sh < 0.08 || sh > 0.16 {
		t.Errorf("%.1f%% of accounts near or under their requirement, want about 12%%", 100*sh)
	}
	if d := health[Deep]; d < 50 || d > 400 {
		t.Errorf("%d deeply under-collateralised accounts, want a few per cent", d)
	}
	if float64(limitsZero) < 0.15*n || float64(limitsZero) > 0.35*n {
		t.Errorf("%d accounts without a credit limit, want about 25%%", limitsZero)
	}
	if float64(creditLines) < 0.25*n {
		t.Errorf("only %d accounts with a credit line", creditLines)
	}
	if float64(negCash) > 0.05*n {
		t.Errorf("%d accounts with negative cash", negCash)
	}
	if f := float64(shortOpts[Writer]) / float64(opts[Writer]); f < 0.95 {
		t.Errorf("writers are short only %.0f%% of their options", 100*f)
	}
	if f := float64(shortOpts[MarketMaker]) / float64(opts[MarketMaker]); f < 0.35 || f > 0.65 {
		t.Errorf("market makers are short %.0f%% of their options, want two-sided books", 100*f)
	}
	if f := float64(shortOpts[Directional]) / float64(max(opts[Directional], 1)); f > 0.01 {
		t.Errorf("directional accounts are short %.0f%% of their options, want long only", 100*f)
	}
}

func TestDemo(t *testing.T) {
	u := mustGenerate(t, Demo())
	m := u.Master
	feed := itchgen.GenerateSymbols(DemoFeedSymbols)
	spots, err := FeedSpots(DemoFeedSeed, DemoFeedSymbols, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Underlyings) != 5 {
		t.Fatalf("%d underlyings, want 5", len(m.Underlyings))
	}
	for i, und := range m.Underlyings {
		if und.ITCH != feed[i] {
			t.Errorf("underlying %d marked by %q, want the demo feed's %q", i, und.ITCH, feed[i])
		}
		if und.Spot != spots[i] {
			t.Errorf("%s: spot %v, want the feed's opening mid %v", und.Symbol, und.Spot, spots[i])
		}
	}
	if len(m.Instruments) != 100 || len(u.Accounts.Accounts) != 100 {
		t.Errorf("%d instruments, %d accounts; want 100, 100", len(m.Instruments), len(u.Accounts.Accounts))
	}
	firms := map[string]bool{}
	for _, a := range u.Accounts.Accounts {
		if n := len(a.Positions); n < 5 || n > 12 {
			t.Errorf("account %d: %d positions, want 5..12", a.ID, n)
		}
		firms[a.Firm] = true
	}
	if len(firms) != 10 {
		t.Errorf("%d firms, want 10", len(firms))
	}
}

func TestFeedSpots(t *testing.T) {
	a, err := FeedSpots(DemoFeedSeed, DemoFeedSymbols, DemoFeedSymbols)
	if err != nil {
		t.Fatal(err)
	}
	b, err := FeedSpots(DemoFeedSeed, DemoFeedSymbols, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a[:5], b) {
		t.Errorf("FeedSpots depends on n: %v vs %v", a[:5], b)
	}
	for i, s := range a {
		if s < 1 || s > 1000 {
			t.Errorf("book %d: spot %v", i+1, s)
		}
	}
	if c, _ := FeedSpots(2, DemoFeedSymbols, 5); slices.Equal(c, b) {
		t.Errorf("seed 2 gives the same spots as seed 1: %v", c)
	}
	for _, n := range []int{0, DemoFeedSymbols + 1} {
		if _, err := FeedSpots(1, DemoFeedSymbols, n); !errors.Is(err, ErrConfig) {
			t.Errorf("FeedSpots of %d books: %v", n, err)
		}
	}
	if _, err := FeedSpots(1, itchgen.SymbolsMax+1, 1); !errors.Is(err, ErrConfig) {
		t.Errorf("FeedSpots of a session itchgen refuses: %v", err)
	}
}

func TestDeterminism(t *testing.T) {
	cfg := Demo()
	cfg.Accounts, cfg.Firms = 300, 20
	a, b := mustGenerate(t, cfg), mustGenerate(t, cfg)
	fa, err := a.Files()
	if err != nil {
		t.Fatal(err)
	}
	fb, err := b.Files()
	if err != nil {
		t.Fatal(err)
	}
	for name := range fa {
		if !bytes.Equal(fa[name], fb[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	// Another seed changes both documents.
	cfg2 := cfg
	cfg2.Seed = 2
	c := mustGenerate(t, cfg2)
	if bytes.Equal(a.MasterJSON, c.MasterJSON) || bytes.Equal(a.AccountsJSON, c.AccountsJSON) {
		t.Error("seed 2 gives the same files as seed 1")
	}
	// The accounts draw from their own stream: changing them keeps the
	// master.
	cfg3 := cfg
	cfg3.Accounts = 50
	d := mustGenerate(t, cfg3)
	if !bytes.Equal(a.MasterJSON, d.MasterJSON) {
		t.Error("changing Accounts changed the master")
	}
	if len(d.Accounts.Accounts) != 50 {
		t.Errorf("%d accounts, want 50", len(d.Accounts.Accounts))
	}
}

func TestWriteFiles(t *testing.T) {
	u := mustGenerate(t, Demo())
	dir := filepath.Join(t.TempDir(), "nested", "out")
	if err := u.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	files, err := u.Files()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Errorf("%d entries in the output directory, want 3 (no temporaries left)", len(entries))
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: written bytes differ from Files() (err %v)", name, err)
		}
	}
	if gz := files[AccountsFile]; len(gz) < 10 || gz[0] != 0x1f || gz[1] != 0x8b {
		t.Fatal("accounts file is not gzip")
	}
	m, err := instrument.Load(filepath.Join(dir, MasterFile), u.Config.AsOf)
	if err != nil {
		t.Fatal(err)
	}
	s, err := account.Load(filepath.Join(dir, AccountsFile), m)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Instruments) != len(u.Master.Instruments) || len(s.Accounts) != len(u.Accounts.Accounts) {
		t.Error("loaded files differ from the universe")
	}
	var meta Metadata
	raw, _ := os.ReadFile(filepath.Join(dir, MetaFile))
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&meta); err != nil {
		t.Fatal(err)
	}
	if meta.Seed != 1 || meta.AsOf != "2026-11-20T21:00:00Z" || meta.Counts.Accounts != 100 ||
		meta.Counts.Instruments != 100 || meta.GeneratorVersion != GeneratorVersion || meta.Risk.Scenarios != 10_000 {
		t.Errorf("workload.json: %+v", meta)
	}
	// Overwriting works.
	if err := u.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	// A file in the way of the directory is an error, not a panic.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := u.WriteFiles(blocker); err == nil {
		t.Error("WriteFiles into a regular file succeeded")
	}
}

// TestCommittedWorkloads regenerates bench/workload/{reference,demo} with
// the command in bench/workload/README.md and compares the bytes: a failure
// means the committed files are stale.
func TestCommittedWorkloads(t *testing.T) {
	for _, c := range []struct {
		dir string
		cfg Config
	}{{"reference", Reference()}, {"demo", Demo()}} {
		// --seed 1 --as-of 2026-11-20T21:00:00Z
		c.cfg.Seed = 1
		c.cfg.AsOf = time.Date(2026, 11, 20, 21, 0, 0, 0, time.UTC)
		u := reference(t)
		if c.dir != "reference" {
			u = mustGenerate(t, c.cfg)
		}
		files, err := u.Files()
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join("..", "..", "bench", "workload", c.dir)
		regen := "go run ./cmd/ballast-sim portfolio --preset " + c.dir +
			" --seed 1 --as-of 2026-11-20T21:00:00Z --out bench/workload/" + c.dir
		for name, want := range files {
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Errorf("%s/%s: %v (regenerate: %s)", c.dir, name, err, regen)
				continue
			}
			if bytes.Equal(got, want) {
				continue
			}
			if name == AccountsFile && bytes.Equal(gunzip(t, got), u.AccountsJSON) {
				t.Errorf("%s/%s: same JSON in a different gzip stream (compress/flate changed?); regenerate: %s",
					c.dir, name, regen)
				continue
			}
			t.Errorf("%s/%s is stale; regenerate: %s", c.dir, name, regen)
		}
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil
	}
	return out
}

func TestSmallConfigs(t *testing.T) {
	base := Demo()
	base.Spots = nil
	cases := map[string]func(c *Config){
		"no options": func(c *Config) { c.ExpiryMonths, c.Strikes, c.PositionsMin, c.PositionsMax = nil, 0, 1, 8 },
		"no futures": func(c *Config) { c.Futures = 0 },
		"delta one only": func(c *Config) {
			c.Futures, c.ExpiryMonths, c.Strikes, c.PositionsMin, c.PositionsMax = 0, nil, 0, 1, 5
		},
		"one strike":          func(c *Config) { c.Strikes = 1 },
		"one underlying":      func(c *Config) { c.Underlyings, c.Symbols, c.Sectors = 1, nil, 1 },
		"one account":         func(c *Config) { c.Accounts, c.Firms = 1, 1 },
		"every instrument":    func(c *Config) { c.PositionsMin, c.PositionsMax = 100, 100 },
		"one position":        func(c *Config) { c.PositionsMin, c.PositionsMax = 1, 1 },
		"long dated":          func(c *Config) { c.ExpiryMonths = []int{12, 60, 120} },
		"generated names":     func(c *Config) { c.Underlyings, c.Symbols = 40, nil },
		"many sectors":        func(c *Config) { c.Sectors = 5 },
		"negative rate":       func(c *Config) { c.Rate = -0.01 },
		"as-of mid-month":     func(c *Config) { c.AsOf = time.Date(2027, 1, 31, 9, 30, 0, 0, time.FixedZone("x", 3600)) },
		"wide moneyness":      func(c *Config) { c.Strikes, c.MoneynessMin, c.MoneynessMax = 20, 0.2, 5 },
		"cheap underlyings":   func(c *Config) { c.SpotMin, c.SpotMax = 0.05, 0.2 },
		"many futures":        func(c *Config) { c.Futures = FuturesMax },
		"expiry on a future":  func(c *Config) { c.ExpiryMonths = []int{2, 4} },
		"accounts over firms": func(c *Config) { c.Accounts, c.Firms = 1000, 3 },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			c := base
			c.Symbols = slices.Clone(base.Symbols)
			mod(&c)
			u, err := Generate(c)
			if err != nil {
				t.Fatal(err)
			}
			if len(u.Accounts.Accounts) != c.Accounts {
				t.Errorf("%d accounts, want %d", len(u.Accounts.Accounts), c.Accounts)
			}
			for _, a := range u.Accounts.Accounts {
				if n := len(a.Positions); n < c.PositionsMin || n > c.PositionsMax {
					t.Fatalf("account %d: %d positions outside %d..%d", a.ID, n, c.PositionsMin, c.PositionsMax)
				}
			}
			if want := c.Underlyings * c.InstrumentsPerUnderlying(); len(u.Master.Instruments) != want {
				t.Errorf("%d instruments, want %d", len(u.Master.Instruments), want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		mod  func(c *Config)
		want string
	}{
		{func(c *Config) { c.AsOf = time.Time{} }, "AsOf"},
		{func(c *Config) { c.AsOf = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "AsOf"},
		{func(c *Config) { c.Underlyings = 0 }, "Underlyings"},
		{func(c *Config) { c.Underlyings = UnderlyingsMax + 1 }, "Underlyings"},
		{func(c *Config) { c.Symbols = c.Symbols[:2] }, "Symbols"},
		{func(c *Config) { c.Symbols[1] = "TOOLONGNAME" }, "Symbols[1]"},
		{func(c *Config) { c.Symbols[1] = "A B" }, "Symbols[1]"},
		{func(c *Config) { c.Symbols[1] = c.Symbols[0] }, "twice"},
		{func(c *Config) { c.SpotMin = 0 }, "SpotMin"},
		{func(c *Config) { c.SpotMax = c.SpotMin / 2 }, "SpotMax"},
		{func(c *Config) { c.Spots = c.Spots[:1] }, "Spots"},
		{func(c *Config) { c.Spots[2] = math.NaN() }, "Spots[2]"},
		{func(c *Config) { c.Futures = FuturesMax + 1 }, "Futures"},
		{func(c *Config) { c.Futures = -1 }, "Futures"},
		{func(c *Config) { c.ExpiryMonths = []int{3, 3} }, "ExpiryMonths"},
		{func(c *Config) { c.ExpiryMonths = []int{0} }, "ExpiryMonths"},
		{func(c *Config) { c.ExpiryMonths = []int{ExpiryMonthsMax + 1} }, "ExpiryMonths"},
		{func(c *Config) { c.ExpiryMonths = make([]int, ExpiriesMax+1) }, "ExpiryMonths"},
		{func(c *Config) { c.Strikes = 0 }, "Strikes"},
		{func(c *Config) { c.Strikes = StrikesMax + 1 }, "Strikes"},
		{func(c *Config) { c.ExpiryMonths = nil }, "Strikes"},
		{func(c *Config) { c.MoneynessMin = 0 }, "moneyness"},
		{func(c *Config) { c.MoneynessMin, c.MoneynessMax = 1, 1 }, "moneyness"},
		{func(c *Config) { c.MoneynessMax = math.Inf(1) }, "moneyness"},
		{func(c *Config) {
			c.Underlyings, c.Symbols, c.Spots, c.Strikes, c.ExpiryMonths = 4096, nil, nil, 64, []int{1, 2, 3, 4, 5}
		}, "instruments"},
		{func(c *Config) { c.Underlyings, c.Symbols, c.Spots, c.Strikes = 4000, nil, nil, 64 }, "bytes"},
		{func(c *Config) { c.Accounts, c.PositionsMax = AccountsMax, 100 }, "bytes"},
		{func(c *Config) { c.Sectors = 0 }, "Sectors"},
		{func(c *Config) { c.Rate = math.NaN() }, "Rate"},
		{func(c *Config) { c.Accounts = 0 }, "Accounts"},
		{func(c *Config) { c.Accounts = AccountsMax + 1 }, "Accounts"},
		{func(c *Config) { c.Firms = 0 }, "Firms"},
		{func(c *Config) { c.Firms = c.Accounts + 1 }, "Firms"},
		{func(c *Config) { c.PositionsMin = 0 }, "positions"},
		{func(c *Config) { c.PositionsMin = c.PositionsMax + 1 }, "positions"},
		{func(c *Config) { c.PositionsMax = 101 }, "positions"},
		{func(c *Config) { c.FirstAccountID = 0 }, "FirstAccountID"},
		{func(c *Config) { c.FirstAccountID = AccountIDMax }, "FirstAccountID"},
		{func(c *Config) { c.HorizonDays = 0 }, "HorizonDays"},
		{func(c *Config) { c.CreditLineWeight = 0 }, "CreditLineWeight"},
	}
	for i, tc := range cases {
		c := Demo()
		tc.mod(&c)
		_, err := Generate(c)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("case %d: error %v, want ErrConfig naming %q", i, err, tc.want)
		}
	}
}

func TestThirdFriday(t *testing.T) {
	for _, c := range []struct {
		y    int
		m    time.Month
		want string
	}{
		{2026, 11, "2026-11-20"}, {2026, 12, "2026-12-18"}, {2027, 3, "2027-03-19"},
		{2027, 14, "2028-02-18"}, // normalised month
		{2026, 5, "2026-05-15"},  // the 1st is a Friday
	} {
		got := thirdFriday(c.y, c.m)
		if got.Format("2006-01-02") != c.want || got.Hour() != expiryHourUTC || got.Weekday() != time.Friday {
			t.Errorf("thirdFriday(%d, %d) = %s, want %s 21:00", c.y, c.m, got, c.want)
		}
	}
}

func TestPricer(t *testing.T) {
	// Put–call parity and a textbook value (Hull: S=42, K=40, r=10%,
	// σ=20%, T=0.5: call 4.76, put 0.81), through black().
	f := 42 * math.Exp(0.1*0.5)
	df := math.Exp(-0.1 * 0.5)
	c, dc, _ := black(true, f, 40, 0.2, 0.5)
	p, dp, _ := black(false, f, 40, 0.2, 0.5)
	if math.Abs(df*c-4.76) > 0.005 || math.Abs(df*p-0.81) > 0.005 {
		t.Errorf("call %v put %v, want 4.76, 0.81", df*c, df*p)
	}
	if math.Abs((c-p)-(f-40)) > 1e-12 || math.Abs((dc-dp)-1) > 1e-12 {
		t.Errorf("parity: c−p = %v, f−k = %v; Δc−Δp = %v", c-p, f-40, dc-dp)
	}
	if v, d, _ := black(true, 50, 40, 0, 1); v != 10 || d != 1 {
		t.Errorf("zero-vol call: %v, %v", v, d)
	}
	// Greeks against finite differences on a generated market.
	u := mustGenerate(t, Demo())
	cfg := u.Config
	mk := newMarket(&cfg)
	for i := range mk.instruments {
		k := &mk.instruments[i]
		s0 := mk.underlyings[k.und].spot
		const vol = 0.3
		v := mk.price(k, s0, vol)
		h := s0 * 1e-4
		up, dn := mk.price(k, s0+h, vol).value, mk.price(k, s0-h, vol).value
		if fd := (up - dn) / (2 * h); math.Abs(fd-v.delta) > 1e-6*(1+math.Abs(v.delta)) {
			t.Errorf("%s: delta %v, finite difference %v", k.symbol, v.delta, fd)
		}
		if fd := (up - 2*v.value + dn) / (h * h); math.Abs(fd-v.gamma) > 1e-3*(1+math.Abs(v.gamma)) {
			t.Errorf("%s: gamma %v, finite difference %v", k.symbol, v.gamma, fd)
		}
		if k.kind.IsOption() {
			hv := 1e-5
			fd := (mk.price(k, s0, vol+hv).value - mk.price(k, s0, vol-hv).value) / (2 * hv)
			if math.Abs(fd-v.vega) > 1e-5*(1+math.Abs(v.vega)) {
				t.Errorf("%s: vega %v, finite difference %v", k.symbol, v.vega, fd)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = mk.value(&mk.instruments[7]) }); n != 0 {
		t.Errorf("value allocates %v times", n)
	}
}

func BenchmarkGenerateReference(b *testing.B) {
	cfg := Reference()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cfg.Accounts)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
}

func BenchmarkValue(b *testing.B) {
	cfg := Reference()
	mk := newMarket(&cfg)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = mk.value(&mk.instruments[i])
		if i++; i == len(mk.instruments) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "valuations/s")
}
