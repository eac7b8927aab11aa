package itchgen

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

func TestParseEvents(t *testing.T) {
	script := `# a stress run
crash@20s:-25%:AAPL,MSFT
volspike@40s:x3:30s ; outage@1m0.5s:10s   # two on one line
  crash @ 0s : -0.5% : NVDA
volspike@250ms:x0.5:1h30m:TSLA
`
	got, err := ParseEvents(script)
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Kind: EventCrash, AtNs: 20e9, Move: -0.25, Symbols: []string{"AAPL", "MSFT"}},
		{Kind: EventVolSpike, AtNs: 40e9, Factor: 3, DurationNs: 30e9},
		{Kind: EventOutage, AtNs: 60.5e9, DurationNs: 10e9},
		{Kind: EventCrash, AtNs: 0, Move: -0.005, Symbols: []string{"NVDA"}},
		{Kind: EventVolSpike, AtNs: 250e6, Factor: 0.5, DurationNs: uint64(90 * time.Minute), Symbols: []string{"TSLA"}},
	}
	if len(got) != len(want) {
		t.Fatalf("parsed %d events, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !eventsEqual(got[i], want[i]) {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if s := got[0].String(); s != "crash@20s:-25%:AAPL,MSFT" {
		t.Errorf("String() = %q", s)
	}
	if s := got[2].String(); s != "outage@1m0.5s:10s" {
		t.Errorf("String() = %q", s)
	}
	again, err := ParseEvents(FormatEvents(got))
	if err != nil || len(again) != len(got) {
		t.Fatalf("re-parsing the formatted script: %v", err)
	}
	for i := range got {
		if !eventsEqual(again[i], got[i]) {
			t.Errorf("round trip %d: %+v, want %+v", i, again[i], got[i])
		}
	}
	if evs, err := ParseEvents("  # nothing\n\n;;"); err != nil || len(evs) != 0 {
		t.Fatalf("empty script: %v %v", evs, err)
	}
}

// eventsEqual compares events, a crash's move to a relative 1e-12 (the
// script carries it as a percentage).
func eventsEqual(a, b Event) bool {
	if math.Abs(a.Move-b.Move) > 1e-12*math.Abs(b.Move) {
		return false
	}
	a.Move, b.Move = 0, 0
	return a.Kind == b.Kind && a.AtNs == b.AtNs && a.Factor == b.Factor && a.DurationNs == b.DurationNs &&
		slices.Equal(a.Symbols, b.Symbols)
}

func TestParseEventsErrors(t *testing.T) {
	for _, s := range []string{
		"crash",                   // no @
		"boom@1s:-5%",             // unknown kind
		"crash@1s",                // no move
		"crash@1s:-25",            // move without %
		"crash@1s:25%",            // up
		"crash@1s:0%",             // zero
		"crash@1s:-96%",           // beyond the bound
		"crash@1s:-NaN%",          // not a number
		"crash@1s:-5%:AAPL,,MSFT", // empty symbol
		"crash@1s:-5%:TOOLONGSYM", // bad symbol
		"crash@1s:-5%:AAPL:MSFT",  // too many fields
		"crash@-1s:-5%",           // negative time
		"crash@25h:-5%",           // too late
		"crash@soon:-5%",          // not a duration
		"volspike@1s:3:10s",       // factor without x
		"volspike@1s:x0:10s",      // zero factor
		"volspike@1s:x101:10s",    // beyond the bound
		"volspike@1s:x2",          // no duration
		"volspike@1s:x2:0s",       // zero duration
		"volspike@1s:x2:25h",      // too long
		"outage@1s",               // no duration
		"outage@1s:5s:AAPL",       // symbols on an outage
		"outage@1s:-5s",           // negative duration
		strings.Repeat("outage@1s:1s;", EventsMax+1),
		strings.Repeat(" ", ScriptBytesMax+1),
	} {
		if evs, err := ParseEvents(s); !errors.Is(err, ErrEventScript) {
			t.Errorf("ParseEvents(%.40q) = %+v, %v; want ErrEventScript", s, evs, err)
		}
	}
}

