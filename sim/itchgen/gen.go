// Package itchgen generates deterministic Nasdaq TotalView-ITCH 5.0 order
// flow for the simulator, and keeps its own reference order books so that
// the feed handler's books can be checked against them.
//
// A session is: start of messages; a stock directory, trading action, Reg
// SHO and market-maker registration for every symbol (locates 1..K); MWCB
// decline levels; start of system hours; opening imbalances and crosses;
// continuous trading; closing imbalances, end of market hours and closing
// crosses; end of system hours and end of messages.
//
// Each symbol's mid price follows geometric Brownian motion (optionally with
// jumps) on a $0.01 grid. Continuous trading adds orders ('A', some 'F')
// near the touch with a distance distribution decaying away from the mid,
// cancels ('X') and deletes ('D') them, replaces them ('U'), executes them
// ('E', and 'C' with a printable Y/N mix), prints hidden trades ('P') and
// breaks a few ('B'), pauses and reopens symbols ('H', 'J', 'I', 'Q'), and
// sprinkles the remaining message types ('L', 'N', 'K', 'O', 'h', 'W', 'Y')
// so that every ITCH 5.0 type appears in a long session.
//
// Books never cross and never lose more shares than they hold: buy orders
// rest strictly below the best ask and sell orders strictly above the best
// bid, and a mid price that moves through resting orders is followed by
// executions of those orders (aggressive flow), not by crossing adds.
//
// Config.Events scripts market events at times of the session clock: gap
// crashes (the books re-form at the new price), volatility spikes, and feed
// outages (reported through TakeFired for the sender to play); ParseEvents
// reads them from a small text script (see events.go).
//
// Generation is seeded (math/rand/v2 PCG): equal Configs give identical
// sessions, message for message. Next fills a caller's reused itch.Message
// and does not allocate in steady state.
package itchgen

