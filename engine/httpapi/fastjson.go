package httpapi

import (
	"strconv"
	"sync"

	"github.com/ballast-risk/ballast/engine"
)

// The single-order check is the API's hot path. parseCheckFast decodes
// the common, canonical form of a check order without allocating; anything
// it does not recognise (escapes, case-folded or repeated keys, nulls,
// fractions, exponents, overflow, an unknown side) makes it report false,
// and the handler falls back to encoding/json's strict decoder, which
// gives the definitive answer. So the fast path never accepts a body the
// strict decoder would refuse, nor reads it differently
// (FuzzCheckFastAgrees checks this).

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// parseUint reads digits at b[i:] as a JSON integer without sign, fraction
// or exponent; ok false on anything else or on overflow of max.
func parseUint(b []byte, i int, max uint64) (v uint64, next int, ok bool) {
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		d := uint64(b[i] - '0')
		if v > (max-d)/10 {
			return 0, i, false
		}
		v = v*10 + d
		i++
	}
	n := i - start
	if n == 0 || (n > 1 && b[start] == '0') {
		return 0, i, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, i, false
	}
	return v, i, true
}

func parseInt(b []byte, i int) (v int64, next int, ok bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	max := uint64(1<<63 - 1)
	if neg {
		max = 1 << 63
	}
	u, i, ok := parseUint(b, i, max)
	if !ok {
		return 0, i, false
	}
	if neg {
		return -int64(u-1) - 1, i, true
	}
	return int64(u), i, true
}

// Field bits of a check order.
const (
	fieldAccount = 1 << iota
	fieldInstrument
	fieldSide
	fieldQty
	fieldPrice
)

// parseCheckFast decodes one check order object; ok false means "use the
// strict decoder" (not necessarily invalid).
func parseCheckFast(b []byte) (o engine.Order, instrumentID uint32, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return o, 0, false
	}
	i = skipSpace(b, i+1)
	seen := 0
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return o, 0, false
			}
			j := i + 1
			for j < len(b) && b[j] != '"' && b[j] != '\\' && b[j] >= 0x20 && b[j] < 0x80 {
				j++
			}
			if j >= len(b) || b[j] != '"' {
				return o, 0, false
			}
			key := b[i+1 : j]
			i = skipSpace(b, j+1)
			if i >= len(b) || b[i] != ':' {
				return o, 0, false
			}
			i = skipSpace(b, i+1)
			var bit int
			switch string(key) {
			case "account":
				bit = fieldAccount
				var v uint64
				if v, i, ok = parseUint(b, i, 1<<64-1); !ok {
					return o, 0, false
				}
				o.Account = v
			case "instrument":
				bit = fieldInstrument
				var v uint64
				if v, i, ok = parseUint(b, i, 1<<32-1); !ok {
					return o, 0, false
				}
				instrumentID = uint32(v)
			case "qty":
				bit = fieldQty
				if o.Qty, i, ok = parseInt(b, i); !ok {
					return o, 0, false
				}
			case "price":
				bit = fieldPrice
				var p int64
				if p, i, ok = parseInt(b, i); !ok {
					return o, 0, false
				}
				o.Price = float64(p) / 10000
			case "side":
				bit = fieldSide
				switch {
				case hasAt(b, i, `"buy"`):
					o.Side, i = engine.Buy, i+5
				case hasAt(b, i, `"sell"`):
					o.Side, i = engine.Sell, i+6
				default:
					return o, 0, false
				}
			default:
				return o, 0, false
			}
			if seen&bit != 0 {
				return o, 0, false
			}
			seen |= bit
			i = skipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			return o, 0, false
		}
	}
	// A missing side is refused by the strict path (400): let it answer.
	if seen&fieldSide == 0 || skipSpace(b, i) != len(b) {
		return o, 0, false
	}
	return o, instrumentID, true
}

func hasAt(b []byte, i int, s string) bool {
	return len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

// bufPool holds response scratch buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func appendField(b []byte, name string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func appendIntField(b []byte, name string, v int64) []byte {
	return strconv.AppendInt(appendField(b, name), v, 10)
}

func appendStringField(b []byte, name, v string) []byte {
	// v is one of the fixed reason, state and decision names: no escaping.
	b = append(appendField(b, name), '"')
	b = append(b, v...)
	return append(b, '"')
}

// appendCheckResult appends r as JSON, byte for byte what encoding/json
// writes for checkResult, plus the newline writeJSON adds.
func appendCheckResult(b []byte, r *checkResult) []byte {
	b = append(b, `{"account":`...)
	b = strconv.AppendUint(b, r.Account, 10)
	b = strconv.AppendUint(appendField(b, "instrument"), uint64(r.Instrument), 10)
	b = appendStringField(b, "decision", r.Decision)
	b = appendStringField(b, "reason", r.Reason)
	b = appendStringField(b, "state", r.State)
	b = strconv.AppendUint(appendField(b, "epoch"), r.Epoch, 10)
	b = appendIntField(b, "equity", r.Equity)
	b = appendIntField(b, "initial_margin", r.InitialMargin)
	b = appendIntField(b, "maintenance_margin", r.MaintenanceMargin)
	b = appendIntField(b, "post_trade_equity", r.PostTradeEquity)
	b = appendIntField(b, "post_trade_initial_margin", r.PostTradeInitialMargin)
	return append(b, '}', '\n')
}
