package ring

import "math"

// Tick is one top-of-book update handed from the feed handler to the engine.
// It is 56 bytes, so that with its ring slot's 8-byte sequence word a slot
// is exactly one 64-byte cache line.
//
// Prices are ITCH price units (1/10,000); 0 means "no price" for Bid, Ask and
// Last. Sizes are whole shares.
type Tick struct {
	// Instrument is the feed's stock locate code for the book that changed.
	Instrument uint32
	// Flags is a bit set of Flag* values.
	Flags uint32
	// Bid and Ask are the best prices; 0 when that side is empty.
	Bid, Ask int64
	// BidSize and AskSize are the shares resting at the best prices,
	// saturated at SharesMax (see Shares): a size of SharesMax means "at
	// least SharesMax".
	BidSize, AskSize uint32
	// Last is the price of the latest printable execution; 0 before any.
	Last int64
	// ExchangeNs is the ITCH timestamp: nanoseconds since midnight, exchange time.
	ExchangeNs uint64
	// RecvNs is the local receive time of the packet that carried the update,
	// in nanoseconds of the process's monotonic clock (see feedhandler/source).
	RecvNs int64
}

// SharesMax is the largest size a Tick carries; larger sizes saturate to it.
const SharesMax = math.MaxUint32

// Shares converts a book's share count to a Tick size, saturating at
// SharesMax.
func Shares(n uint64) uint32 {
	return uint32(min(n, SharesMax))
}

// Tick flags.
const (
	// FlagStale marks a book that may be wrong: a sequence gap on its feed is
	// not (yet) recovered. Consumers must treat its prices as stale marks.
	FlagStale uint32 = 1 << iota
	// FlagTrade marks a tick caused by a printable execution (Last changed).
	FlagTrade
	// FlagHalted marks a book whose trading action state is not "trading".
	FlagHalted
)
