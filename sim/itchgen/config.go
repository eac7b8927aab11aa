package itchgen

import (
	"errors"
	"fmt"
	"math"
)

// Units and bounds.
const (
	// TickUnits is the price grid: $0.01 in ITCH price units (1/10,000).
	TickUnits = 100
	// SymbolsMax is the most symbols a session can list (locate codes
	// 1..65535; 0 is market-wide).
	SymbolsMax = 65535
	// SymbolBytesMax is the longest symbol (the ITCH Stock field).
	SymbolBytesMax = 8
	// BookOrdersMaxLimit bounds Config.BookOrdersMax.
	BookOrdersMaxLimit = 1 << 16
	// RateMax bounds Config.Rate in messages per simulated second.
	RateMax = 1e9
	// dayNs is one day in nanoseconds; simulated sessions stay within it.
	dayNs = 86_400_000_000_000
	// nsPerTradingYear converts nanoseconds to the volatility's time unit:
	// 252 trading days of 6.5 hours.
	nsPerTradingYear = 252 * 6.5 * 3600 * 1e9
)

// Defaults for zero Config fields.
const (
	// DefaultSymbolCount is the number of symbols when none are named.
	DefaultSymbolCount = 8
	// DefaultRate is the mean message rate in messages per simulated second.
	DefaultRate = 200_000
	// DefaultStartNs is the first message's timestamp: 09:30:00.
	DefaultStartNs = 34_200_000_000_000
	// DefaultBookOrdersMax bounds the live orders on one book.
	DefaultBookOrdersMax = 200
	// DefaultVolMin and DefaultVolMax bound the annualized volatilities
	// drawn per symbol.
	DefaultVolMin, DefaultVolMax = 0.20, 0.80
	// DefaultHaltRate is the probability per continuous-trading message that
	// a trading symbol enters a volatility pause.
	DefaultHaltRate = 2e-5
)

// ErrConfig reports an unusable Config; the wrapping error says which field.
var ErrConfig = errors.New("itchgen: bad config")

// Config configures a Generator. The zero value is usable: 8 symbols, seed 0,
// an unbounded session at 200,000 messages per simulated second from 09:30.
type Config struct {
	// Symbols names the securities, in locate order (locate = index + 1).
	// Each is 1..8 bytes of printable ASCII without spaces; no duplicates.
	// When empty, SymbolCount names are generated.
	Symbols []string
	// SymbolCount is the number of generated symbols when Symbols is empty;
	// 0 means DefaultSymbolCount. At most SymbolsMax.
	SymbolCount int
	// Seed selects the session: equal configs give identical sessions.
	Seed uint64
	// Messages, when non-zero, is the exact number of messages in the
	// session, opening and closing sequences included (unless DurationNs
	// or Finish ends continuous trading first); it must be at least
	// MinMessages(symbols).
	Messages uint64
	// DurationNs, when non-zero, bounds continuous trading to this much
	// simulated time. With neither bound the session runs until Finish.
	DurationNs uint64
	// Rate is the mean message rate in messages per simulated second; it
	// spaces timestamps. 0 means DefaultRate.
	Rate float64
	// StartNs is the first timestamp, in nanoseconds since midnight; 0 means
	// DefaultStartNs.
	StartNs uint64
	// BookOrdersMax bounds the live orders on each book; 0 means
	// DefaultBookOrdersMax. Flow keeps books near half of it.
	BookOrdersMax int
	// VolMin and VolMax bound the annualized volatility drawn for each
	// symbol's mid-price path; 0 means the defaults.
	VolMin, VolMax float64
	// JumpsPerHour is each symbol's mean number of price jumps per simulated
	// hour (log-normal, JumpSigma); 0 means none.
	JumpsPerHour float64
	// JumpSigma is the standard deviation of a jump's log size; 0 means 0.02.
	JumpSigma float64
	// HaltRate is the probability per continuous-trading message that a
	// volatility pause starts; 0 means DefaultHaltRate. At most a tenth of
	// the symbols (at least one) are paused at a time.
	HaltRate float64
	// NoHalts disables volatility pauses.
	NoHalts bool
	// HaltNs is how long a pause lasts in simulated time; 0 means 1/50 of
	// the session's expected length, clamped to 1 ms .. 5 minutes.
	HaltNs uint64
	// Events are scripted market events (crashes, volatility spikes,
	// outages) at times of the session clock; at most EventsMax, naming
	// only the session's symbols. ParseEvents reads them from a script.
	// A session without events is unchanged by this field.
	Events []Event
}

