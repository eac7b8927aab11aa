package feedhandler

import (
	"encoding/json"
	"sort"
)

// Summary is the result of a replay, in the shape of DESIGN §5.1
// (`ballastctl feed --pcap FILE --summary`). Extra fields beyond the design's
// extend it; none of the design's fields change meaning.
type Summary struct {
	// Packets counts UDP datagrams carrying MoldUDP64, heartbeats and
	// end-of-session packets included.
	Packets uint64 `json:"packets"`
	// Messages counts ITCH messages applied, duplicates excluded.
	Messages uint64 `json:"messages"`
	// ByType maps an ITCH message type letter to the count applied.
	ByType map[string]uint64 `json:"by_type"`
	// Duplicates counts messages whose sequence number was already seen.
	Duplicates uint64 `json:"duplicates"`
	// Gaps lists inclusive missing sequence ranges, oldest first.
	Gaps []Gap `json:"gaps"`
	// Errors counts malformed packets or messages skipped.
	Errors uint64 `json:"errors"`
	// Books maps a symbol (trailing spaces trimmed) to its book's top.
	Books map[string]BookSummary `json:"books"`

	// GapsOmitted counts gaps beyond the bound on the Gaps list (extension).
	GapsOmitted uint64 `json:"gaps_omitted,omitempty"`
	// UnknownOrders counts order messages naming an order that is not live,
	// as when a capture starts mid-session (extension).
	UnknownOrders uint64 `json:"unknown_orders"`
	// Skipped counts captured frames that were not IPv4/UDP (extension).
	Skipped uint64 `json:"skipped_frames"`
	// EndOfSession reports whether an end-of-session packet was seen (extension).
	EndOfSession bool `json:"end_of_session"`
}

// Gap is an inclusive range of sequence numbers never received.
type Gap struct {
	Session string `json:"session"`
	First   uint64 `json:"first"`
	Last    uint64 `json:"last"`
}

// BookSummary is one book's top of book. Prices are ITCH price units
// (1/10,000); nil when that side is empty or no printable trade happened.
type BookSummary struct {
	Locate  uint16  `json:"locate"`
	Bid     *uint64 `json:"bid"`
	BidSize uint64  `json:"bid_size"`
	Ask     *uint64 `json:"ask"`
	AskSize uint64  `json:"ask_size"`
	Last    *uint64 `json:"last"`
	Orders  uint64  `json:"orders"`
}

// MarshalJSON writes the gaps in (session, first) order and never null
// (encoding/json already sorts map keys).
func (s Summary) MarshalJSON() ([]byte, error) {
	type plain Summary
	// Sort a copy: s shares Gaps' backing array with the caller.
	s.Gaps = append([]Gap{}, s.Gaps...)
	if s.ByType == nil {
		s.ByType = map[string]uint64{}
	}
	if s.Books == nil {
		s.Books = map[string]BookSummary{}
	}
	sort.Slice(s.Gaps, func(i, j int) bool {
		if s.Gaps[i].Session != s.Gaps[j].Session {
			return s.Gaps[i].Session < s.Gaps[j].Session
		}
		return s.Gaps[i].First < s.Gaps[j].First
	})
	return json.Marshal(plain(s))
}

func priceOrNil(p uint64) *uint64 {
	if p == 0 {
		return nil
	}
	return &p
}
