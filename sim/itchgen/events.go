package itchgen

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

// Scripted market events.
//
// A session may carry scripted events (Config.Events), each at a time of
// the session clock (the ITCH timestamp), so that a run is reproducible
// from its seed and script:
//
//   - a crash moves the named symbols' (or every symbol's) fair price by a
//     fraction at once; each affected book then re-forms at the new level in
//     a burst of messages (a sweep): orders left on the wrong side of the new
//     price are executed (a few, from the top) or repriced ('U'), and resting
//     orders left far behind are repriced near it, so the BBO mid follows
//     within about one book's worth of messages;
//   - a volatility spike multiplies the price process's volatility of the
//     named (or all) symbols by a factor for a while;
//   - an outage does not change the messages: it is reported (TakeFired)
//     so that the pacing sender goes silent for its duration.
//
// The text form, one event per line or separated by ';' ('#' starts a
// comment that runs to the end of the line):
//
//	crash@TIME:MOVE%[:SYMBOLS]              crash@20s:-25%:AAPL,MSFT
//	volspike@TIME:xFACTOR:DURATION[:SYMBOLS] volspike@40s:x3:30s
//	outage@TIME:DURATION                    outage@60s:10s
//
// TIME is the event's offset from the session's first message (Config.StartNs)
// and DURATION its length, both in Go's duration syntax ("20s", "1m30s",
// "250ms"); MOVE is a negative percentage down to -95; FACTOR a positive
// multiplier up to 100; SYMBOLS a comma-separated list (none: every symbol).

// Bounds on scripts and events.
const (
	// EventsMax bounds the events of one session.
	EventsMax = 64
	// ScriptBytesMax bounds the text ParseEvents accepts.
	ScriptBytesMax = 64 << 10
	// EventMoveMin is the largest crash allowed: a fraction of -0.95.
	EventMoveMin = -0.95
	// EventFactorMax bounds a volatility spike's multiplier.
	EventFactorMax = 100.0
	// EventDurationMax bounds an event's duration and its start offset.
	EventDurationMax = 24 * time.Hour
)

// sweepExecsMax is how many wrong-side orders a sweep executes (per side)
// before it reprices the rest: the prints of a sell-off down the book.
const sweepExecsMax = 8

// EventKind says what an Event does.
type EventKind uint8

// Event kinds.
const (
	// EventCrash moves the fair price of symbols by Event.Move at once.
	EventCrash EventKind = iota + 1
	// EventVolSpike multiplies the volatility of symbols by Event.Factor
	// for Event.DurationNs.
	EventVolSpike
	// EventOutage silences the feed for Event.DurationNs (the sender's
	// business: the messages are unchanged).
	EventOutage
)