// settings is a validated Config with defaults applied.
type settings struct {
	symbols       []string
	seed          uint64
	messages      uint64
	durationNs    uint64
	meanGapNs     float64
	startNs       uint64
	bookOrdersMax int
	volMin        float64
	volMax        float64
	jumpPerNs     float64
	jumpSigma     float64
	haltRate      float64
	haltNs        uint64
}

// MinMessages returns the smallest Config.Messages for a session of
// symbols symbols: its opening and closing sequences.
func MinMessages(symbols int) uint64 {
	return prefixLen(symbols) + suffixLen(symbols)
}

func (c *Config) settings() (settings, error) {
	s := settings{seed: c.Seed, messages: c.Messages, durationNs: c.DurationNs}
	if len(c.Symbols) > 0 {
		if len(c.Symbols) > SymbolsMax {
			return s, fmt.Errorf("%w: %d symbols, at most %d", ErrConfig, len(c.Symbols), SymbolsMax)
		}
		seen := make(map[string]bool, len(c.Symbols))
		for _, sym := range c.Symbols {
			if err := checkSymbol(sym); err != nil {
				return s, err
			}
			if seen[sym] {
				return s, fmt.Errorf("%w: duplicate symbol %q", ErrConfig, sym)
			}
			seen[sym] = true
		}
		s.symbols = append([]string(nil), c.Symbols...)
	} else {
		n := c.SymbolCount
		if n == 0 {
			n = DefaultSymbolCount
		}
		if n < 0 || n > SymbolsMax {
			return s, fmt.Errorf("%w: SymbolCount %d outside 1..%d", ErrConfig, n, SymbolsMax)
		}
		s.symbols = GenerateSymbols(n)
	}
	rate := c.Rate
	if rate == 0 {
		rate = DefaultRate
	}
	if !(rate > 0 && rate <= RateMax) {
		return s, fmt.Errorf("%w: Rate %v outside (0, %g]", ErrConfig, c.Rate, float64(RateMax))
	}
	s.meanGapNs = 1e9 / rate
	s.startNs = c.StartNs
	if s.startNs == 0 {
		s.startNs = DefaultStartNs
	}
	if s.startNs >= dayNs {
		return s, fmt.Errorf("%w: StartNs %d is not a time of day", ErrConfig, c.StartNs)
	}
	k := len(s.symbols)
	if c.Messages > 0 && c.Messages < MinMessages(k) {
		return s, fmt.Errorf("%w: Messages %d below the %d of the opening and closing sequences for %d symbols",
			ErrConfig, c.Messages, MinMessages(k), k)
	}
	// The session must end before midnight: bound its expected length with
	// room for the randomness of the gaps.
	spanNs := expectedSpanNs(c.Messages, c.DurationNs, s.meanGapNs, k)
	if spanNs > 0.9*float64(dayNs-s.startNs) {
		return s, fmt.Errorf("%w: session of about %.0f s from %d ns would run past midnight",
			ErrConfig, spanNs/1e9, s.startNs)
	}
	s.bookOrdersMax = c.BookOrdersMax
	if s.bookOrdersMax == 0 {
		s.bookOrdersMax = DefaultBookOrdersMax
	}
	if s.bookOrdersMax < 2 || s.bookOrdersMax > BookOrdersMaxLimit {
		return s, fmt.Errorf("%w: BookOrdersMax %d outside 2..%d", ErrConfig, c.BookOrdersMax, BookOrdersMaxLimit)
	}
	s.volMin, s.volMax = c.VolMin, c.VolMax
	if s.volMin == 0 && s.volMax == 0 {
		s.volMin, s.volMax = DefaultVolMin, DefaultVolMax
	}
	if !(s.volMin >= 0 && s.volMax >= s.volMin && s.volMax <= 20) {
		return s, fmt.Errorf("%w: VolMin %v VolMax %v: want 0 <= VolMin <= VolMax <= 20", ErrConfig, c.VolMin, c.VolMax)
	}
	if !(c.JumpsPerHour >= 0 && c.JumpsPerHour <= 3600) {
		return s, fmt.Errorf("%w: JumpsPerHour %v outside 0..3600", ErrConfig, c.JumpsPerHour)
	}
	s.jumpPerNs = c.JumpsPerHour / 3600e9
	s.jumpSigma = c.JumpSigma
	if s.jumpSigma == 0 {
		s.jumpSigma = 0.02
	}
	if !(s.jumpSigma > 0 && s.jumpSigma <= 1) {
		return s, fmt.Errorf("%w: JumpSigma %v outside (0, 1]", ErrConfig, c.JumpSigma)
	}
	s.haltRate = c.HaltRate
	if s.haltRate == 0 {
		s.haltRate = DefaultHaltRate
	}
	if !(s.haltRate >= 0 && s.haltRate <= 0.01) {
		return s, fmt.Errorf("%w: HaltRate %v outside [0, 0.01]", ErrConfig, c.HaltRate)
	}
	if c.NoHalts {
		s.haltRate = 0
	}
	s.haltNs = c.HaltNs
	if s.haltNs == 0 {
		h := spanNs / 50
		if h == 0 { // unbounded session
			h = 300e9
		}
		s.haltNs = uint64(math.Min(math.Max(h, 1e6), 300e9))
	}
	if s.haltNs > dayNs {
		return s, fmt.Errorf("%w: HaltNs %d longer than a day", ErrConfig, c.HaltNs)
	}
	return s, nil
}