func FuzzParseEvents(f *testing.F) {
	for _, s := range []string{
		"crash@20s:-25%:AAPL,MSFT", "volspike@40s:x3:30s", "outage@60s:10s",
		"crash@0s:-1e-3%;volspike@1h:x100:24h:A,B # c\noutage@1ns:1ns",
		"crash@1s:-95%", "volspike@1s:x0.001:1s", "crash@1s:-5%:AAPL:MSFT", "@:%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		evs, err := ParseEvents(s)
		if err != nil {
			if !errors.Is(err, ErrEventScript) {
				t.Fatalf("error %v does not wrap ErrEventScript", err)
			}
			return
		}
		if len(evs) > EventsMax {
			t.Fatalf("%d events", len(evs))
		}
		for i := range evs {
			if err := evs[i].Validate(); err != nil {
				t.Fatalf("parsed event %+v does not validate: %v", evs[i], err)
			}
		}
		again, err := ParseEvents(FormatEvents(evs))
		if err != nil {
			t.Fatalf("formatted script %q does not parse: %v", FormatEvents(evs), err)
		}
		if len(again) != len(evs) {
			t.Fatalf("round trip: %d events, want %d", len(again), len(evs))
		}
		for i := range evs {
			if !eventsEqual(again[i], evs[i]) {
				t.Fatalf("round trip %d: %+v, want %+v", i, again[i], evs[i])
			}
		}
	})
}

func TestEventConfigErrors(t *testing.T) {
	syms := []string{"AAA", "BBB"}
	for i, evs := range [][]Event{
		{{Kind: EventCrash, AtNs: 1e9, Move: -0.1, Symbols: []string{"ZZZ"}}},
		{{Kind: EventCrash, AtNs: 1e9, Move: 0.1}},
		{{Kind: EventCrash, AtNs: 1e9, Move: -0.1, DurationNs: 5}},
		{{Kind: EventVolSpike, AtNs: 1e9, Factor: 2}},
		{{Kind: EventOutage, AtNs: 1e9, DurationNs: 1e9, Symbols: []string{"AAA"}}},
		{{Kind: 9, AtNs: 1e9}},
		slices.Repeat([]Event{{Kind: EventOutage, AtNs: 1, DurationNs: 1}}, EventsMax+1),
	} {
		if _, err := New(Config{Symbols: syms, Events: evs}); !errors.Is(err, ErrConfig) {
			t.Errorf("events %d: err %v, want ErrConfig", i, err)
		}
	}
}

// crashConfig is a session with one crash of AAA at 1 s.
func crashConfig(move float64) Config {
	return Config{Symbols: []string{"AAA", "BBB", "CCC", "DDD"}, Seed: 5, DurationNs: 3e9, Rate: 100_000,
		NoHalts: true, Events: []Event{{Kind: EventCrash, AtNs: 1e9, Move: move, Symbols: []string{"AAA"}}}}
}

func TestEventsDeterminism(t *testing.T) {
	evs, err := ParseEvents("crash@300ms:-20%:AAA; volspike@100ms:x4:400ms; outage@500ms:50ms")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Symbols: []string{"AAA", "BBB", "CCC"}, Seed: 42, Messages: 70_000, Rate: 100_000, Events: evs}
	a, b := sessionBytes(t, cfg), sessionBytes(t, cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("equal seeds and scripts gave different sessions")
	}
	plain := cfg
	plain.Events = nil
	if bytes.Equal(a, sessionBytes(t, plain)) {
		t.Fatal("the script changed nothing")
	}
	// The scripted session still keeps every book invariant and its exact
	// message budget.
	g, c := runChecked(t, cfg, 1009)
	if c.n != cfg.Messages {
		t.Fatalf("%d messages, want %d", c.n, cfg.Messages)
	}
	if st := g.Stats(); st.Events != 3 || st.SweepMessages == 0 {
		t.Fatalf("stats: %d events, %d sweep messages", st.Events, st.SweepMessages)
	}
}

// midOf returns a book's BBO mid in dollars, 0 when one-sided.
func midOf(g *Generator, locate uint16) float64 {
	t, _ := g.Book(locate)
	if t.Bid == 0 || t.Ask == 0 {
		return 0
	}
	return float64(t.Bid+t.Ask) / 2 / 1e4
}

