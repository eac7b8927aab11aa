package main

import (
	"encoding/json"
	"io"
	"sort"

	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/sim/itchgen"
)

// gapsMax bounds the gap list in a summary; further gaps are counted.
const gapsMax = 10_000

// bookJSON is one book in DESIGN §5.1's shape: prices in ITCH units, null
// when missing.
type bookJSON struct {
	Locate  uint16  `json:"locate"`
	Bid     *uint32 `json:"bid"`
	BidSize uint64  `json:"bid_size"`
	Ask     *uint32 `json:"ask"`
	AskSize uint64  `json:"ask_size"`
	Last    *uint32 `json:"last"`
	Orders  int     `json:"orders"`
}

// gapJSON is an inclusive range of sequence numbers never put on the wire.
type gapJSON struct {
	Session string `json:"session"`
	First   uint64 `json:"first"`
	Last    uint64 `json:"last"`
}

func priceOrNull(p uint32) *uint32 {
	if p == 0 {
		return nil
	}
	return &p
}

// booksJSON maps symbol → book for the generator's reference tops.
func booksJSON(g *itchgen.Generator) map[string]bookJSON {
	out := make(map[string]bookJSON)
	for _, t := range g.Books() {
		out[t.Symbol] = bookJSON{Locate: t.Locate, Bid: priceOrNull(t.Bid), BidSize: t.BidSize,
			Ask: priceOrNull(t.Ask), AskSize: t.AskSize, Last: priceOrNull(t.Last), Orders: t.Orders}
	}
	return out
}

// byTypeJSON turns per-type counts into type letter → count (non-zero).
func byTypeJSON(counts *[256]uint64) map[string]uint64 {
	out := make(map[string]uint64)
	for t, n := range counts {
		if n > 0 {
			out[string(rune(t))] = n
		}
	}
	return out
}

// gapList accumulates dropped sequence ranges, merging adjacent ones.
type gapList struct {
	session string
	gaps    []gapJSON
	omitted uint64
}

func newGapList(s moldudp64.Session) *gapList {
	return &gapList{session: s.String(), gaps: []gapJSON{}}
}

func (l *gapList) add(first, last uint64) {
	if n := len(l.gaps); n > 0 && l.gaps[n-1].Last+1 == first {
		l.gaps[n-1].Last = last
		return
	}
	if len(l.gaps) == gapsMax {
		l.omitted++
		return
	}
	l.gaps = append(l.gaps, gapJSON{Session: l.session, First: first, Last: last})
}

func (l *gapList) sorted() []gapJSON {
	sort.Slice(l.gaps, func(i, j int) bool { return l.gaps[i].First < l.gaps[j].First })
	return l.gaps
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