import (
	"math"
	"math/rand/v2"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

// Session phases.
const (
	phasePrefix = iota
	phaseContinuous
	phaseDrain
	phaseSuffix
	phaseDone
)

// Messages per symbol in the opening sequence: R, H, Y, L, I, Q.
const prefixPerSymbol = 6

// prefixLen is the opening sequence's length: S O, per-symbol R H Y L, V,
// S S, per-symbol I, S Q, per-symbol Q.
func prefixLen(k int) uint64 { return uint64(prefixPerSymbol*k) + 4 }

// suffixLen is the closing sequence's length: per-symbol I, S M,
// per-symbol Q, S E, S C.
func suffixLen(k int) uint64 { return uint64(2*k) + 3 }

// Bounds on scripted work.
const (
	timersMax   = 32
	queueCap    = 4 * timersMax
	resumeLen   = 4 // J, I, Q, H that end a pause
	recentMax   = 64
	sharesMax   = 1_000_000
	distTicks   = 60 // farthest an add rests from the touch
	mpidRegular = 0.04
)

// Scripted (queued) message kinds.
const (
	kindCollar    byte = iota + 1 // J for a pausing symbol
	kindHaltNOII                  // I with cross type 'H'
	kindHaltCross                 // Q with cross type 'H'
	kindResume                    // H 'T'
	kindOpResume                  // h 'T'
)

// scripted is a queued message.
type scripted struct {
	kind   byte
	arg    byte
	locate uint16
}

// timer is delayed scripted work: at due it expands into the queue.
type timer struct {
	due    uint64
	locate uint16
	kind   byte // kindResume (a pause's 4 messages) or kindOpResume
	arg    byte
	n      uint8 // messages it expands into
}

var mpids = [...][4]byte{
	{'G', 'S', 'C', 'O'}, {'M', 'S', 'C', 'O'}, {'N', 'I', 'T', 'E'}, {'V', 'I', 'R', 'T'},
	{'J', 'P', 'M', 'S'}, {'C', 'D', 'R', 'G'}, {'U', 'B', 'S', 'S'}, {'S', 'U', 'S', 'Q'},
}

// symbol is one security: its reference book and its price path.
type symbol struct {
	name      string
	stock     [8]byte
	locate    uint16
	bids      side
	asks      side
	live      []int32 // pool indices of its live orders
	mid       float64 // dollars
	vol       float64 // annualized
	lastNs    uint64  // time of the mid's last update
	last      uint32  // last printable execution price; 0 = none
	state     byte    // trading state: 'T' or 'P'
	openPrice uint32
	regSHO    byte
	tier      byte

	volMul     float64  // product of the active volatility spikes' factors
	sweeping   bool     // queued in Generator.sweeps
	sweepExecs [2]uint8 // wrong-side bids, asks executed by this sweep
	sweepSteps int      // messages this sweep has emitted
}

// Stats are a Generator's counters.
type Stats struct {
	// Messages is the number of messages emitted.
	Messages uint64
	// ByType counts messages by type byte.
	ByType [256]uint64
	// Halts is the number of volatility pauses started.
	Halts uint64
	// Events is the number of scripted events started.
	Events uint64
	// SweepMessages counts the messages of books re-forming after a crash.
	SweepMessages uint64
}

// Top is one book's reference state, in the terms of DESIGN §5.1. Prices are
// ITCH price units; 0 means none (an empty side, no printable execution).
type Top struct {
	// Symbol is the security's symbol, without padding.
	Symbol string
	// Locate is its stock locate code.
	Locate uint16
	// Bid and Ask are the best prices; BidSize and AskSize the total
	// shares resting at them.
	Bid, Ask         uint32
	BidSize, AskSize uint64
	// Last is the price of the latest printable execution: 'E', 'C' with
	// printable 'Y', 'P', or 'Q' with shares > 0.
	Last uint32
	// Orders is the number of live orders on the book.
	Orders int
	// TradingState is 'T' (trading) or 'P' (paused).
	TradingState byte
}

// Generator produces one ITCH 5.0 session. It is not safe for concurrent use.
type Generator struct {
	s      settings
	rng    *rand.Rand
	syms   []symbol
	cum    []float64 // cumulative activity weights by symbol
	pool   pool
	target int // live orders a book drifts towards

	now       uint64
	nextRef   uint64
	nextMatch uint64
	recent    [recentMax]struct {
		match  uint64
		locate uint16
	}
	recentN int

	phase       int
	idx         uint64
	contStart   uint64
	contBudget  uint64 // continuous messages, when Messages bounds the session
	contEmitted uint64
	budgeted    bool
	finishing   bool
	mwcbAt      uint64
	mwcbDone    bool

	queue     [queueCap]scripted
	qHead     int
	qLen      int
	timers    [timersMax]timer
	nTimer    int
	timerMsgs uint64 // messages the pending timers expand into
	nextDue   uint64 // earliest pending timer's due time
	paused    int    // symbols in a volatility pause
	pausedMax int

	events        []eventState
	timeline      []boundary // event boundaries by time
	evNext        int        // next boundary of timeline
	fired         []Fired    // boundaries passed since TakeFired
	sweeps        []int32    // books re-forming after a crash, in order
	sweepStepsMax int        // bound on one sweep's messages

	stats Stats
}

// New returns a Generator for cfg, or an error wrapping ErrConfig.
func New(cfg Config) (*Generator, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	g := &Generator{
		s:         s,
		rng:       rand.New(rand.NewPCG(s.seed, s.seed^0x9e3779b97f4a7c15)),
		target:    max(s.bookOrdersMax/2, 1),
		now:       s.startNs,
		nextRef:   1,
		nextMatch: 1,
	}
	k := len(s.symbols)
	g.syms = make([]symbol, k)
	g.cum = make([]float64, k)
	total := 0.0
	for i, name := range s.symbols {
		sy := &g.syms[i]
		sy.name = name
		sy.stock = itch.StockFromString(name)
		sy.locate = uint16(i + 1)
		sy.bids.buy = true
		sy.mid = math.Exp(math.Log(10) + g.rng.Float64()*(math.Log(400)-math.Log(10)))
		sy.vol = s.volMin + g.rng.Float64()*(s.volMax-s.volMin)
		sy.lastNs = s.startNs
		sy.volMul = 1
		sy.state = 'T'
		sy.regSHO = '0'
		sy.tier = '2'
		if i < 100 {
			sy.tier = '1'
		}
		// Activity falls off with rank, as on a real exchange.
		total += 1 / math.Pow(float64(i+1), 0.7)
		g.cum[i] = total
	}
	g.pausedMax = max(1, k/10)
	if g.events, g.timeline, err = resolveEvents(cfg.Events, s.symbols, s.startNs); err != nil {
		return nil, err
	}
	if len(g.timeline) > 0 {
		g.fired = make([]Fired, 0, len(g.timeline))
		g.sweeps = make([]int32, 0, k)
		g.sweepStepsMax = 2*s.bookOrdersMax + 2*sweepExecsMax + 16
	}
	if s.messages > 0 {
		g.budgeted = true
		g.contBudget = s.messages - MinMessages(k)
	}
	switch {
	case g.budgeted:
		g.mwcbAt = g.contBudget / 2
	case s.durationNs > 0:
		g.mwcbAt = uint64(float64(s.durationNs) / s.meanGapNs / 2)
	default:
		g.mwcbAt = 100_000
	}
	return g, nil
}

// Symbols returns the session's symbols in locate order (locate = index+1).
func (g *Generator) Symbols() []string { return append([]string(nil), g.s.symbols...) }

// Now returns the timestamp of the latest message (nanoseconds since
// midnight), or the session's start before the first.
func (g *Generator) Now() uint64 { return g.now }

// Stats returns the generator's counters.
func (g *Generator) Stats() Stats { return g.stats }

// Done reports whether the session has ended (Next returns false).
func (g *Generator) Done() bool { return g.phase == phaseDone }

// Finish ends continuous trading early: the next messages resume any paused
// symbol and run the closing sequence. With Config.Messages set, the session
// then has fewer messages than configured.
func (g *Generator) Finish() { g.finishing = true }

// Book returns the reference state of the book with the given locate.
func (g *Generator) Book(locate uint16) (Top, bool) {
	if locate == 0 || int(locate) > len(g.syms) {
		return Top{}, false
	}
	sy := &g.syms[locate-1]
	t := Top{Symbol: sy.name, Locate: sy.locate, Last: sy.last, Orders: len(sy.live), TradingState: sy.state}
	if l := sy.bids.best(); l != nil {
		t.Bid, t.BidSize = l.price, l.shares
	}
	if l := sy.asks.best(); l != nil {
		t.Ask, t.AskSize = l.price, l.shares
	}
	return t, true
}

// Books returns the reference state of every book, in locate order.
func (g *Generator) Books() []Top {
	out := make([]Top, len(g.syms))
	for i := range g.syms {
		out[i], _ = g.Book(uint16(i + 1))
	}
	return out
}

// Next fills m with the session's next message and returns true, or returns
// false once the session has ended. m may be reused between calls; only its
// Header and the body its Type selects are written.
func (g *Generator) Next(m *itch.Message) bool {
	k := len(g.syms)
	for {
		switch g.phase {
		case phasePrefix:
			if g.idx < prefixLen(k) {
				g.prefix(m, g.idx)
				g.idx++
				return g.emitted(m)
			}
			g.phase = phaseContinuous
			g.contStart = g.now
		case phaseContinuous:
			if g.qLen > 0 {
				g.runScripted(m, g.pop())
				g.contEmitted++
				return g.emitted(m)
			}
			if g.continuousOver() {
				for g.nTimer > 0 {
					g.expandTimer(0)
				}
				g.phase = phaseDrain
				continue
			}
			if g.budgeted && g.contBudget-g.contEmitted == g.reservedMsgs() {
				// Only the reserved messages fit: end pauses now.
				g.expandTimer(g.earliestTimer())
				continue
			}
			if g.nTimer > 0 && g.nextDue <= g.now {
				g.expandTimer(g.earliestTimer())
				continue
			}
			if len(g.sweeps) > 0 && g.nextSweep() != nil {
				// A book re-forming after a crash takes the message;
				// the clock's advance may fire events that change
				// which book, or end the work.
				g.advance()
				if sy := g.nextSweep(); sy != nil {
					g.sweep(m, sy)
				} else {
					g.randomNow(m)
				}
				g.contEmitted++
				return g.emitted(m)
			}
			g.random(m)
			g.contEmitted++
			return g.emitted(m)
		case phaseDrain:
			if g.qLen > 0 {
				g.runScripted(m, g.pop())
				return g.emitted(m)
			}
			g.phase = phaseSuffix
			g.idx = 0
		case phaseSuffix:
			if g.idx < suffixLen(k) {
				g.suffix(m, g.idx)
				g.idx++
				return g.emitted(m)
			}
			g.phase = phaseDone
		default:
			return false
		}
	}
}

func (g *Generator) emitted(m *itch.Message) bool {
	g.stats.Messages++
	g.stats.ByType[m.Type]++
	return true
}

func (g *Generator) continuousOver() bool {
	if g.finishing {
		return true
	}
	if g.budgeted && g.contEmitted >= g.contBudget {
		if g.qLen != 0 || g.nTimer != 0 {
			panic("itchgen: message budget spent with scripted messages outstanding")
		}
		return true
	}
	return g.s.durationNs > 0 && g.now-g.contStart >= g.s.durationNs
}

// header advances the clock by one inter-message gap and fills m's header.
func (g *Generator) header(m *itch.Message, typ byte, locate uint16) {
	g.advance()
	g.stamp(m, typ, locate)
}

// advance moves the clock by one exponential inter-message gap (at least
// 1 ns, so timestamps strictly increase); the first message keeps StartNs.
func (g *Generator) advance() {
	if g.stats.Messages > 0 {
		gap := uint64(g.rng.ExpFloat64()*g.s.meanGapNs + 0.5)
		g.now += max(gap, 1)
	}
	if g.evNext < len(g.timeline) && g.phase == phaseContinuous {
		g.fireDue()
	}
}

// reservedMsgs is the number of messages already promised: queued ones and
// those that pending timers will expand into.
func (g *Generator) reservedMsgs() uint64 {
	return uint64(g.qLen) + g.timerMsgs
}

// canSchedule reports whether a random event emitting one message now and
// reserving extra more may run: a timer slot is free and, under a message
// budget, the messages fit.
func (g *Generator) canSchedule(extra uint64) bool {
	if g.nTimer == timersMax {
		return false
	}
	if !g.budgeted {
		return true
	}
	// This message is being emitted now, hence the +1.
	return g.contBudget-g.contEmitted >= g.reservedMsgs()+1+extra
}

func (g *Generator) addTimer(t timer) {
	if g.nTimer == timersMax {
		panic("itchgen: timer table full")
	}
	g.timers[g.nTimer] = t
	g.nTimer++
	g.timerMsgs += uint64(t.n)
	if g.nTimer == 1 || t.due < g.nextDue {
		g.nextDue = t.due
	}
}

func (g *Generator) earliestTimer() int {
	best := -1
	for i := 0; i < g.nTimer; i++ {
		if best < 0 || g.timers[i].due < g.timers[best].due {
			best = i
		}
	}
	return best
}

// expandTimer moves timer i's messages into the queue.
func (g *Generator) expandTimer(i int) {
	t := g.timers[i]
	g.nTimer--
	g.timers[i] = g.timers[g.nTimer]
	g.timerMsgs -= uint64(t.n)
	if j := g.earliestTimer(); j >= 0 {
		g.nextDue = g.timers[j].due
	}
	switch t.kind {
	case kindResume:
		g.push(scripted{kind: kindCollar, locate: t.locate})
		g.push(scripted{kind: kindHaltNOII, locate: t.locate})
		g.push(scripted{kind: kindHaltCross, locate: t.locate})
		g.push(scripted{kind: kindResume, locate: t.locate})
	case kindOpResume:
		g.push(scripted{kind: kindOpResume, locate: t.locate, arg: t.arg})
	default:
		panic("itchgen: unknown timer kind")
	}
}

func (g *Generator) push(s scripted) {
	if g.qLen == queueCap {
		panic("itchgen: scripted queue full")
	}
	g.queue[(g.qHead+g.qLen)%queueCap] = s
	g.qLen++
}

func (g *Generator) pop() scripted {
	s := g.queue[g.qHead]
	g.qHead = (g.qHead + 1) % queueCap
	g.qLen--
	return s
}

// pickSymbol draws a symbol by activity weight.
func (g *Generator) pickSymbol() *symbol {
	x := g.rng.Float64() * g.cum[len(g.cum)-1]
	lo, hi := 0, len(g.cum)-1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if g.cum[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return &g.syms[lo]
}

// evolve moves sy's mid along its price path to the current time.
func (g *Generator) evolve(sy *symbol) {
	dtNs := g.now - sy.lastNs
	sy.lastNs = g.now
	if dtNs == 0 {
		return
	}
	dt := float64(dtNs) / nsPerTradingYear
	sig := sy.vol
	if sy.volMul != 1 {
		sig *= sy.volMul
	}
	x := -0.5*sig*sig*dt + sig*math.Sqrt(dt)*g.rng.NormFloat64()
	if g.s.jumpPerNs > 0 && g.rng.Float64() < g.s.jumpPerNs*float64(dtNs) {
		x += g.s.jumpSigma * g.rng.NormFloat64()
	}
	sy.mid = math.Min(math.Max(sy.mid*math.Exp(x), 1), 100_000)
}

// midUnits returns the mid rounded to the tick grid, in ITCH price units.
func midUnits(mid float64) uint32 {
	return uint32(math.Round(mid*100)) * TickUnits
}

// Logarithms of the geometric distributions' ratios (1−p).
var (
	lnQ30 = math.Log(1 - 0.30)
	lnQ45 = math.Log(1 - 0.45)
	lnQ50 = math.Log(1 - 0.50)
)

// geometric draws k >= 0 with P(k) ∝ q^k, capped at kMax; lnQ is ln q.
func (g *Generator) geometric(lnQ float64, kMax int) int {
	k := int(math.Log(1-g.rng.Float64()) / lnQ)
	return min(k, kMax)
}

// lot draws an order size: mostly round lots, a few odd lots and blocks.
func (g *Generator) lot() uint32 {
	r := g.rng.Float64()
	switch {
	case r < 0.08:
		return 1 + uint32(g.rng.IntN(99))
	case r < 0.80:
		return 100 * uint32(1+g.geometric(lnQ45, 9))
	case r < 0.99:
		return 100 * uint32(1+g.rng.IntN(50))
	default:
		return 100 * uint32(100+g.rng.IntN(900))
	}
}

func (g *Generator) newMatch(locate uint16) uint64 {
	mn := g.nextMatch
	g.nextMatch++
	r := &g.recent[mn%recentMax]
	r.match, r.locate = mn, locate
	g.recentN = min(g.recentN+1, recentMax)
	return mn
}

// insertOrder rests a new order on sy's book.
func (g *Generator) insertOrder(sy *symbol, buy bool, price, shares uint32) (int32, uint64) {
	ref := g.nextRef
	g.nextRef++
	oi := g.pool.alloc()
	o := &g.pool.orders[oi]
	*o = order{ref: ref, price: price, shares: shares, book: int32(sy.locate - 1), buy: buy,
		livePos: int32(len(sy.live)), prev: nilOrder, next: nilOrder}
	sy.live = append(sy.live, oi)
	if buy {
		sy.bids.link(&g.pool, oi)
	} else {
		sy.asks.link(&g.pool, oi)
	}
	return oi, ref
}

// removeOrder takes order oi off sy's book entirely.
func (g *Generator) removeOrder(sy *symbol, oi int32) {
	o := &g.pool.orders[oi]
	if o.buy {
		sy.bids.unlink(&g.pool, oi)
	} else {
		sy.asks.unlink(&g.pool, oi)
	}
	pos := o.livePos
	lastIdx := int32(len(sy.live) - 1)
	moved := sy.live[lastIdx]
	sy.live[pos] = moved
	g.pool.orders[moved].livePos = pos
	sy.live = sy.live[:lastIdx]
	g.pool.release(oi)
}

func (g *Generator) sideOf(sy *symbol, buy bool) *side {
	if buy {
		return &sy.bids
	}
	return &sy.asks
}

// priceLimit returns the most aggressive price a new order on the buy (or
// sell) side may rest at without crossing, and whether any price is allowed.
func priceLimit(sy *symbol, buy bool, want uint32) (uint32, bool) {
	if buy {
		if a, ok := sy.asks.bestPrice(); ok && want >= a {
			if a <= TickUnits {
				return 0, false
			}
			return a - TickUnits, true
		}
		return want, want >= TickUnits
	}
	if b, ok := sy.bids.bestPrice(); ok && want <= b {
		return b + TickUnits, true
	}
	return max(want, TickUnits), true
}