func TestCrashMovesMid(t *testing.T) {
	const move = -0.25
	cfg := crashConfig(move)
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := newChecker(t, g.Symbols())
	var m itch.Message
	var before, beforeOther float64
	for before == 0 {
		if !g.Next(&m) {
			t.Fatal("session ended before the crash")
		}
		c.apply(&m)
		if f := g.TakeFired(); len(f) > 0 {
			if len(f) != 1 || f[0].Event.Kind != EventCrash || f[0].AtNs != m.Timestamp ||
				m.Timestamp < DefaultStartNs+1e9 {
				t.Fatalf("fired %+v at message %d", f, m.Timestamp)
			}
			before, beforeOther = g.syms[0].mid/(1+move), midOf(g, 2)
		}
	}
	// The fair price fell by the move; the book follows within about one
	// book's worth of messages (the sweep), here at most 400.
	want := before * (1 + move)
	n := 0
	for ; n < 400; n++ {
		if !g.Next(&m) {
			t.Fatal("session ended")
		}
		c.apply(&m)
		if mid := midOf(g, 1); mid > 0 && math.Abs(mid/want-1) < 0.02 {
			break
		}
	}
	if n == 400 {
		t.Fatalf("BBO mid %.2f after 400 messages; fair %.2f → %.2f", midOf(g, 1), before, want)
	}
	t.Logf("AAA mid %.2f → %.2f (fair %.2f) within %d messages", before, midOf(g, 1), want, n+1)
	// Trading goes on at the new level: the book stays there for the rest
	// of the session, and the other books did not crash.
	for g.Next(&m) {
		c.apply(&m)
		if m.Timestamp > DefaultStartNs+2e9 {
			break
		}
	}
	c.compare(g)
	if mid := midOf(g, 1); math.Abs(mid/want-1) > 0.05 {
		t.Fatalf("AAA mid %.2f a second after the crash, want about %.2f", mid, want)
	}
	if mid := midOf(g, 2); math.Abs(mid/beforeOther-1) > 0.05 {
		t.Fatalf("BBB moved from %.2f to %.2f", beforeOther, mid)
	}
	if top, _ := g.Book(1); top.Last == 0 || math.Abs(float64(top.Last)/1e4/want-1) > 0.05 {
		t.Fatalf("AAA last trade %d, want about %.2f", top.Last, want)
	}
}

// realizedVol returns the standard deviation of log-returns of locate's
// fair price sampled every step messages over n samples.
func realizedVol(g *Generator, sy int, step, n int) float64 {
	var m itch.Message
	prev := g.syms[sy].mid
	var sum, sum2 float64
	for i := 0; i < n; i++ {
		for j := 0; j < step; j++ {
			g.Next(&m)
		}
		r := math.Log(g.syms[sy].mid / prev)
		prev = g.syms[sy].mid
		sum += r
		sum2 += r * r
	}
	mean := sum / float64(n)
	return math.Sqrt(sum2/float64(n) - mean*mean)
}

func TestVolSpike(t *testing.T) {
	// A x5 spike from 1 s to 3 s of session time at 20,000 messages per
	// second: realized volatility before, during and after it.
	cfg := Config{Symbols: []string{"AAA", "BBB"}, Seed: 3, Rate: 20_000, NoHalts: true,
		Events: []Event{{Kind: EventVolSpike, AtNs: 1e9, Factor: 5, DurationNs: 2e9, Symbols: []string{"AAA"}}}}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var m itch.Message
	for g.Now() < DefaultStartNs+100e6 {
		g.Next(&m)
	}
	calm := realizedVol(g, 0, 40, 400) // ~0.8 s
	for g.Now() < DefaultStartNs+1e9 {
		g.Next(&m)
	}
	if g.syms[0].volMul != 5 || g.syms[1].volMul != 1 {
		t.Fatalf("vol multipliers %v %v during the spike", g.syms[0].volMul, g.syms[1].volMul)
	}
	spike := realizedVol(g, 0, 40, 800) // ~1.6 s
	for g.Now() < DefaultStartNs+3e9 {
		g.Next(&m)
	}
	after := realizedVol(g, 0, 40, 400)
	if g.syms[0].volMul != 1 {
		t.Fatalf("vol multiplier %v after the spike", g.syms[0].volMul)
	}
	t.Logf("realized σ per sample: calm %.3g, spike %.3g, after %.3g", calm, spike, after)
	if r := spike / calm; r < 3.5 || r > 7 {
		t.Fatalf("spike/calm realized vol ratio %.2f, want about 5", r)
	}
	if r := after / calm; r < 0.6 || r > 1.6 {
		t.Fatalf("after/calm realized vol ratio %.2f, want about 1", r)
	}
}

