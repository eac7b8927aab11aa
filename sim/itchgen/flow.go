package itchgen

import (
	"math"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

// Relative weights of continuous-trading events for a book at its target
// depth (adds and removals scale with depth to keep it there).
const (
	wAdd      = 430
	wDelete   = 330
	wCancel   = 25
	wReplace  = 90
	wExec     = 25
	wExecPx   = 6
	wTrade    = 15
	wSprinkle = 1
)

// staleUnits is how far (in price units) the mid must pass a resting level
// before aggressive flow trades it.
const staleUnits = TickUnits / 2

var noReason = [4]byte{' ', ' ', ' ', ' '}

// random emits one continuous-trading message.
func (g *Generator) random(m *itch.Message) {
	// The clock advances before the book is looked at, so the mid path is
	// evaluated at this message's time.
	g.advance()
	g.randomNow(m)
}

// randomNow emits one continuous-trading message at the current time.
func (g *Generator) randomNow(m *itch.Message) {
	if !g.mwcbDone && g.contEmitted >= g.mwcbAt {
		g.mwcbDone = true
		g.stamp(m, itch.TypeMWCBStatus, 0)
		m.MWCBStatus = itch.MWCBStatus{BreachedLevel: '1'}
		return
	}
	sy := g.pickSymbol()
	g.evolve(sy)
	trading := sy.state == 'T'
	if trading {
		// Aggressive flow: a mid that has moved through resting orders
		// (by more than half a tick, so that a mid hovering at a level
		// does not churn it) trades them.
		if l := sy.asks.best(); l != nil && float64(l.price)+staleUnits < sy.mid*1e4 {
			g.execute(m, sy, false, false, g.rng.Float64() < 0.8)
			return
		}
		if l := sy.bids.best(); l != nil && float64(l.price)-staleUnits > sy.mid*1e4 {
			g.execute(m, sy, true, false, g.rng.Float64() < 0.8)
			return
		}
		if sy.regSHO == '0' && sy.openPrice > 0 && sy.mid*1e4 < 0.9*float64(sy.openPrice) {
			sy.regSHO = '1'
			g.stamp(m, itch.TypeRegSHO, sy.locate)
			m.RegSHO = itch.RegSHO{Stock: sy.stock, RegSHOAction: '1'}
			return
		}
		if g.s.haltRate > 0 && g.rng.Float64() < g.s.haltRate && g.paused < g.pausedMax && g.canSchedule(resumeLen) {
			g.halt(m, sy)
			return
		}
	}
	n := len(sy.live)
	t := float64(g.target)
	depth := float64(n) / t
	var w [8]float64
	if n < g.s.bookOrdersMax {
		w[0] = wAdd * t / math.Max(float64(n), t/4)
	}
	if n > 0 {
		w[1] = wDelete * depth
		w[2] = wCancel * depth
		w[3] = wReplace * depth
		if trading {
			w[4] = wExec
			w[5] = wExecPx
		}
	}
	if trading {
		w[6] = wTrade
	}
	w[7] = wSprinkle
	total := 0.0
	for _, x := range w {
		total += x
	}
	x := g.rng.Float64() * total
	ev := 0
	for ev < len(w)-1 && x >= w[ev] {
		x -= w[ev]
		ev++
	}
	switch ev {
	case 0:
		if g.add(m, sy) {
			return
		}
	case 1:
		g.delete(m, sy)
		return
	case 2:
		g.cancel(m, sy)
		return
	case 3:
		if g.replace(m, sy) {
			return
		}
	case 4, 5:
		buy := sy.asks.best() == nil || (sy.bids.best() != nil && g.rng.IntN(2) == 0)
		g.execute(m, sy, buy, ev == 5, false)
		return
	case 6:
		g.trade(m, sy)
		return
	}
	g.sprinkle(m, sy)
}

// add rests a new order near the touch; false when no price fits.
func (g *Generator) add(m *itch.Message, sy *symbol) bool {
	buy := g.rng.IntN(2) == 0
	if sy.bids.best() == nil && sy.asks.best() != nil {
		buy = g.rng.Float64() < 0.75
	} else if sy.asks.best() == nil && sy.bids.best() != nil {
		buy = g.rng.Float64() < 0.25
	}
	k := int64(g.geometric(lnQ30, distTicks))
	var ticks int64
	if buy {
		ticks = int64(passiveLimit(sy, true)/TickUnits) - k
	} else {
		ticks = int64(passiveLimit(sy, false)/TickUnits) + k
	}
	price := uint32(max(ticks, 1)) * TickUnits
	// Sometimes improve a wide spread by a tick (staying on its side of
	// the mid).
	if bb, ok := sy.bids.bestPrice(); ok {
		if ba, ok := sy.asks.bestPrice(); ok && ba-bb > TickUnits && g.rng.Float64() < 0.1 {
			if buy {
				price = min(bb+TickUnits, passiveLimit(sy, true))
			} else {
				price = max(ba-TickUnits, passiveLimit(sy, false))
			}
		}
	}
	price, ok := priceLimit(sy, buy, price)
	if !ok {
		return false
	}
	shares := g.lot()
	_, ref := g.insertOrder(sy, buy, price, shares)
	typ := itch.TypeAddOrder
	var attr [4]byte
	if g.rng.Float64() < mpidRegular {
		typ = itch.TypeAddOrderMPID
		attr = mpids[g.rng.IntN(len(mpids))]
	}
	g.stamp(m, typ, sy.locate)
	m.AddOrder = itch.AddOrder{OrderRef: ref, Side: sideByte(buy), Shares: shares, Stock: sy.stock,
		Price: price, Attribution: attr}
	return true
}

// passiveLimit is the most aggressive price a passive order may take: the
// tick strictly below the mid for a buy, strictly above it for a sell (at
// least one tick).
func passiveLimit(sy *symbol, buy bool) uint32 {
	cents := sy.mid * 100
	if buy {
		return uint32(max(int64(math.Ceil(cents))-1, 1)) * TickUnits
	}
	return uint32(int64(math.Floor(cents))+1) * TickUnits
}

func sideByte(buy bool) byte {
	if buy {
		return 'B'
	}
	return 'S'
}

// stamp fills m's header at the current time (the clock has advanced).
func (g *Generator) stamp(m *itch.Message, typ byte, locate uint16) {
	m.Header = itch.Header{Type: typ, StockLocate: locate, Timestamp: g.now}
}

// randomOrder returns a random live order of sy (which has one).
func (g *Generator) randomOrder(sy *symbol) int32 {
	return sy.live[g.rng.IntN(len(sy.live))]
}

// delete removes a live order, preferring orders far from the mid.
func (g *Generator) delete(m *itch.Message, sy *symbol) {
	a, b := g.randomOrder(sy), g.randomOrder(sy)
	mid := sy.mid * 1e4
	if math.Abs(float64(g.pool.orders[b].price)-mid) > math.Abs(float64(g.pool.orders[a].price)-mid) {
		a = b
	}
	ref := g.pool.orders[a].ref
	g.removeOrder(sy, a)
	g.stamp(m, itch.TypeOrderDelete, sy.locate)
	m.OrderDelete = itch.OrderDelete{OrderRef: ref}
}

// cancel cancels part of a live order (or deletes a one-share order).
func (g *Generator) cancel(m *itch.Message, sy *symbol) {
	oi := g.randomOrder(sy)
	o := &g.pool.orders[oi]
	if o.shares < 2 {
		ref := o.ref
		g.removeOrder(sy, oi)
		g.stamp(m, itch.TypeOrderDelete, sy.locate)
		m.OrderDelete = itch.OrderDelete{OrderRef: ref}
		return
	}
	n := 1 + uint32(g.rng.IntN(int(o.shares-1)))
	ref := o.ref
	g.sideOf(sy, o.buy).reduce(&g.pool, oi, n)
	g.stamp(m, itch.TypeOrderCancel, sy.locate)
	m.OrderCancel = itch.OrderCancel{OrderRef: ref, Shares: n}
}

// replace moves a live order to a nearby price with a new size and a new
// reference number; false when no price fits.
func (g *Generator) replace(m *itch.Message, sy *symbol) bool {
	oi := g.randomOrder(sy)
	o := g.pool.orders[oi]
	step := int64(g.geometric(lnQ50, 10)) * TickUnits
	toward := float64(o.price) < sy.mid*1e4 // up moves towards the mid
	if g.rng.Float64() < 0.4 {
		toward = !toward
	}
	p := int64(o.price)
	if toward {
		p += step
	} else {
		p -= step
	}
	// A replaced order stays passive: on its side of the mid.
	if lim := int64(passiveLimit(sy, o.buy)); o.buy {
		p = min(p, lim)
	} else {
		p = max(p, lim)
	}
	price, ok := priceLimit(sy, o.buy, uint32(max(p, TickUnits)))
	if !ok {
		return false
	}
	shares := g.lot()
	g.removeOrder(sy, oi)
	_, ref := g.insertOrder(sy, o.buy, price, shares)
	g.stamp(m, itch.TypeOrderReplace, sy.locate)
	m.OrderReplace = itch.OrderReplace{OrigOrderRef: o.ref, NewOrderRef: ref, Shares: shares, Price: price}
	return true
}

// execute trades the oldest order at the best bid (buy) or ask against
// incoming flow: 'E', or 'C' when withPrice. full takes the whole order.
func (g *Generator) execute(m *itch.Message, sy *symbol, buy, withPrice, full bool) {
	sd := g.sideOf(sy, buy)
	l := sd.best()
	oi := l.head
	o := &g.pool.orders[oi]
	n := o.shares
	if !full && n > 1 && g.rng.Float64() < 0.45 {
		n = 1 + uint32(g.rng.IntN(int(n-1)))
	}
	ref, price := o.ref, o.price
	match := g.newMatch(sy.locate)
	if n == o.shares {
		g.removeOrder(sy, oi)
	} else {
		sd.reduce(&g.pool, oi, n)
	}
	if !withPrice {
		sy.last = price
		g.stamp(m, itch.TypeOrderExecuted, sy.locate)
		m.OrderExecuted = itch.OrderExecuted{OrderRef: ref, Shares: n, MatchNumber: match}
		return
	}
	printable := byte('N')
	px := midUnits(sy.mid)
	if g.rng.Float64() < 0.4 {
		// A printable execution at or better than the order's price for
		// its owner: a tick lower for a bid, higher for an offer.
		printable = 'Y'
		px = price
		if g.rng.IntN(2) == 0 {
			if buy && px > TickUnits {
				px -= TickUnits
			} else if !buy {
				px += TickUnits
			}
		}
		sy.last = px
	}
	g.stamp(m, itch.TypeOrderExecutedWithPrice, sy.locate)
	m.OrderExecutedWithPrice = itch.OrderExecutedWithPrice{OrderRef: ref, Shares: n, MatchNumber: match,
		Printable: printable, Price: px}
}

// trade prints a hidden (non-displayed) execution inside the spread.
func (g *Generator) trade(m *itch.Message, sy *symbol) {
	px := midUnits(sy.mid)
	bb, okb := sy.bids.bestPrice()
	ba, oka := sy.asks.bestPrice()
	if okb && oka {
		px = bb + uint32(g.rng.IntN(int((ba-bb)/TickUnits)+1))*TickUnits
	}
	px = max(px, TickUnits)
	shares := g.lot()
	sy.last = px
	g.stamp(m, itch.TypeTrade, sy.locate)
	m.Trade = itch.Trade{Side: sideByte(g.rng.IntN(2) == 0), Shares: shares, Stock: sy.stock,
		Price: px, MatchNumber: g.newMatch(sy.locate)}
}

// halt starts a volatility pause on sy and schedules its reopening.
func (g *Generator) halt(m *itch.Message, sy *symbol) {
	sy.state = 'P'
	g.paused++
	g.stats.Halts++
	g.addTimer(timer{due: g.now + g.s.haltNs, locate: sy.locate, kind: kindResume, n: resumeLen})
	g.stamp(m, itch.TypeStockTradingAction, sy.locate)
	m.StockTradingAction = itch.StockTradingAction{Stock: sy.stock, TradingState: 'P', Reserved: ' ',
		Reason: [4]byte{'L', 'U', 'D', 'P'}}
}

// sprinkle emits one of the rarer informational messages.
func (g *Generator) sprinkle(m *itch.Message, sy *symbol) {
	mid := midUnits(sy.mid)
	r := g.rng.Float64()
	switch {
	case r < 0.2 && g.recentN > 0:
		// Break one of the recent executions; the book is unaffected.
		x := g.recent[(g.nextMatch-1-uint64(g.rng.IntN(g.recentN)))%recentMax]
		g.stamp(m, itch.TypeBrokenTrade, x.locate)
		m.BrokenTrade = itch.BrokenTrade{MatchNumber: x.match}
	case r < 0.3:
		g.stamp(m, itch.TypeIPOQuotingPeriod, sy.locate)
		q := byte('A')
		if g.rng.IntN(5) == 0 {
			q = 'C'
		}
		m.IPOQuotingPeriod = itch.IPOQuotingPeriod{Stock: sy.stock,
			IPOQuotationReleaseTime: uint32(g.now/1e9) + 600, IPOQuotationReleaseQualifier: q, IPOPrice: mid}
	case r < 0.4:
		g.stamp(m, itch.TypeDLCRPriceDiscovery, sy.locate)
		m.DLCRPriceDiscovery = itch.DLCRPriceDiscovery{Stock: sy.stock, OpenEligibilityStatus: 'N',
			MinimumAllowablePrice: scale(mid, 0.8), MaximumAllowablePrice: scale(mid, 1.2),
			NearExecutionPrice: mid, NearExecutionTime: g.now,
			LowerPriceRangeCollar: scale(mid, 0.9), UpperPriceRangeCollar: scale(mid, 1.1)}
	case r < 0.5 && g.canSchedule(1):
		// An operational halt on another Nasdaq market (BX or PSX), resumed
		// later; Nasdaq's own book keeps trading.
		market := byte('B')
		if g.rng.IntN(2) == 0 {
			market = 'X'
		}
		g.addTimer(timer{due: g.now + g.s.haltNs/2, locate: sy.locate, kind: kindOpResume, arg: market, n: 1})
		g.stamp(m, itch.TypeOperationalHalt, sy.locate)
		m.OperationalHalt = itch.OperationalHalt{Stock: sy.stock, MarketCode: market, OperationalHaltAction: 'H'}
	case r < 0.6:
		g.stamp(m, itch.TypeMarketParticipantPosition, sy.locate)
		m.MarketParticipantPosition = itch.MarketParticipantPosition{MPID: mpids[g.rng.IntN(len(mpids))],
			Stock: sy.stock, PrimaryMarketMaker: 'N', MarketMakerMode: 'N', MarketParticipantState: 'A'}
	default:
		flags := [...]byte{'B', 'S', 'A', 'N'}
		g.stamp(m, itch.TypeRPII, sy.locate)
		m.RPII = itch.RPII{Stock: sy.stock, InterestFlag: flags[g.rng.IntN(len(flags))]}
	}
}

// scale returns p·f on the tick grid, at least one tick.
func scale(p uint32, f float64) uint32 {
	return max(uint32(math.Round(float64(p)*f/TickUnits))*TickUnits, TickUnits)
}

// runScripted emits a queued message.
func (g *Generator) runScripted(m *itch.Message, s scripted) {
	sy := &g.syms[s.locate-1]
	g.header(m, 0, sy.locate)
	switch s.kind {
	case kindCollar:
		ref := g.crossPrice(sy)
		m.Type = itch.TypeLULDAuctionCollar
		m.LULDAuctionCollar = itch.LULDAuctionCollar{Stock: sy.stock, AuctionCollarReferencePrice: ref,
			UpperAuctionCollarPrice: scale(ref, 1.05), LowerAuctionCollarPrice: scale(ref, 0.95)}
	case kindHaltNOII:
		m.Type = itch.TypeNOII
		g.noii(m, sy, 'H')
	case kindHaltCross:
		m.Type = itch.TypeCrossTrade
		g.cross(m, sy, 'H', 0.2)
	case kindResume:
		sy.state = 'T'
		g.paused--
		m.Type = itch.TypeStockTradingAction
		m.StockTradingAction = itch.StockTradingAction{Stock: sy.stock, TradingState: 'T', Reserved: ' ', Reason: noReason}
	case kindOpResume:
		m.Type = itch.TypeOperationalHalt
		m.OperationalHalt = itch.OperationalHalt{Stock: sy.stock, MarketCode: s.arg, OperationalHaltAction: 'T'}
	default:
		panic("itchgen: unknown scripted message kind")
	}
}

// crossPrice is where a cross on sy would print: the middle of the book
// when both sides rest, the mid otherwise, on the tick grid.
func (g *Generator) crossPrice(sy *symbol) uint32 {
	bb, okb := sy.bids.bestPrice()
	ba, oka := sy.asks.bestPrice()
	if okb && oka {
		return (bb + ba) / 2 / TickUnits * TickUnits
	}
	return max(midUnits(sy.mid), TickUnits)
}

// cross fills m's body as a cross trade of sy; zeroShares is the chance that
// nothing crosses.
func (g *Generator) cross(m *itch.Message, sy *symbol, crossType byte, zeroShares float64) {
	px := g.crossPrice(sy)
	var shares uint64
	if g.rng.Float64() >= zeroShares {
		shares = 100 * uint64(1+g.rng.IntN(2000))
		sy.last = px
	}
	m.CrossTrade = itch.CrossTrade{Shares: shares, Stock: sy.stock, CrossPrice: px,
		MatchNumber: g.newMatch(sy.locate), CrossType: crossType}
	if crossType == 'O' {
		sy.openPrice = px
	}
}

// noii fills m's body as an imbalance indication for sy's next cross.
func (g *Generator) noii(m *itch.Message, sy *symbol, crossType byte) {
	px := g.crossPrice(sy)
	dirs := [...]byte{'B', 'S', 'N', 'O'}
	dir := dirs[g.rng.IntN(len(dirs))]
	var imb uint64
	if dir == 'B' || dir == 'S' {
		imb = 100 * uint64(1+g.rng.IntN(500))
	}
	m.NOII = itch.NOII{PairedShares: 100 * uint64(g.rng.IntN(2000)), ImbalanceShares: imb,
		ImbalanceDirection: dir, Stock: sy.stock, FarPrice: scale(px, 1.01), NearPrice: px,
		CurrentReferencePrice: px, CrossType: crossType, PriceVariationIndicator: 'L'}
}

// prefix emits message i of the opening sequence.
func (g *Generator) prefix(m *itch.Message, i uint64) {
	k := uint64(len(g.syms))
	switch {
	case i == 0:
		g.system(m, 'O')
	case i <= 4*k:
		sy := &g.syms[(i-1)/4]
		switch (i - 1) % 4 {
		case 0:
			g.header(m, itch.TypeStockDirectory, sy.locate)
			m.StockDirectory = itch.StockDirectory{Stock: sy.stock, MarketCategory: 'Q', FinancialStatus: 'N',
				RoundLotSize: 100, RoundLotsOnly: 'N', IssueClassification: 'C', IssueSubType: [2]byte{'Z', ' '},
				Authenticity: 'P', ShortSaleThreshold: 'N', IPOFlag: 'N', LULDRefPriceTier: sy.tier,
				ETPFlag: 'N', InverseIndicator: 'N'}
		case 1:
			g.header(m, itch.TypeStockTradingAction, sy.locate)
			m.StockTradingAction = itch.StockTradingAction{Stock: sy.stock, TradingState: 'T', Reserved: ' ', Reason: noReason}
		case 2:
			g.header(m, itch.TypeRegSHO, sy.locate)
			m.RegSHO = itch.RegSHO{Stock: sy.stock, RegSHOAction: '0'}
		default:
			g.header(m, itch.TypeMarketParticipantPosition, sy.locate)
			m.MarketParticipantPosition = itch.MarketParticipantPosition{MPID: mpids[int(sy.locate)%len(mpids)],
				Stock: sy.stock, PrimaryMarketMaker: 'Y', MarketMakerMode: 'N', MarketParticipantState: 'A'}
		}
	case i == 4*k+1:
		g.header(m, itch.TypeMWCBDecline, 0)
		// 7%, 13% and 20% below an S&P 500 reference of 5000.00 (Price(8)).
		m.MWCBDecline = itch.MWCBDecline{Level1: 4650_0000_0000, Level2: 4350_0000_0000, Level3: 4000_0000_0000}
	case i == 4*k+2:
		g.system(m, 'S')
	case i <= 5*k+2:
		sy := &g.syms[i-(4*k+3)]
		g.header(m, itch.TypeNOII, sy.locate)
		g.noii(m, sy, 'O')
	case i == 5*k+3:
		g.system(m, 'Q')
	default:
		sy := &g.syms[i-(5*k+4)]
		g.evolve(sy)
		g.header(m, itch.TypeCrossTrade, sy.locate)
		g.cross(m, sy, 'O', 0.1)
	}
}

// suffix emits message i of the closing sequence.
func (g *Generator) suffix(m *itch.Message, i uint64) {
	k := uint64(len(g.syms))
	switch {
	case i < k:
		sy := &g.syms[i]
		g.header(m, itch.TypeNOII, sy.locate)
		g.noii(m, sy, 'C')
	case i == k:
		g.system(m, 'M')
	case i <= 2*k:
		sy := &g.syms[i-k-1]
		g.evolve(sy)
		g.header(m, itch.TypeCrossTrade, sy.locate)
		g.cross(m, sy, 'C', 0.05)
	case i == 2*k+1:
		g.system(m, 'E')
	default:
		g.system(m, 'C')
	}
}

func (g *Generator) system(m *itch.Message, code byte) {
	g.header(m, itch.TypeSystemEvent, 0)
	m.SystemEvent = itch.SystemEvent{EventCode: code}
}
