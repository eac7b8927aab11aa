package portfolio

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ballast-risk/ballast/engine/account"
)

// Style is a portfolio style.
type Style uint8

// Portfolio styles.
const (
	// Directional accounts hold outright spot and futures (and a few long
	// options) in one direction per underlying.
	Directional Style = iota
	// Writer accounts sell out-of-the-money puts and calls.
	Writer
	// MarketMaker accounts hold two-sided option books, delta-hedged with
	// spot.
	MarketMaker
	// Spread accounts hold offsetting pairs: verticals, calendars, pairs.
	Spread
	// StylesCount is the number of styles.
	StylesCount
)

var styleNames = [StylesCount]string{"directional", "writer", "market_maker", "spread"}

// String returns the style's name as written in workload.json.
func (s Style) String() string {
	if s < StylesCount {
		return styleNames[s]
	}
	return fmt.Sprintf("style(%d)", uint8(s))
}

// Health is the collateral band an account was sized into, relative to the
// generator's crude risk estimate (not the engine's margin).
type Health uint8

// Health bands.
const (
	// Healthy accounts hold 1.5× or more of the crude risk.
	Healthy Health = iota
	// Near accounts hold 0.8–1.15× of it: around their requirement.
	Near
	// Deep accounts hold 0.05–0.5× of it: deeply under their requirement.
	Deep
	// HealthCount is the number of bands.
	HealthCount
)

var healthNames = [HealthCount]string{"healthy", "near", "deep"}

// String returns the band's name as written in workload.json.
func (h Health) String() string {
	if h < HealthCount {
		return healthNames[h]
	}
	return fmt.Sprintf("health(%d)", uint8(h))
}

// Shares of accounts per health band.
const (
	deepShare = 0.02
	nearShare = 0.10
)

// Sizing constants.
const (
	// riskZ is the tail quantile of the crude risk estimate.
	riskZ = 2.5
	// volShockRel is the crude relative vol shock for vega risk.
	volShockRel = 0.2
	// riskFloor is the smallest crude risk, in currency units.
	riskFloor = 1000
	// legNotionalMedian is the median notional of one leg, in currency
	// units, before the firm and account scale factors.
	legNotionalMedian = 150_000
	// qtyMax bounds a generated position, in contracts or shares.
	qtyMax = 10_000_000
	// attemptsPerPosition bounds a style's tries per position before the
	// account is completed with random holdings.
	attemptsPerPosition = 32
	// tradingDaysPerYear converts the horizon to years.
	tradingDaysPerYear = 252
)

// firmType is a firm's business, which sets its accounts' style mix.
type firmType struct {
	prefix string
	weight float64              // share of firms
	scale  float64              // notional scale factor
	mix    [StylesCount]float64 // style probabilities
}

var firmTypes = [...]firmType{
	{"mm", 0.20, 3.0, [StylesCount]float64{Directional: 0, Writer: 0.05, MarketMaker: 0.80, Spread: 0.15}},
	{"hf", 0.35, 1.5, [StylesCount]float64{Directional: 0.60, Writer: 0.20, MarketMaker: 0, Spread: 0.20}},
	{"prop", 0.25, 1.0, [StylesCount]float64{Directional: 0.25, Writer: 0.10, MarketMaker: 0.15, Spread: 0.50}},
	{"vol", 0.20, 1.2, [StylesCount]float64{Directional: 0.05, Writer: 0.75, MarketMaker: 0.05, Spread: 0.15}},
}

// leg is one generated position.
type leg struct {
	inst  int // index in market.instruments
	qty   int64
	price float64
}

// genAccount is a generated account before it becomes an account.Account.
type genAccount struct {
	id         uint64
	firm       string
	style      Style
	health     Health
	legs       []leg
	cash       float64
	creditLine float64
	credit     account.Credit
	risk       float64
}

// firm is a generated firm.
type firm struct {
	name     string
	typ      *firmType
	scale    float64
	accounts int
}