func TestOutageFired(t *testing.T) {
	cfg := Config{SymbolCount: 3, Seed: 1, Rate: 50_000, DurationNs: 2e9,
		Events: []Event{{Kind: EventOutage, AtNs: 500e6, DurationNs: 250e6},
			{Kind: EventVolSpike, AtNs: 1e9, Factor: 2, DurationNs: 200e6}}}
	plain := cfg
	plain.Events = nil
	// An outage leaves the messages unchanged: only the sender acts on it.
	withOutage := cfg
	withOutage.Events = cfg.Events[:1]
	if !bytes.Equal(sessionBytes(t, plain), sessionBytes(t, withOutage)) {
		t.Fatal("an outage changed the generated messages")
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var m itch.Message
	var got []Fired
	var prevTs uint64
	for g.Next(&m) {
		for _, f := range g.TakeFired() {
			if f.AtNs != m.Timestamp || prevTs >= DefaultStartNs+f.Event.AtNs+boolNs(f.End, f.Event.DurationNs) {
				t.Fatalf("boundary %+v fired at message %d, previous %d", f, m.Timestamp, prevTs)
			}
			got = append(got, f)
		}
		prevTs = m.Timestamp
	}
	if len(got) != 3 || got[0].Event.Kind != EventOutage || got[0].End ||
		got[1].Index != 1 || got[1].End || got[2].Index != 1 || !got[2].End {
		t.Fatalf("fired %+v", got)
	}
	if g.Stats().Events != 2 {
		t.Fatalf("%d events started", g.Stats().Events)
	}
	if evs := g.Events(); len(evs) != 2 || evs[0].Kind != EventOutage {
		t.Fatalf("Events() = %+v", evs)
	}
}

func boolNs(b bool, ns uint64) uint64 {
	if b {
		return ns
	}
	return 0
}

func TestEventsZeroAlloc(t *testing.T) {
	// Crashes every 100 ms of session time, spikes in between: Next stays
	// allocation-free through them.
	var evs []Event
	for i := range 20 {
		at := uint64(i+1) * 100e6
		evs = append(evs, Event{Kind: EventCrash, AtNs: at, Move: -0.02},
			Event{Kind: EventVolSpike, AtNs: at + 50e6, Factor: 3, DurationNs: 30e6})
	}
	g, err := New(Config{SymbolCount: 8, Seed: 2, Rate: 200_000, Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	var m itch.Message
	for i := 0; i < 30_000; i++ { // books at depth, before the first event
		g.Next(&m)
	}
	allocs := testing.AllocsPerRun(200_000, func() {
		if !g.Next(&m) {
			t.Fatal("session ended")
		}
		g.TakeFired()
	})
	if g.Stats().Events < 10 {
		t.Fatalf("only %d events fired in the measured window", g.Stats().Events)
	}
	if allocs != 0 {
		t.Fatalf("Next allocates %.3f times per message with events", allocs)
	}
}

// BenchmarkNextEvents measures whole scripted sessions: 20,000 messages of
// 8 symbols with a 2 % crash of every book each 10 ms of session time
// (about every 2,000 messages) and spikes in between; each iteration builds
// a generator and runs its session to the end.
func BenchmarkNextEvents(b *testing.B) {
	var evs []Event
	for i := range 10 {
		at := uint64(i) * 10e6
		evs = append(evs, Event{Kind: EventCrash, AtNs: at, Move: -0.02},
			Event{Kind: EventVolSpike, AtNs: at + 5e6, Factor: 3, DurationNs: 2e6})
	}
	cfg := Config{SymbolCount: 8, Seed: 1, Messages: 20_000, Events: evs}
	var m itch.Message
	var msgs, sweeps uint64
	b.ReportAllocs()
	for b.Loop() {
		g, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		for g.Next(&m) {
			g.TakeFired()
		}
		msgs += g.Stats().Messages
		sweeps += g.Stats().SweepMessages
	}
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(sweeps)/float64(msgs), "sweep-share")
}

// BenchmarkParseEvents measures parsing a three-event script.
func BenchmarkParseEvents(b *testing.B) {
	const script = "crash@20s:-25%:AAPL,MSFT\nvolspike@40s:x3:30s\noutage@60s:10s\n"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseEvents(script); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scripts/s")
}
