// Package portfolio is the simulated exchange's book of record: it
// generates, deterministically from a seed, an instrument universe
// (underlyings with SVI smiles and a sector correlation structure; spot,
// quarterly futures, and European options priced Black–Scholes–Merton on
// spot or Black-76 on a future), the firms and accounts that trade it, and
// their portfolios and collateral. It writes them in the engine's file
// formats (engine/instrument, engine/account) so Ballast can load them, and
// it is the source of the reference workloads under bench/workload.
//
// Generate is a pure function of its Config: the master depends only on the
// seed and the market fields, the accounts on the seed and every field, and
// WriteFiles writes byte-identical files for equal configs on one GOARCH.
package portfolio

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/sim/itchgen"
)

// GeneratorVersion is written to workload.json; bump it whenever the same
// Config starts producing different files.
const GeneratorVersion = 1

// Bounds on a Config.
const (
	// UnderlyingsMax bounds Config.Underlyings.
	UnderlyingsMax = instrument.UnderlyingsMax
	// FuturesMax bounds Config.Futures (quarterly contracts per underlying).
	FuturesMax = 16
	// ExpiriesMax bounds len(Config.ExpiryMonths).
	ExpiriesMax = 24
	// ExpiryMonthsMax bounds an option expiry, in months ahead of AsOf.
	ExpiryMonthsMax = 120
	// StrikesMax bounds Config.Strikes (per expiry and option type).
	StrikesMax = 64
	// SectorsMax bounds Config.Sectors.
	SectorsMax = 64
	// AccountsMax bounds Config.Accounts.
	AccountsMax = account.AccountsMax
	// FirmsMax bounds Config.Firms.
	FirmsMax = 100_000
	// PositionsMax bounds Config.PositionsMax.
	PositionsMax = account.PositionsMax
	// AccountIDMax bounds the account ids a Config may produce.
	AccountIDMax = 1 << 53
)

// ErrConfig reports an unusable Config; the message names the field.
var ErrConfig = errors.New("portfolio: bad config")

// Config describes a universe to generate. The zero value is not usable:
// start from Reference or Demo and adjust.
type Config struct {
	// Name labels the universe in workload.json ("reference", "demo").
	Name string
	// Seed selects the universe: equal configs give identical files.
	Seed uint64
	// AsOf is the valuation instant; expiries are placed relative to it.
	AsOf time.Time

	// Underlyings is the number of underlyings (1..UnderlyingsMax).
	Underlyings int
	// Symbols optionally names the underlyings (also their ITCH symbols);
	// when empty they are itchgen.GenerateSymbols(Underlyings), the names
	// the simulated feed gives its books.
	Symbols []string
	// Spots optionally fixes the underlyings' initial marks; when empty
	// they are drawn log-uniformly in [SpotMin, SpotMax].
	Spots []float64
	// SpotMin and SpotMax bound drawn spots, in currency units.
	SpotMin, SpotMax float64
	// Futures is the number of quarterly futures per underlying: the next
	// Mar/Jun/Sep/Dec third Fridays after AsOf.
	Futures int
	// ExpiryMonths are the option expiries, in months ahead of AsOf
	// (strictly increasing); each is the third Friday of that month.
	ExpiryMonths []int
	// Strikes is the number of strikes per expiry; each strike has a call
	// and a put.
	Strikes int
	// MoneynessMin and MoneynessMax bound the strikes as multiples of the
	// expiry's forward; strikes are spread evenly between them.
	MoneynessMin, MoneynessMax float64
	// Sectors is the number of correlation sectors.
	Sectors int
	// Rate is the continuously compounded risk-free rate.
	Rate float64

	// Firms is the number of firms (1..Accounts); each owns at least one
	// account.
	Firms int
	// Accounts is the number of accounts.
	Accounts int
	// PositionsMin and PositionsMax bound each account's number of
	// positions (distinct instruments), drawn uniformly.
	PositionsMin, PositionsMax int
	// FirstAccountID is the first account id; ids are consecutive.
	FirstAccountID uint64
	// HorizonDays is the margin horizon, in trading days, that collateral
	// is sized for.
	HorizonDays float64
	// CreditLineWeight is the collateral weight assumed for credit lines
	// when sizing collateral (DESIGN §4: 0.20–0.50).
	CreditLineWeight float64
}