// newAccounts draws the firms and their accounts.
func newAccounts(c *Config, mk *market) []genAccount {
	rng := rand.New(rand.NewPCG(c.Seed, streamAccounts))
	firms := make([]firm, c.Firms)
	weights := make([]float64, c.Firms)
	total := 0.0
	for i := range firms {
		f := &firms[i]
		f.typ = drawFirmType(rng)
		f.name = fmt.Sprintf("%s-%03d", f.typ.prefix, i+1)
		f.scale = f.typ.scale * math.Exp(0.6*rng.NormFloat64())
		f.accounts = 1
		weights[i] = math.Exp(rng.NormFloat64())
		total += weights[i]
	}
	// Every firm owns one account; the rest go by the firms' weights.
	for k := c.Firms; k < c.Accounts; k++ {
		x := rng.Float64() * total
		i := 0
		for ; i < len(firms)-1 && x >= weights[i]; i++ {
			x -= weights[i]
		}
		firms[i].accounts++
	}
	out := make([]genAccount, 0, c.Accounts)
	id := c.FirstAccountID
	for i := range firms {
		f := &firms[i]
		for range f.accounts {
			out = append(out, newAccount(c, mk, rng, f, id))
			id++
		}
	}
	return out
}

// drawFirmType draws a firm type by weight.
func drawFirmType(rng *rand.Rand) *firmType {
	x := rng.Float64()
	for i := range len(firmTypes) - 1 {
		if x < firmTypes[i].weight {
			return &firmTypes[i]
		}
		x -= firmTypes[i].weight
	}
	return &firmTypes[len(firmTypes)-1]
}

// drawStyle draws a style from mix.
func drawStyle(rng *rand.Rand, mix *[StylesCount]float64) Style {
	x := rng.Float64()
	for s := Style(0); s < StylesCount-1; s++ {
		if x < mix[s] {
			return s
		}
		x -= mix[s]
	}
	return StylesCount - 1
}

// newAccount draws one account of firm f.
func newAccount(c *Config, mk *market, rng *rand.Rand, f *firm, id uint64) genAccount {
	a := genAccount{id: id, firm: f.name, style: drawStyle(rng, &f.typ.mix)}
	target := c.PositionsMin + rng.IntN(c.PositionsMax-c.PositionsMin+1)
	b := &builder{mk: mk, rng: rng, cfg: c, target: target, held: make(map[int]bool, target),
		notional: legNotionalMedian * f.scale * math.Exp(0.5*rng.NormFloat64())}
	if len(mk.options) == 0 && a.style != Spread {
		a.style = Directional
	}
	switch a.style {
	case Directional:
		b.directional()
	case Writer:
		b.writer()
	case MarketMaker:
		b.marketMaker()
	case Spread:
		b.spread()
	}
	b.fill()
	b.entryPrices()
	a.legs = b.legs
	var upnl float64
	a.risk, upnl = b.riskAndPnL()

	// Collateral: the weighted collateral plus the unrealised P&L puts the
	// account's equity at f × its crude risk.
	var factor float64
	switch x := rng.Float64(); {
	case x < deepShare:
		a.health, factor = Deep, 0.05+0.45*rng.Float64()
	case x < deepShare+nearShare:
		a.health, factor = Near, 0.8+0.35*rng.Float64()
	default:
		a.health, factor = Healthy, 1.5*math.Exp(0.5*math.Abs(rng.NormFloat64()))
	}
	weighted := factor*a.risk - upnl
	if weighted > 0 && rng.Float64() < 0.4 {
		share := 0.1 + 0.4*rng.Float64() // of the weighted collateral, from the credit line
		a.creditLine = roundTo(weighted*share/c.CreditLineWeight, 2)
		a.cash = roundTo(weighted*(1-share), 2)
	} else {
		a.cash = roundTo(weighted, 2)
	}
	a.credit.PD = roundTo(math.Exp(math.Log(0.001)+rng.Float64()*(math.Log(0.05)-math.Log(0.001))), 5)
	a.credit.LGD = roundTo(0.4+0.4*rng.Float64(), 3)
	if rng.Float64() >= 0.25 {
		a.credit.Limit = math.Max(1000, roundTo(a.risk*(3+7*rng.Float64()), -3))
	}
	return a
}

// builder assembles one account's positions.
type builder struct {
	mk       *market
	rng      *rand.Rand
	cfg      *Config
	target   int
	notional float64 // median notional of one leg
	held     map[int]bool
	legs     []leg
}