// String returns the kind's script keyword.
func (k EventKind) String() string {
	switch k {
	case EventCrash:
		return "crash"
	case EventVolSpike:
		return "volspike"
	case EventOutage:
		return "outage"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// ErrEventScript reports an unusable event script; the wrapping error says
// where and why.
var ErrEventScript = errors.New("itchgen: bad event script")

// Event is one scripted market event.
type Event struct {
	// Kind is what the event does.
	Kind EventKind
	// AtNs is when it starts: nanoseconds of session time after the first
	// message (Config.StartNs). An event due before continuous trading
	// starts fires with its first message.
	AtNs uint64
	// Move is a crash's fractional price move, in [EventMoveMin, 0):
	// -0.25 takes a quarter off. Zero for other kinds.
	Move float64
	// Factor is a volatility spike's multiplier, in (0, EventFactorMax].
	// Zero for other kinds.
	Factor float64
	// DurationNs is a spike's or an outage's length in nanoseconds, in
	// (0, EventDurationMax]. Zero for a crash.
	DurationNs uint64
	// Symbols names the affected symbols of a crash or spike; empty means
	// every symbol. Outages take none.
	Symbols []string
}

// String returns the event in the script syntax ParseEvents reads.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	b.WriteByte('@')
	b.WriteString(time.Duration(e.AtNs).String())
	switch e.Kind {
	case EventCrash:
		b.WriteByte(':')
		b.WriteString(strconv.FormatFloat(e.Move*100, 'g', -1, 64))
		b.WriteByte('%')
	case EventVolSpike:
		b.WriteString(":x")
		b.WriteString(strconv.FormatFloat(e.Factor, 'g', -1, 64))
		b.WriteByte(':')
		b.WriteString(time.Duration(e.DurationNs).String())
	case EventOutage:
		b.WriteByte(':')
		b.WriteString(time.Duration(e.DurationNs).String())
	}
	if len(e.Symbols) > 0 {
		b.WriteByte(':')
		b.WriteString(strings.Join(e.Symbols, ","))
	}
	return b.String()
}

// FormatEvents returns events as a script, one per line.
func FormatEvents(events []Event) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Validate checks the event on its own (not against a session's symbols);
// its errors wrap ErrEventScript.
func (e *Event) Validate() error {
	if err := e.validate(); err != nil {
		return fmt.Errorf("%w: %v: %v", ErrEventScript, e.Kind, err)
	}
	return nil
}

// validate is Validate with bare errors.
func (e *Event) validate() error {
	if e.AtNs > uint64(EventDurationMax) {
		return fmt.Errorf("starts after %v", EventDurationMax)
	}
	for _, s := range e.Symbols {
		if err := checkSymbol(s); err != nil {
			return err
		}
	}
	if len(e.Symbols) > SymbolsMax {
		return fmt.Errorf("%d symbols, at most %d", len(e.Symbols), SymbolsMax)
	}
	switch e.Kind {
	case EventCrash:
		if !(e.Move >= EventMoveMin && e.Move < 0) {
			return fmt.Errorf("move %v outside [%g, 0)", e.Move, EventMoveMin)
		}
		if e.Factor != 0 || e.DurationNs != 0 {
			return errors.New("a crash takes no factor or duration")
		}
	case EventVolSpike:
		if !(e.Factor > 0 && e.Factor <= EventFactorMax) {
			return fmt.Errorf("factor %v outside (0, %g]", e.Factor, EventFactorMax)
		}
		if e.Move != 0 {
			return errors.New("a volspike takes no move")
		}
	case EventOutage:
		if e.Move != 0 || e.Factor != 0 || len(e.Symbols) > 0 {
			return errors.New("an outage takes only a time and a duration")
		}
	default:
		return errors.New("unknown event kind")
	}
	if e.Kind != EventCrash && (e.DurationNs == 0 || e.DurationNs > uint64(EventDurationMax)) {
		return fmt.Errorf("duration %v outside (0, %v]", time.Duration(e.DurationNs), EventDurationMax)
	}
	return nil
}

// ParseEvents reads an event script (see the package's text form above).
// Errors wrap ErrEventScript and name the offending event.
func ParseEvents(script string) ([]Event, error) {
	if len(script) > ScriptBytesMax {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrEventScript, len(script), ScriptBytesMax)
	}
	var out []Event
	for line := range strings.Lines(script) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for item := range strings.SplitSeq(line, ";") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			if len(out) == EventsMax {
				return nil, fmt.Errorf("%w: more than %d events", ErrEventScript, EventsMax)
			}
			e, err := parseEvent(item)
			if err != nil {
				return nil, fmt.Errorf("%w: event %d %q: %v", ErrEventScript, len(out)+1, item, err)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// parseEvent reads one event; its errors are bare (ParseEvents wraps them).
func parseEvent(s string) (Event, error) {
	var e Event
	name, rest, ok := strings.Cut(s, "@")
	if !ok {
		return e, errors.New("want KIND@TIME:...")
	}
	switch strings.TrimSpace(name) {
	case "crash":
		e.Kind = EventCrash
	case "volspike":
		e.Kind = EventVolSpike
	case "outage":
		e.Kind = EventOutage
	default:
		return e, fmt.Errorf("unknown event %q (want crash, volspike or outage)", name)
	}
	f := strings.Split(rest, ":")
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	// Fields after '@': TIME, then crash MOVE [SYMBOLS]; volspike FACTOR
	// DURATION [SYMBOLS]; outage DURATION.
	need, symbolsOK := 2, true
	switch e.Kind {
	case EventVolSpike:
		need = 3
	case EventOutage:
		symbolsOK = false
	}
	if len(f) < need || len(f) > need+1 || (!symbolsOK && len(f) > need) {
		return e, fmt.Errorf("%d fields after '@', want %d (%d with symbols; outages take none)", len(f), need, need+1)
	}
	at, err := parseDuration(f[0], true)
	if err != nil {
		return e, fmt.Errorf("time: %v", err)
	}
	e.AtNs = at
	switch e.Kind {
	case EventCrash:
		pct, ok := strings.CutSuffix(f[1], "%")
		if !ok {
			return e, fmt.Errorf("move %q: want a percentage such as -25%%", f[1])
		}
		v, err := strconv.ParseFloat(pct, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return e, fmt.Errorf("move %q is not a number", f[1])
		}
		e.Move = v / 100
	case EventVolSpike:
		x, ok := strings.CutPrefix(f[1], "x")
		if !ok {
			return e, fmt.Errorf("factor %q: want xN such as x3", f[1])
		}
		v, err := strconv.ParseFloat(x, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return e, fmt.Errorf("factor %q is not a number", f[1])
		}
		e.Factor = v
		if e.DurationNs, err = parseDuration(f[2], false); err != nil {
			return e, fmt.Errorf("duration: %v", err)
		}
	case EventOutage:
		if e.DurationNs, err = parseDuration(f[1], false); err != nil {
			return e, fmt.Errorf("duration: %v", err)
		}
	}
	if len(f) == need+1 {
		for sym := range strings.SplitSeq(f[need], ",") {
			sym = strings.TrimSpace(sym)
			if sym == "" {
				return e, errors.New("empty symbol in the list")
			}
			e.Symbols = append(e.Symbols, sym)
		}
	}
	if err := e.validate(); err != nil {
		return e, err
	}
	return e, nil
}

// parseDuration reads a Go duration within [0 or 1ns, EventDurationMax].
func parseDuration(s string, zeroOK bool) (uint64, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want a duration such as 20s or 1m30s", s)
	}
	if d < 0 || (d == 0 && !zeroOK) || d > EventDurationMax {
		lo := "1ns"
		if zeroOK {
			lo = "0s"
		}
		return 0, fmt.Errorf("%v outside %s..%v", d, lo, EventDurationMax)
	}
	return uint64(d), nil
}

// Fired is an event boundary the session has passed.
type Fired struct {
	// Index is the event's index in Config.Events.
	Index int
	// Event is the event itself.
	Event Event
	// End is true at the end of a volatility spike; every other boundary
	// is a start (outages end in the sender, crashes are instantaneous).
	End bool
	// AtNs is the timestamp (nanoseconds since midnight) of the first
	// message the boundary precedes: a caller silencing the feed for an
	// outage holds that message back until the silence is over.
	AtNs uint64
}

// boundary is one point of the generator's event timeline.
type boundary struct {
	atNs  uint64 // absolute session time
	event int32  // index in settings.events
	end   bool
}

// eventState is a resolved event: its symbols as book indices.
type eventState struct {
	ev     Event
	syms   []int32 // nil: every symbol
	active bool    // a spike in progress
}

// resolveEvents checks events against the session's symbols and builds the
// timeline of their boundaries, sorted by time (stable: script order breaks
// ties; a spike's end sorts before starts at the same time).
func resolveEvents(events []Event, symbols []string, startNs uint64) ([]eventState, []boundary, error) {
	if len(events) == 0 {
		return nil, nil, nil
	}
	if len(events) > EventsMax {
		return nil, nil, fmt.Errorf("%w: %d events, at most %d", ErrConfig, len(events), EventsMax)
	}
	index := make(map[string]int32, len(symbols))
	for i, s := range symbols {
		index[s] = int32(i)
	}
	st := make([]eventState, len(events))
	var tl []boundary
	for i := range events {
		e := events[i]
		if err := e.Validate(); err != nil {
			return nil, nil, fmt.Errorf("%w: event %d: %w", ErrConfig, i+1, err)
		}
		e.Symbols = append([]string(nil), e.Symbols...)
		st[i].ev = e
		if len(e.Symbols) > 0 {
			seen := make(map[int32]bool, len(e.Symbols))
			for _, s := range e.Symbols {
				j, ok := index[s]
				if !ok {
					return nil, nil, fmt.Errorf("%w: event %d (%v): symbol %q is not in the session", ErrConfig, i+1, e.Kind, s)
				}
				if !seen[j] {
					seen[j] = true
					st[i].syms = append(st[i].syms, j)
				}
			}
		}
		at := startNs + e.AtNs
		tl = append(tl, boundary{atNs: at, event: int32(i)})
		if e.Kind == EventVolSpike {
			tl = append(tl, boundary{atNs: at + e.DurationNs, event: int32(i), end: true})
		}
	}
	// Insertion sort: at most 2·EventsMax boundaries.
	for i := 1; i < len(tl); i++ {
		for j := i; j > 0 && boundaryLess(tl[j], tl[j-1]); j-- {
			tl[j], tl[j-1] = tl[j-1], tl[j]
		}
	}
	return st, tl, nil
}

func boundaryLess(a, b boundary) bool {
	if a.atNs != b.atNs {
		return a.atNs < b.atNs
	}
	return a.end && !b.end
}

// fireDue applies every event boundary due at the current time. It runs
// after the clock advanced for a continuous-trading message, before that
// message is built.
func (g *Generator) fireDue() {
	for g.evNext < len(g.timeline) && g.timeline[g.evNext].atNs <= g.now {
		b := g.timeline[g.evNext]
		g.evNext++
		es := &g.events[b.event]
		switch es.ev.Kind {
		case EventCrash:
			g.crash(es)
		case EventVolSpike:
			es.active = !b.end
			g.respike(es)
		}
		if !b.end {
			g.stats.Events++
		}
		g.fired = append(g.fired, Fired{Index: int(b.event), Event: es.ev, End: b.end, AtNs: g.now})
	}
}

// forEventSymbol calls f for each symbol the event affects.
func (g *Generator) forEventSymbol(es *eventState, f func(sy *symbol)) {
	if es.syms == nil {
		for i := range g.syms {
			f(&g.syms[i])
		}
		return
	}
	for _, i := range es.syms {
		f(&g.syms[i])
	}
}

// crash moves the affected symbols' mids and queues their sweeps.
func (g *Generator) crash(es *eventState) {
	mul := 1 + es.ev.Move
	g.forEventSymbol(es, func(sy *symbol) {
		g.evolve(sy)
		sy.mid = math.Min(math.Max(sy.mid*mul, 1), 100_000)
		sy.sweepExecs = [2]uint8{}
		if !sy.sweeping {
			sy.sweeping = true
			g.sweeps = append(g.sweeps, int32(sy.locate-1))
		}
	})
}

// respike recomputes the volatility multiplier of the symbols of spike es
// from every active spike, after moving their paths to now at the old one.
func (g *Generator) respike(es *eventState) {
	g.forEventSymbol(es, func(sy *symbol) {
		g.evolve(sy)
		mul := 1.0
		idx := int32(sy.locate - 1)
		for i := range g.events {
			o := &g.events[i]
			if o.ev.Kind != EventVolSpike || !o.active {
				continue
			}
			if o.syms == nil || containsIdx(o.syms, idx) {
				mul *= o.ev.Factor
			}
		}
		sy.volMul = mul
	})
}

func containsIdx(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TakeFired returns the event boundaries passed since the previous call, in
// order. The slice is valid until the next call of Next.
func (g *Generator) TakeFired() []Fired {
	out := g.fired
	g.fired = g.fired[:0]
	return out
}

// Events returns a copy of the session's events, in Config order.
func (g *Generator) Events() []Event {
	out := make([]Event, len(g.events))
	for i := range g.events {
		out[i] = g.events[i].ev
		out[i].Symbols = append([]string(nil), out[i].Symbols...)
	}
	return out
}

// Sweep actions.
const (
	sweepNone = iota
	sweepExecBid
	sweepExecAsk
	sweepReprice
)

// sweepAction returns what sy's sweep does next, and on which order.
func (g *Generator) sweepAction(sy *symbol) (int, int32) {
	mid := sy.mid * 1e4
	trading := sy.state == 'T'
	// Orders left on the wrong side of the new price, best first.
	if l := sy.bids.best(); l != nil && float64(l.price)-staleUnits > mid {
		if trading && sy.sweepExecs[0] < sweepExecsMax {
			return sweepExecBid, l.head
		}
		return sweepReprice, l.head
	}
	if l := sy.asks.best(); l != nil && float64(l.price)+staleUnits < mid {
		if trading && sy.sweepExecs[1] < sweepExecsMax {
			return sweepExecAsk, l.head
		}
		return sweepReprice, l.head
	}
	// Orders left far behind, worst first.
	const band = distTicks * TickUnits
	if len(sy.bids.levels) > 0 {
		if w := &sy.bids.levels[0]; w.price+band < passiveLimit(sy, true) {
			return sweepReprice, w.head
		}
	}
	if len(sy.asks.levels) > 0 {
		if w := &sy.asks.levels[0]; w.price > passiveLimit(sy, false)+band {
			return sweepReprice, w.head
		}
	}
	return sweepNone, nilOrder
}

// nextSweep returns the symbol whose sweep has work, dropping finished
// sweeps, or nil.
func (g *Generator) nextSweep() *symbol {
	for len(g.sweeps) > 0 {
		sy := &g.syms[g.sweeps[0]]
		if a, _ := g.sweepAction(sy); a != sweepNone && sy.sweepSteps < g.sweepStepsMax {
			return sy
		}
		sy.sweeping = false
		sy.sweepSteps = 0
		g.sweeps = append(g.sweeps[:0], g.sweeps[1:]...)
	}
	return nil
}

// sweep emits sy's next sweep message; the clock has advanced.
func (g *Generator) sweep(m *itch.Message, sy *symbol) {
	sy.sweepSteps++
	g.stats.SweepMessages++
	a, oi := g.sweepAction(sy)
	switch a {
	case sweepExecBid:
		sy.sweepExecs[0]++
		g.execute(m, sy, true, false, true)
	case sweepExecAsk:
		sy.sweepExecs[1]++
		g.execute(m, sy, false, false, true)
	case sweepReprice:
		g.reprice(m, sy, oi)
	default:
		panic("itchgen: sweep without work")
	}
}

// reprice moves order oi to a passive price at sy's current level (same
// size, new reference), or deletes it when no price fits.
func (g *Generator) reprice(m *itch.Message, sy *symbol, oi int32) {
	o := g.pool.orders[oi]
	k := int64(g.geometric(lnQ30, distTicks))
	var ticks int64
	if o.buy {
		ticks = int64(passiveLimit(sy, true)/TickUnits) - k
	} else {
		ticks = int64(passiveLimit(sy, false)/TickUnits) + k
	}
	g.removeOrder(sy, oi)
	price, ok := priceLimit(sy, o.buy, uint32(max(ticks, 1))*TickUnits)
	if !ok {
		g.stamp(m, itch.TypeOrderDelete, sy.locate)
		m.OrderDelete = itch.OrderDelete{OrderRef: o.ref}
		return
	}
	_, ref := g.insertOrder(sy, o.buy, price, o.shares)
	g.stamp(m, itch.TypeOrderReplace, sy.locate)
	m.OrderReplace = itch.OrderReplace{OrigOrderRef: o.ref, NewOrderRef: ref, Shares: o.shares, Price: price}
}