// ReferenceAsOf is the valuation instant of the committed reference
// workload (the November 2026 monthly expiry, 16:00 New York).
var ReferenceAsOf = time.Date(2026, 11, 20, 21, 0, 0, 0, time.UTC)

// Reference is the benchmark preset: 20 underlyings of 100 instruments each
// (1 spot, 3 quarterly futures, 12 strikes × call/put at the 1m, 3m, 6m and
// 1y expiries), 50 firms, 10,000 accounts of exactly 20 positions.
func Reference() Config {
	return Config{
		Name: "reference", Seed: 1, AsOf: ReferenceAsOf,
		Underlyings: 20, SpotMin: 20, SpotMax: 500,
		Futures: 3, ExpiryMonths: []int{1, 3, 6, 12}, Strikes: 12, MoneynessMin: 0.7, MoneynessMax: 1.3,
		Sectors: 4, Rate: 0.04,
		Firms: 50, Accounts: 10_000, PositionsMin: 20, PositionsMax: 20, FirstAccountID: 100_001,
		HorizonDays: 2, CreditLineWeight: 0.35,
	}
}

// DemoFeedSeed and DemoFeedSymbols are the simulated exchange that ballastd
// runs by default (--seed 1, itchgen's default symbol count); Demo takes its
// underlyings and their spots from that feed so the demo marks them.
const (
	DemoFeedSeed    = 1
	DemoFeedSymbols = itchgen.DefaultSymbolCount
)

// Demo is a small preset for the ballastd demo: the first 5 symbols of the
// demo feed at its opening mids, 20 instruments each (1 spot, 3 futures, 4
// strikes × call/put at 1m and 3m), 10 firms, 100 accounts of 5–12
// positions.
func Demo() Config {
	const n = 5
	return Config{
		Name: "demo", Seed: 1, AsOf: ReferenceAsOf,
		Underlyings: n, Symbols: itchgen.GenerateSymbols(n), Spots: demoSpots(n),
		SpotMin: 20, SpotMax: 500,
		Futures: 3, ExpiryMonths: []int{1, 3}, Strikes: 4, MoneynessMin: 0.85, MoneynessMax: 1.15,
		Sectors: 2, Rate: 0.04,
		Firms: 10, Accounts: 100, PositionsMin: 5, PositionsMax: 12, FirstAccountID: 1001,
		HorizonDays: 2, CreditLineWeight: 0.35,
	}
}

// feedMessagesMax bounds the messages FeedSpots reads while waiting for
// two-sided books.
const feedMessagesMax = 1 << 20

// FeedSpots returns the opening mid-prices, in currency units, of the first
// n books of the itchgen session with the given seed and symbol count, in
// the configuration ballastd's simulated exchange uses: for each book, the
// mid of its first two-sided quote. A book still one-sided after
// feedMessagesMax messages gets its best price instead.
func FeedSpots(seed uint64, symbols, n int) ([]float64, error) {
	if n < 1 || n > symbols {
		return nil, fmt.Errorf("%w: FeedSpots of %d books in a session of %d symbols", ErrConfig, n, symbols)
	}
	g, err := itchgen.New(itchgen.Config{SymbolCount: symbols, Seed: seed, Rate: itchgen.DefaultRate})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	out := make([]float64, n)
	missing := n
	var m itch.Message
	for i := 0; missing > 0 && i < feedMessagesMax && g.Next(&m); i++ {
		loc := m.StockLocate
		if loc == 0 || int(loc) > n || out[loc-1] != 0 {
			continue
		}
		if t, _ := g.Book(loc); t.Bid > 0 && t.Ask > 0 {
			out[loc-1] = roundTo(float64(t.Bid+t.Ask)/2/1e4, 2)
			missing--
		}
	}
	for j := range out {
		if out[j] == 0 {
			t, _ := g.Book(uint16(j + 1))
			if out[j] = roundTo(float64(max(t.Last, t.Bid, t.Ask))/1e4, 2); out[j] == 0 {
				return nil, fmt.Errorf("%w: feed book %d never quoted", ErrConfig, j+1)
			}
		}
	}
	return out, nil
}