// full reports whether the account has all its positions.
func (b *builder) full() bool { return len(b.legs) >= b.target }

// add books qty of instrument i unless it is held, zero, or the account is
// full.
func (b *builder) add(i int, qty int64) bool {
	if i < 0 || qty == 0 || b.held[i] || b.full() {
		return false
	}
	b.held[i] = true
	b.legs = append(b.legs, leg{inst: i, qty: qty})
	return true
}

// free reports whether instrument i can still be added.
func (b *builder) free(i int) bool { return i >= 0 && !b.held[i] }

// size returns the contracts of instrument i worth about notional·scale of
// underlying exposure, at least 1.
func (b *builder) size(i int, scale float64) int64 {
	k := &b.mk.instruments[i]
	u := &b.mk.underlyings[k.und]
	q := b.notional * scale * math.Exp(0.4*b.rng.NormFloat64()) / (u.spot * k.multiplier)
	return int64(math.Max(1, math.Min(math.Round(q), qtyMax)))
}

// randomUnderlying returns an underlying index.
func (b *builder) randomUnderlying() int { return b.rng.IntN(len(b.mk.underlyings)) }

// spotOf returns the index of underlying u's spot.
func (b *builder) spotOf(u int) int { return b.mk.underlyings[u].first }

// futureOf returns the index of underlying u's f-th future, or -1.
func (b *builder) futureOf(u, f int) int {
	if f < 0 || f >= len(b.mk.futures) {
		return -1
	}
	return b.mk.underlyings[u].first + 1 + f
}

// deltaOne returns a random spot or future of underlying u.
func (b *builder) deltaOne(u int) int {
	if n := len(b.mk.futures); n > 0 && b.rng.IntN(2) == 0 {
		return b.futureOf(u, b.rng.IntN(n))
	}
	return b.spotOf(u)
}

// option returns the index of underlying u's option at expiry e and strike
// index s, or -1.
func (b *builder) option(u, e, s int, put bool) int {
	n := b.cfg.Strikes
	if e < 0 || e >= len(b.mk.options) || s < 0 || s >= n {
		return -1
	}
	i := b.mk.underlyings[u].first + 1 + len(b.mk.futures) + (e*n+s)*2
	if put {
		i++
	}
	return i
}

// otmStrike returns a strike index below (puts) or above (calls) the
// middle of the strike ladder.
func (b *builder) otmStrike(put bool) int {
	n := b.cfg.Strikes
	half := n / 2
	if half == 0 {
		return 0
	}
	if put {
		return b.rng.IntN(half)
	}
	return n - 1 - b.rng.IntN(half)
}

// nearStrike returns a strike index near the middle of the ladder.
func (b *builder) nearStrike() int {
	n := b.cfg.Strikes
	s := int(math.Round(float64(n-1)/2 + b.rng.NormFloat64()*float64(n)/6))
	return min(max(s, 0), n-1)
}

// favourites returns k distinct underlyings.
func (b *builder) favourites(k int) []int {
	k = min(k, len(b.mk.underlyings))
	perm := b.rng.Perm(len(b.mk.underlyings))
	return perm[:k]
}

// sign returns +1 or −1.
func (b *builder) sign() int64 {
	if b.rng.IntN(2) == 0 {
		return -1
	}
	return 1
}

// directional: outright views, mostly delta-one, some long options.
func (b *builder) directional() {
	favs := b.favourites(2 + b.rng.IntN(4))
	bias := make(map[int]int64, len(b.mk.underlyings))
	for tries := 0; !b.full() && tries < attemptsPerPosition*b.target; tries++ {
		if tries%8 == 7 && len(favs) < len(b.mk.underlyings) {
			favs = append(favs, b.randomUnderlying()) // widen the view
		}
		u := favs[b.rng.IntN(len(favs))]
		if bias[u] == 0 {
			bias[u] = b.sign()
		}
		if b.rng.Float64() < 0.75 || len(b.mk.options) == 0 {
			i := b.deltaOne(u)
			dir := bias[u]
			if b.rng.Float64() < 0.1 {
				dir = -dir // a calendar hedge
			}
			b.add(i, dir*b.size(i, 1))
			continue
		}
		put := bias[u] < 0
		i := b.option(u, b.rng.IntN(len(b.mk.options)), b.nearStrike(), put)
		b.add(i, b.size(i, 0.3))
	}
}