// expectedSpanNs estimates a session's simulated length; 0 when unbounded.
func expectedSpanNs(messages, durationNs uint64, meanGapNs float64, symbols int) float64 {
	byCount := float64(messages) * meanGapNs
	if durationNs == 0 {
		return byCount
	}
	// Continuous trading plus the opening and closing sequences.
	byTime := float64(durationNs) + float64(MinMessages(symbols))*meanGapNs
	if messages == 0 || byTime < byCount {
		return byTime
	}
	return byCount
}

func checkSymbol(sym string) error {
	if len(sym) == 0 || len(sym) > SymbolBytesMax {
		return fmt.Errorf("%w: symbol %q: want 1..%d bytes", ErrConfig, sym, SymbolBytesMax)
	}
	for i := 0; i < len(sym); i++ {
		if c := sym[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%w: symbol %q: byte %d is not printable ASCII", ErrConfig, sym, i)
		}
	}
	return nil
}

// wellKnown are the first generated symbols, for readable captures.
var wellKnown = [...]string{
	"AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "AVGO",
	"COST", "NFLX", "AMD", "PEP", "ADBE", "CSCO", "TMUS", "INTC",
	"QCOM", "TXN", "AMGN", "INTU", "ISRG", "HON", "AMAT", "BKNG",
	"SBUX", "MDLZ", "GILD", "ADI", "VRTX", "REGN", "LRCX", "PANW",
}

// GenerateSymbols returns n distinct symbol names: well-known Nasdaq tickers
// first, then SIM00033, SIM00034, ... (by locate).
func GenerateSymbols(n int) []string {
	out := make([]string, n)
	for i := range out {
		if i < len(wellKnown) {
			out[i] = wellKnown[i]
		} else {
			out[i] = fmt.Sprintf("SIM%05d", i+1)
		}
	}
	return out
}