// demoSpots are FeedSpots of the demo feed's first n books; the demo feed's
// constants are valid, so an error is a broken invariant.
func demoSpots(n int) []float64 {
	s, err := FeedSpots(DemoFeedSeed, DemoFeedSymbols, n)
	if err != nil {
		panic(fmt.Sprintf("portfolio: the demo feed: %v", err))
	}
	return s
}

// InstrumentsPerUnderlying is the number of instruments written on each
// underlying: its spot, its futures and its options.
func (c *Config) InstrumentsPerUnderlying() int {
	return 1 + c.Futures + 2*len(c.ExpiryMonths)*c.Strikes
}

// Upper bounds on the JSON written per element, for the file-size checks.
const (
	instrumentLineBytesMax   = 256
	underlyingLineBytesMax   = 160
	sliceBytesMax            = 160
	correlationEntryBytesMax = 8
	accountLineBytesMax      = 192
	positionBytesMax         = 64
)

// masterBytesMax bounds the size of c's master file.
func (c *Config) masterBytesMax() int64 {
	n := int64(c.Underlyings)
	return 1024 + n*(underlyingLineBytesMax+int64(len(c.ExpiryMonths))*sliceBytesMax) +
		n*(n+2)*correlationEntryBytesMax + n*int64(c.InstrumentsPerUnderlying())*instrumentLineBytesMax
}

// accountsBytesMax bounds the size of c's accounts document.
func (c *Config) accountsBytesMax() int64 {
	return 64 + int64(c.Accounts)*(accountLineBytesMax+int64(c.PositionsMax)*positionBytesMax)
}