// writer: short out-of-the-money options, a few covering positions.
func (b *builder) writer() {
	favs := b.favourites(1 + b.rng.IntN(4))
	for tries := 0; !b.full() && tries < attemptsPerPosition*b.target; tries++ {
		if tries%8 == 7 && len(favs) < len(b.mk.underlyings) {
			favs = append(favs, b.randomUnderlying())
		}
		u := favs[b.rng.IntN(len(favs))]
		e := b.rng.IntN(len(b.mk.options))
		switch x := b.rng.Float64(); {
		case x < 0.5:
			i := b.option(u, e, b.otmStrike(true), true)
			b.add(i, -b.size(i, 0.5))
		case x < 0.85:
			i := b.option(u, e, b.otmStrike(false), false)
			b.add(i, -b.size(i, 0.5))
		case x < 0.93:
			i := b.option(u, e, b.nearStrike(), b.rng.IntN(2) == 0)
			b.add(i, -b.size(i, 0.3))
		default:
			i := b.deltaOne(u)
			b.add(i, b.sign()*b.size(i, 0.5))
		}
	}
}

// marketMaker: two-sided option books on a few underlyings, each
// delta-hedged with spot.
func (b *builder) marketMaker() {
	k := 1 + b.rng.IntN(3)
	if b.target < 2 {
		k = 0
	} else {
		k = min(k, b.target/2)
	}
	favs := b.favourites(max(k, 1))
	options := b.target - k
	for tries := 0; len(b.legs) < options && tries < attemptsPerPosition*b.target; tries++ {
		u := favs[b.rng.IntN(len(favs))]
		i := b.option(u, b.rng.IntN(len(b.mk.options)), b.nearStrike(), b.rng.IntN(2) == 0)
		b.add(i, b.sign()*b.size(i, 0.4))
	}
	if k == 0 {
		return
	}
	// Hedge each book's delta (in shares) with the underlying's spot.
	delta := make(map[int]float64, len(favs))
	for _, l := range b.legs {
		in := &b.mk.instruments[l.inst]
		delta[in.und] += float64(l.qty) * in.multiplier * b.mk.value(in).delta
	}
	for _, u := range favs {
		q := -int64(math.Round(delta[u]))
		if q == 0 {
			q = b.sign()
		}
		b.add(b.spotOf(u), max(-qtyMax, min(q, qtyMax)))
	}
}

// spread: offsetting pairs of legs.
func (b *builder) spread() {
	mk := b.mk
	for tries := 0; len(b.legs)+2 <= b.target && tries < attemptsPerPosition*b.target; tries++ {
		u := b.randomUnderlying()
		var i, j int
		var qi, qj int64
		switch x := b.rng.Float64(); {
		case x < 0.3 && len(mk.options) > 0 && b.cfg.Strikes > 1: // vertical
			e, put := b.rng.IntN(len(mk.options)), b.rng.IntN(2) == 0
			s1 := b.rng.IntN(b.cfg.Strikes)
			s2 := (s1 + 1 + b.rng.IntN(b.cfg.Strikes-1)) % b.cfg.Strikes
			i, j = b.option(u, e, s1, put), b.option(u, e, s2, put)
			qi = b.sign() * b.size(i, 0.4)
			qj = -qi
		case x < 0.55 && len(mk.futures) > 1: // futures calendar
			f1 := b.rng.IntN(len(mk.futures))
			f2 := (f1 + 1 + b.rng.IntN(len(mk.futures)-1)) % len(mk.futures)
			i, j = b.futureOf(u, f1), b.futureOf(u, f2)
			qi = b.sign() * b.size(i, 1)
			qj = -qi
		case x < 0.8 && len(mk.underlyings) > 1: // pairs: same sector when possible
			v := b.randomUnderlying()
			for t := 0; t < 8 && (v == u || mk.underlyings[v].sector != mk.underlyings[u].sector); t++ {
				v = b.randomUnderlying()
			}
			if v == u {
				continue
			}
			i, j = b.spotOf(u), b.spotOf(v)
			qi = b.sign() * b.size(i, 1)
			// Dollar-neutral.
			qj = -qi / abs(qi) * int64(math.Max(1, math.Round(float64(abs(qi))*mk.underlyings[u].spot/mk.underlyings[v].spot)))
		case len(mk.options) > 1: // option calendar
			e1 := b.rng.IntN(len(mk.options))
			e2 := (e1 + 1 + b.rng.IntN(len(mk.options)-1)) % len(mk.options)
			s, put := b.nearStrike(), b.rng.IntN(2) == 0
			i, j = b.option(u, e1, s, put), b.option(u, e2, s, put)
			qi = b.sign() * b.size(i, 0.4)
			qj = -qi
		default:
			continue
		}
		if i == j || !b.free(i) || !b.free(j) {
			continue
		}
		b.add(i, qi)
		b.add(j, qj)
	}
	if !b.full() {
		i := b.deltaOne(b.randomUnderlying())
		b.add(i, b.sign()*b.size(i, 0.5))
	}
}

// fill completes the account with random holdings when its style ran out
// of tries (small universes): the next free instruments from a random
// start, so it always ends.
func (b *builder) fill() {
	n := len(b.mk.instruments)
	start := b.rng.IntN(n)
	for k := 0; !b.full() && k < n; k++ {
		i := (start + k) % n
		if b.free(i) {
			scale := 0.5
			if b.mk.instruments[i].kind.IsOption() {
				scale = 0.2
			}
			b.add(i, b.sign()*b.size(i, scale))
		}
	}
}

// entryPrices sets each leg's entry price near its model value: options
// and futures within a few percent, spot moved by a few days of its vol.
func (b *builder) entryPrices() {
	for li := range b.legs {
		l := &b.legs[li]
		k := &b.mk.instruments[l.inst]
		v := b.mk.value(k).value
		var p float64
		if k.kind.IsOption() {
			p = v * math.Exp(0.03*b.rng.NormFloat64())
		} else {
			days := 10 * b.rng.Float64()
			p = v * math.Exp(b.mk.underlyings[k.und].atm*math.Sqrt(days/tradingDaysPerYear)*b.rng.NormFloat64())
		}
		l.price = math.Max(roundTo(p, 2), 0.01)
	}
}

// riskAndPnL returns the crude risk estimate and the unrealised P&L of the
// account's legs. Per underlying, risk = z·|Δ|·S·σ·√h + ½·|Γ|·(z·S·σ·√h)² +
// |ν|·0.2·σ, summed without diversification: a rough stand-in for the
// engine's margin, enough to size collateral into health bands.
func (b *builder) riskAndPnL() (risk, upnl float64) {
	type greeks struct{ delta, gamma, vega float64 }
	per := make(map[int]*greeks, 4)
	order := make([]int, 0, 4)
	for _, l := range b.legs {
		k := &b.mk.instruments[l.inst]
		v := b.mk.value(k)
		n := float64(l.qty) * k.multiplier
		g := per[k.und]
		if g == nil {
			g = &greeks{}
			per[k.und] = g
			order = append(order, k.und)
		}
		g.delta += n * v.delta
		g.gamma += n * v.gamma
		g.vega += n * v.vega
		upnl += n * (v.value - l.price)
	}
	h := math.Sqrt(b.cfg.HorizonDays / tradingDaysPerYear)
	for _, ui := range order {
		u := &b.mk.underlyings[ui]
		g := per[ui]
		move := riskZ * u.spot * u.atm * h
		risk += math.Abs(g.delta)*move + 0.5*math.Abs(g.gamma)*move*move + math.Abs(g.vega)*volShockRel*u.atm
	}
	return math.Max(risk, riskFloor), upnl
}

// toAccount converts a to the engine's type.
func (a *genAccount) toAccount(mk *market) *account.Account {
	out := &account.Account{ID: a.id, Firm: a.firm, Credit: a.credit}
	out.Collateral[account.Cash] = a.cash
	out.Collateral[account.CreditLine] = a.creditLine
	for _, l := range a.legs {
		out.Positions = append(out.Positions, account.Position{Instrument: mk.instruments[l.inst].id, Qty: l.qty, Price: l.price})
	}
	slices.SortFunc(out.Positions, func(x, y account.Position) int { return cmp.Compare(x.Instrument, y.Instrument) })
	return out
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