// check validates c.
func (c *Config) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	if c.AsOf.IsZero() {
		return bad("AsOf is not set")
	}
	if y := c.AsOf.Year(); y < 1900 || y > 9000 {
		return bad("AsOf %s outside years 1900..9000", c.AsOf.Format(time.RFC3339))
	}
	if c.Underlyings < 1 || c.Underlyings > UnderlyingsMax {
		return bad("Underlyings %d outside 1..%d", c.Underlyings, UnderlyingsMax)
	}
	if len(c.Symbols) != 0 && len(c.Symbols) != c.Underlyings {
		return bad("%d Symbols for %d Underlyings", len(c.Symbols), c.Underlyings)
	}
	seen := make(map[string]bool, len(c.Symbols))
	for i, s := range c.Symbols {
		if s == "" || len(s) > instrument.ITCHSymbolBytesMax {
			return bad("Symbols[%d] %q: want 1..%d bytes", i, s, instrument.ITCHSymbolBytesMax)
		}
		for j := 0; j < len(s); j++ {
			if s[j] <= ' ' || s[j] > '~' {
				return bad("Symbols[%d] %q: want printable ASCII without spaces", i, s)
			}
		}
		if seen[s] {
			return bad("Symbols[%d] %q listed twice", i, s)
		}
		seen[s] = true
	}
	if !(c.SpotMin > 0 && c.SpotMax >= c.SpotMin && c.SpotMax <= 1e6) {
		return bad("SpotMin %v SpotMax %v: want 0 < SpotMin <= SpotMax <= 1e6", c.SpotMin, c.SpotMax)
	}
	if len(c.Spots) != 0 && len(c.Spots) != c.Underlyings {
		return bad("%d Spots for %d Underlyings", len(c.Spots), c.Underlyings)
	}
	for i, s := range c.Spots {
		if !(s > 0 && s <= 1e6) {
			return bad("Spots[%d] %v outside (0, 1e6]", i, s)
		}
	}
	if c.Futures < 0 || c.Futures > FuturesMax {
		return bad("Futures %d outside 0..%d", c.Futures, FuturesMax)
	}
	if len(c.ExpiryMonths) > ExpiriesMax {
		return bad("%d ExpiryMonths, at most %d", len(c.ExpiryMonths), ExpiriesMax)
	}
	for i, m := range c.ExpiryMonths {
		if m < 1 || m > ExpiryMonthsMax || (i > 0 && m <= c.ExpiryMonths[i-1]) {
			return bad("ExpiryMonths %v: want strictly increasing months in 1..%d", c.ExpiryMonths, ExpiryMonthsMax)
		}
	}
	if len(c.ExpiryMonths) > 0 {
		if c.Strikes < 1 || c.Strikes > StrikesMax {
			return bad("Strikes %d outside 1..%d", c.Strikes, StrikesMax)
		}
		if !(c.MoneynessMin > 0.05 && c.MoneynessMax <= 20 && c.MoneynessMin <= c.MoneynessMax) ||
			(c.Strikes > 1 && !(c.MoneynessMax/c.MoneynessMin >= 1.001)) {
			return bad("moneyness %v..%v: want 0.05 < min < max <= 20, a range for several strikes",
				c.MoneynessMin, c.MoneynessMax)
		}
	} else if c.Strikes != 0 {
		return bad("Strikes %d without ExpiryMonths", c.Strikes)
	}
	if total := c.Underlyings * c.InstrumentsPerUnderlying(); total > instrument.InstrumentsMax {
		return bad("%d instruments over the master's bound of %d", total, instrument.InstrumentsMax)
	}
	if est := c.masterBytesMax(); est > instrument.FileBytesMax {
		return bad("a master of %d underlyings and %d instruments could take %d bytes, over the loader's %d",
			c.Underlyings, c.Underlyings*c.InstrumentsPerUnderlying(), est, instrument.FileBytesMax)
	}
	if c.Sectors < 1 || c.Sectors > SectorsMax {
		return bad("Sectors %d outside 1..%d", c.Sectors, SectorsMax)
	}
	if !(c.Rate >= -0.2 && c.Rate <= 0.5) {
		return bad("Rate %v outside [-0.2, 0.5]", c.Rate)
	}
	if c.Accounts < 1 || c.Accounts > AccountsMax {
		return bad("Accounts %d outside 1..%d", c.Accounts, AccountsMax)
	}
	if c.Firms < 1 || c.Firms > FirmsMax || c.Firms > c.Accounts {
		return bad("Firms %d outside 1..min(%d, Accounts %d)", c.Firms, FirmsMax, c.Accounts)
	}
	instruments := c.Underlyings * c.InstrumentsPerUnderlying()
	if c.PositionsMin < 1 || c.PositionsMax < c.PositionsMin || c.PositionsMax > PositionsMax || c.PositionsMax > instruments {
		return bad("positions %d..%d: want 1 <= min <= max <= min(%d, %d instruments)",
			c.PositionsMin, c.PositionsMax, PositionsMax, instruments)
	}
	if est := c.accountsBytesMax(); est > account.FileBytesMax {
		return bad("%d accounts of up to %d positions could take %d bytes, over the loader's %d",
			c.Accounts, c.PositionsMax, est, account.FileBytesMax)
	}
	if c.FirstAccountID == 0 || c.FirstAccountID > AccountIDMax-uint64(c.Accounts) {
		return bad("FirstAccountID %d: want 1..%d", c.FirstAccountID, AccountIDMax-uint64(c.Accounts))
	}
	if !(c.HorizonDays >= 1 && c.HorizonDays <= 30) {
		return bad("HorizonDays %v outside [1, 30]", c.HorizonDays)
	}
	if !(c.CreditLineWeight > 0 && c.CreditLineWeight <= 1) {
		return bad("CreditLineWeight %v outside (0, 1]", c.CreditLineWeight)
	}
	return nil
}

// roundTo rounds x to dp decimal places.
func roundTo(x float64, dp int) float64 {
	p := math.Pow10(dp)
	return math.Round(x*p) / p
}
