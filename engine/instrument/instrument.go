// Package instrument is Ballast's instrument master: the underlyings the feed
// handler marks (mapped from ITCH stock symbols), and the tradable instruments
// written on them — spot/equity, futures, and European calls and puts on spot
// (Black–Scholes–Merton with the underlying's dividend yield) or on a futures
// contract (Black-76).
//
// # File format
//
// The master is one JSON document (see docs/engine.md for a full example):
//
//	{
//	  "version": 1,
//	  "rate": 0.045,                          // continuously compounded risk-free rate
//	  "underlyings": [
//	    {"symbol": "AAPL", "itch": "AAPL", "spot": 190.25, "div": 0.005,
//	     "vol": {"flat": 0.28}},             // or an SVI smile, see engine/vol
//	  ],
//	  "correlation": {"symbols": ["AAPL", "MSFT"], "matrix": [[1, 0.6], [0.6, 1]]},
//	  "instruments": [
//	    {"id": 1, "symbol": "AAPL", "kind": "spot", "underlying": "AAPL"},
//	    {"id": 2, "symbol": "AAPL 2027-03 F", "kind": "future", "underlying": "AAPL",
//	     "expiry": "2027-03-19T21:00:00Z", "multiplier": 100},
//	    {"id": 3, "symbol": "AAPL 2027-03 C190", "kind": "call", "underlying": "AAPL",
//	     "strike": 190, "expiry": "2027-03-19T21:00:00Z", "multiplier": 100},
//	    {"id": 4, "symbol": "AAPL 2027-03 P180 F", "kind": "put", "model": "black76",
//	     "underlying": "AAPL", "future": 2, "strike": 180, "expiry": "2027-03-12T21:00:00Z",
//	     "multiplier": 100}
//	  ]
//	}
//
// Prices (spot, strike) are in currency units as JSON numbers; the wire
// protocols carry them as integers in 1/10,000 (DESIGN §5). "itch" is the
// ITCH 5.0 stock symbol (trailing spaces trimmed) whose book marks the
// underlying; it defaults to "symbol". An option's "model" is "bs" (on spot,
// the default) or "black76" (on the futures contract named by "future", which
// must be on the same underlying and expire no earlier than the option).
// "multiplier" defaults to 1. Instrument ids are the u32 of the binary
// protocol and must be unique and non-zero. The correlation matrix may list
// any subset of the underlyings; pairs it does not name are uncorrelated.
//
// Time to expiry is ACT/365 from the valuation instant ([YearsBetween]).
//
// # Listing instruments during the day
//
// New series on the master's underlyings are added with an extension
// document, {"version": 1, "instruments": [...]}, whose entries have the
// form above ([Master.Extend]). A master is immutable: Extend returns a new
// one in which every existing instrument keeps its index, so risk data
// indexed by instrument (a risk epoch) stays valid. New underlyings need a
// new master (a restart): they change the scenario dimension and the
// correlation matrix.
package instrument

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ballast-risk/ballast/engine/jsonfile"
)

// Bounds on a master.
const (
	// UnderlyingsMax bounds the underlyings in one master.
	UnderlyingsMax = 4096
	// InstrumentsMax bounds the instruments in one master.
	InstrumentsMax = 1 << 20
	// SymbolBytesMax bounds an instrument or underlying symbol.
	SymbolBytesMax = 64
	// ITCHSymbolBytesMax is the width of an ITCH 5.0 stock symbol.
	ITCHSymbolBytesMax = 8
	// FileBytesMax bounds a master file.
	FileBytesMax = 256 << 20
	// ExpiryYearsMax bounds how far ahead an expiry may lie.
	ExpiryYearsMax = 50
)

// ID identifies an instrument on the wire (the u32 of DESIGN §5.2).
type ID uint32

// Kind is what an instrument is.
type Kind uint8

// Instrument kinds.
const (
	// Spot is the underlying itself (an equity): value S.
	Spot Kind = iota + 1
	// Future is a futures contract: value S·e^((r−q)·T).
	Future
	// Call is a European call option.
	Call
	// Put is a European put option.
	Put
)

var kindNames = [...]string{Spot: "spot", Future: "future", Call: "call", Put: "put"}

// String returns the file-format name of k.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind reads a file-format kind name.
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n != "" && n == s {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("%w: kind %q (want spot, future, call or put)", ErrInvalid, s)
}

// IsOption reports whether k is a call or a put.
func (k Kind) IsOption() bool { return k == Call || k == Put }

// Model is an option's pricing model.
type Model uint8

// Option models.
const (
	// BSM is Black–Scholes–Merton on spot with the underlying's dividend yield.
	BSM Model = iota + 1
	// Black76 is Black-76 on a futures price.
	Black76
)

// String returns the file-format name of m ("bs" or "black76").
func (m Model) String() string {
	switch m {
	case BSM:
		return "bs"
	case Black76:
		return "black76"
	}
	return fmt.Sprintf("model(%d)", uint8(m))
}

// ErrInvalid reports a master that breaks the file format; the message names
// the offending entry and field.
var ErrInvalid = errors.New("instrument: invalid master")

// Underlying is a priced risk factor, marked from one ITCH book.
type Underlying struct {
	// Symbol is the underlying's name in the master.
	Symbol string
	// ITCH is the ITCH 5.0 stock symbol (trailing spaces trimmed).
	ITCH string
	// Spot is the initial mark, in currency units (> 0).
	Spot float64
	// Div is the continuous dividend yield.
	Div float64
	// Vol is the underlying's volatility description as given in the file
	// (`{"flat": σ}` or an engine/vol smile), kept raw so the engine can parse
	// and replace it at run time.
	Vol json.RawMessage
	// ATMVol is the flat vol, or a smile's "atm" field, as the file gives
	// it. It is informational: the engine diffuses each underlying with
	// its smile's 30-day at-the-money vol, read from the current surface.
	ATMVol float64
}

// Instrument is one tradable contract.
type Instrument struct {
	// ID is the wire identifier (non-zero, unique).
	ID ID
	// Symbol is the instrument's display name (unique).
	Symbol string
	// Kind is spot, future, call or put.
	Kind Kind
	// Model is the option model (0 for spot and futures).
	Model Model
	// Underlying indexes Master.Underlyings.
	Underlying int
	// Future is, for a Black-76 option, the index in Master.Instruments of
	// the futures contract it is written on; -1 otherwise.
	Future int
	// Strike is an option's strike in currency units (0 otherwise).
	Strike float64
	// Expiry is the expiry instant (zero for spot).
	Expiry time.Time
	// Multiplier is the contract multiplier (units of underlying per
	// contract).
	Multiplier float64
}

// Master is a parsed, validated instrument master. It is immutable once
// built: the engine swaps whole masters.
type Master struct {
	// Rate is the continuously compounded risk-free rate.
	Rate float64
	// Underlyings are the risk factors, in file order.
	Underlyings []Underlying
	// Instruments are the contracts, in file order.
	Instruments []Instrument
	// Correlation is the underlyings' correlation matrix, row-major
	// len(Underlyings)², unit diagonal (unnamed pairs 0).
	Correlation []float64

	byID     map[ID]int
	byITCH   map[string]int
	bySymbol map[string]int
}

// Index returns the position of instrument id in Instruments.
func (m *Master) Index(id ID) (int, bool) {
	i, ok := m.byID[id]
	return i, ok
}

// ByITCH returns the underlying marked by the ITCH stock symbol sym
// (trailing spaces are ignored).
func (m *Master) ByITCH(sym string) (int, bool) {
	u, ok := m.byITCH[strings.TrimRight(sym, " ")]
	return u, ok
}

// UnderlyingIndex returns the position of the underlying named sym.
func (m *Master) UnderlyingIndex(sym string) (int, bool) {
	u, ok := m.bySymbol[sym]
	return u, ok
}

// YearsBetween is the ACT/365 year fraction from now to t, never negative.
func YearsBetween(now, t time.Time) float64 {
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return d.Hours() / (24 * 365)
}

// fileMaster is the JSON shape of a master file.
type fileMaster struct {
	Version     int              `json:"version"`
	Rate        *float64         `json:"rate"`
	Underlyings []fileUnderlying `json:"underlyings"`
	Correlation *fileCorrelation `json:"correlation"`
	Instruments []fileInstrument `json:"instruments"`
}

type fileUnderlying struct {
	Symbol string          `json:"symbol"`
	ITCH   string          `json:"itch"`
	Spot   float64         `json:"spot"`
	Div    float64         `json:"div"`
	Vol    json.RawMessage `json:"vol"`
}

type fileCorrelation struct {
	Symbols []string    `json:"symbols"`
	Matrix  [][]float64 `json:"matrix"`
}

type fileInstrument struct {
	ID         uint64  `json:"id"`
	Symbol     string  `json:"symbol"`
	Kind       string  `json:"kind"`
	Model      string  `json:"model"`
	Underlying string  `json:"underlying"`
	Future     uint64  `json:"future"`
	Strike     float64 `json:"strike"`
	Expiry     string  `json:"expiry"`
	Multiplier float64 `json:"multiplier"`
}

// Load reads and parses a master file (gzip-compressed or not); now is the
// valuation instant, as for [Parse].
func Load(path string, now time.Time) (*Master, error) {
	data, err := jsonfile.Read(path, FileBytesMax)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return Parse(data, now)
}

// Parse parses and validates a master. now is the valuation instant: an
// expiry in the past is accepted (the contract is worth its intrinsic value)
// but one beyond now + ExpiryYearsMax is not.
func Parse(data []byte, now time.Time) (*Master, error) {
	if len(data) > FileBytesMax {
		return nil, fmt.Errorf("%w: %d bytes, over the %d-byte bound", ErrInvalid, len(data), FileBytesMax)
	}
	var fm fileMaster
	if err := decodeStrict(data, &fm, "master"); err != nil {
		return nil, err
	}
	if fm.Version != 1 {
		return nil, fmt.Errorf("%w: version %d (want 1)", ErrInvalid, fm.Version)
	}
	if fm.Rate == nil || !finite(*fm.Rate) || math.Abs(*fm.Rate) > 1 {
		return nil, fmt.Errorf("%w: rate missing or outside [-1, 1]", ErrInvalid)
	}
	if len(fm.Underlyings) == 0 || len(fm.Underlyings) > UnderlyingsMax {
		return nil, fmt.Errorf("%w: %d underlyings (want 1..%d)", ErrInvalid, len(fm.Underlyings), UnderlyingsMax)
	}
	if len(fm.Instruments) == 0 || len(fm.Instruments) > InstrumentsMax {
		return nil, fmt.Errorf("%w: %d instruments (want 1..%d)", ErrInvalid, len(fm.Instruments), InstrumentsMax)
	}
	m := &Master{
		Rate:     *fm.Rate,
		byID:     make(map[ID]int, len(fm.Instruments)),
		byITCH:   make(map[string]int, len(fm.Underlyings)),
		bySymbol: make(map[string]int, len(fm.Underlyings)),
	}
	for i, fu := range fm.Underlyings {
		u, err := parseUnderlying(fu)
		if err != nil {
			return nil, fmt.Errorf("%w: underlyings[%d]: %v", ErrInvalid, i, err)
		}
		if _, dup := m.bySymbol[u.Symbol]; dup {
			return nil, fmt.Errorf("%w: underlyings[%d]: duplicate symbol %q", ErrInvalid, i, u.Symbol)
		}
		if _, dup := m.byITCH[u.ITCH]; dup {
			return nil, fmt.Errorf("%w: underlyings[%d]: ITCH symbol %q marks two underlyings", ErrInvalid, i, u.ITCH)
		}
		m.bySymbol[u.Symbol] = i
		m.byITCH[u.ITCH] = i
		m.Underlyings = append(m.Underlyings, u)
	}
	corr, err := parseCorrelation(fm.Correlation, m)
	if err != nil {
		return nil, fmt.Errorf("%w: correlation: %v", ErrInvalid, err)
	}
	m.Correlation = corr
	if err := m.addInstruments(fm.Instruments, now); err != nil {
		return nil, err
	}
	return m, nil
}

// addInstruments parses fis and appends them to m, whose instruments are
// already valid: ids and symbols must be new to m and to each other, and a
// Black-76 option's future may be in m or earlier in fis. On error m may
// hold some of fis; callers work on a master nobody else sees yet.
func (m *Master) addInstruments(fis []fileInstrument, now time.Time) error {
	base := len(m.Instruments)
	symbols := make(map[string]bool, len(m.Instruments)+len(fis))
	for i := range m.Instruments {
		symbols[m.Instruments[i].Symbol] = true
	}
	for i, fi := range fis {
		in, err := m.parseInstrument(fi, now)
		if err != nil {
			return fmt.Errorf("%w: instruments[%d] (id %d): %v", ErrInvalid, i, fi.ID, err)
		}
		if _, dup := m.byID[in.ID]; dup {
			return fmt.Errorf("%w: instruments[%d]: duplicate id %d", ErrInvalid, i, in.ID)
		}
		if symbols[in.Symbol] {
			return fmt.Errorf("%w: instruments[%d]: duplicate symbol %q", ErrInvalid, i, in.Symbol)
		}
		symbols[in.Symbol] = true
		m.byID[in.ID] = base + i
		m.Instruments = append(m.Instruments, in)
	}
	// Black-76 options name their future by id; resolve now that every
	// instrument is known.
	for i := range fis {
		in := &m.Instruments[base+i]
		if in.Model != Black76 {
			continue
		}
		fid := ID(fis[i].Future)
		j, ok := m.byID[fid]
		if !ok {
			return fmt.Errorf("%w: instruments[%d] (id %d): future %d not in the master", ErrInvalid, i, in.ID, fid)
		}
		f := &m.Instruments[j]
		if f.Kind != Future {
			return fmt.Errorf("%w: instruments[%d] (id %d): instrument %d is a %s, not a future", ErrInvalid, i, in.ID, fid, f.Kind)
		}
		if f.Underlying != in.Underlying {
			return fmt.Errorf("%w: instruments[%d] (id %d): future %d is on %s, the option on %s", ErrInvalid, i, in.ID, fid,
				m.Underlyings[f.Underlying].Symbol, m.Underlyings[in.Underlying].Symbol)
		}
		if f.Expiry.Before(in.Expiry) {
			return fmt.Errorf("%w: instruments[%d] (id %d): future %d expires before the option", ErrInvalid, i, in.ID, fid)
		}
		in.Future = j
	}
	return nil
}

// Covers reports whether every instrument of the extension document data
// is already in m with the same definition (id, symbol, kind, model,
// underlying, strike, expiry, multiplier and, for Black-76, future): a
// listing that a master file has since taken in. A document that is not a
// valid extension is an error wrapping ErrInvalid, as for Extend.
func (m *Master) Covers(data []byte, now time.Time) (bool, error) {
	fe, err := parseExtension(data)
	if err != nil {
		return false, err
	}
	for i, fi := range fe.Instruments {
		in, err := m.parseInstrument(fi, now)
		if err != nil {
			return false, fmt.Errorf("%w: instruments[%d] (id %d): %v", ErrInvalid, i, fi.ID, err)
		}
		j, ok := m.byID[in.ID]
		if !ok {
			return false, nil
		}
		have := m.Instruments[j]
		if have.Symbol != in.Symbol || have.Kind != in.Kind || have.Model != in.Model || have.Underlying != in.Underlying ||
			have.Strike != in.Strike || !have.Expiry.Equal(in.Expiry) || have.Multiplier != in.Multiplier {
			return false, nil
		}
		if have.Model == Black76 && uint64(m.Instruments[have.Future].ID) != fi.Future {
			return false, nil
		}
	}
	return true, nil
}

// decodeStrict decodes the one JSON object of data into v, refusing unknown
// fields and trailing data (what names the object in the error).
func decodeStrict(data []byte, v any, what string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the %s object", ErrInvalid, what)
	}
	return nil
}

// parseExtension decodes and checks the shape of an extension document.
func parseExtension(data []byte) (*fileExtension, error) {
	if len(data) > ExtensionBytesMax {
		return nil, fmt.Errorf("%w: extension of %d bytes, over the %d-byte bound", ErrInvalid, len(data), ExtensionBytesMax)
	}
	var fe fileExtension
	if err := decodeStrict(data, &fe, "extension"); err != nil {
		return nil, err
	}
	if fe.Version != 1 {
		return nil, fmt.Errorf("%w: version %d (want 1)", ErrInvalid, fe.Version)
	}
	if len(fe.Instruments) == 0 || len(fe.Instruments) > ExtensionInstrumentsMax {
		return nil, fmt.Errorf("%w: %d instruments to add (want 1..%d)", ErrInvalid, len(fe.Instruments), ExtensionInstrumentsMax)
	}
	return &fe, nil
}

// ExtensionInstrumentsMax bounds the instruments one Extend adds.
const ExtensionInstrumentsMax = 1 << 16

// ExtensionBytesMax bounds an extension document.
const ExtensionBytesMax = 16 << 20

// fileExtension is the JSON shape of an extension document.
type fileExtension struct {
	Version     int              `json:"version"`
	Instruments []fileInstrument `json:"instruments"`
}

// Extend returns a new master: m's rate, underlyings and correlation, m's
// instruments, then the instruments of the extension document data,
// {"version":1,"instruments":[…]}, each in the master file's instrument
// form (new series listed during the day: options, futures or spot on the
// master's underlyings). Every instrument keeps its index, so data indexed
// by the instruments of m (a risk epoch) stays valid for the new master.
// An id or symbol already in m, an unknown underlying, or any invalid
// instrument fails the whole extension with ErrInvalid; m is never
// modified, and readers may keep using it. now is the valuation instant,
// as for Parse.
func (m *Master) Extend(data []byte, now time.Time) (*Master, error) {
	fe, err := parseExtension(data)
	if err != nil {
		return nil, err
	}
	if len(m.Instruments)+len(fe.Instruments) > InstrumentsMax {
		return nil, fmt.Errorf("%w: %d + %d instruments, over the %d bound", ErrInvalid, len(m.Instruments), len(fe.Instruments), InstrumentsMax)
	}
	n := &Master{
		Rate:        m.Rate,
		Underlyings: m.Underlyings,
		Correlation: m.Correlation,
		Instruments: make([]Instrument, len(m.Instruments), len(m.Instruments)+len(fe.Instruments)),
		byID:        make(map[ID]int, len(m.Instruments)+len(fe.Instruments)),
		byITCH:      m.byITCH,
		bySymbol:    m.bySymbol,
	}
	copy(n.Instruments, m.Instruments)
	for id, i := range m.byID {
		n.byID[id] = i
	}
	if err := n.addInstruments(fe.Instruments, now); err != nil {
		return nil, err
	}
	return n, nil
}

func parseUnderlying(fu fileUnderlying) (Underlying, error) {
	if err := checkSymbol(fu.Symbol, SymbolBytesMax); err != nil {
		return Underlying{}, fmt.Errorf("symbol: %v", err)
	}
	itch := fu.ITCH
	if itch == "" {
		itch = fu.Symbol
	}
	itch = strings.TrimRight(itch, " ")
	if err := checkSymbol(itch, ITCHSymbolBytesMax); err != nil {
		return Underlying{}, fmt.Errorf("itch: %v", err)
	}
	if !finite(fu.Spot) || fu.Spot <= 0 {
		return Underlying{}, fmt.Errorf("spot %v: want a positive price", fu.Spot)
	}
	if !finite(fu.Div) || math.Abs(fu.Div) > 1 {
		return Underlying{}, fmt.Errorf("div %v: want a yield in [-1, 1]", fu.Div)
	}
	atm, err := atmVol(fu.Vol)
	if err != nil {
		return Underlying{}, fmt.Errorf("vol: %v", err)
	}
	return Underlying{Symbol: fu.Symbol, ITCH: itch, Spot: fu.Spot, Div: fu.Div, Vol: fu.Vol, ATMVol: atm}, nil
}

// VolMax bounds a volatility anywhere in a master.
const VolMax = 20.0

// atmVol reads the diffusion vol from a vol description: "flat", or a
// smile's "atm" hint. The smile itself is parsed by the engine (engine/vol).
func atmVol(raw json.RawMessage) (float64, error) {
	if len(raw) == 0 {
		return 0, errors.New("missing")
	}
	var v struct {
		Flat *float64 `json:"flat"`
		ATM  *float64 `json:"atm"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	var x *float64
	switch {
	case v.Flat != nil:
		x = v.Flat
	case v.ATM != nil:
		x = v.ATM
	default:
		return 0, errors.New(`want "flat" or a smile with an "atm" vol`)
	}
	if !finite(*x) || *x < 0 || *x > VolMax {
		return 0, fmt.Errorf("%v outside [0, %v]", *x, VolMax)
	}
	return *x, nil
}

func parseCorrelation(fc *fileCorrelation, m *Master) ([]float64, error) {
	n := len(m.Underlyings)
	c := make([]float64, n*n)
	for i := 0; i < n; i++ {
		c[i*n+i] = 1
	}
	if fc == nil {
		return c, nil
	}
	k := len(fc.Symbols)
	if len(fc.Matrix) != k {
		return nil, fmt.Errorf("%d symbols but %d matrix rows", k, len(fc.Matrix))
	}
	idx := make([]int, k)
	seen := make(map[int]bool, k)
	for i, s := range fc.Symbols {
		u, ok := m.bySymbol[s]
		if !ok {
			return nil, fmt.Errorf("symbol %q is not an underlying", s)
		}
		if seen[u] {
			return nil, fmt.Errorf("symbol %q listed twice", s)
		}
		seen[u] = true
		idx[i] = u
	}
	// Every row's length first: the symmetry check reads row j while
	// walking row i.
	for i, row := range fc.Matrix {
		if len(row) != k {
			return nil, fmt.Errorf("row %d has %d entries, want %d", i, len(row), k)
		}
	}
	for i, row := range fc.Matrix {
		for j, v := range row {
			if !finite(v) || v < -1 || v > 1 {
				return nil, fmt.Errorf("entry [%d][%d] = %v outside [-1, 1]", i, j, v)
			}
			if i == j && v != 1 {
				return nil, fmt.Errorf("diagonal entry [%d][%d] = %v, want 1", i, j, v)
			}
			if math.Abs(v-fc.Matrix[j][i]) > 1e-12 {
				return nil, fmt.Errorf("not symmetric at [%d][%d]", i, j)
			}
			c[idx[i]*n+idx[j]] = v
		}
	}
	return c, nil
}

func (m *Master) parseInstrument(fi fileInstrument, now time.Time) (Instrument, error) {
	if fi.ID == 0 || fi.ID > math.MaxUint32 {
		return Instrument{}, fmt.Errorf("id %d: want 1..%d", fi.ID, uint32(math.MaxUint32))
	}
	if err := checkSymbol(fi.Symbol, SymbolBytesMax); err != nil {
		return Instrument{}, fmt.Errorf("symbol: %v", err)
	}
	kind, err := ParseKind(fi.Kind)
	if err != nil {
		return Instrument{}, err
	}
	in := Instrument{ID: ID(fi.ID), Symbol: fi.Symbol, Kind: kind, Future: -1, Multiplier: fi.Multiplier}
	u, ok := m.bySymbol[fi.Underlying]
	if !ok {
		return Instrument{}, fmt.Errorf("underlying %q not in the master", fi.Underlying)
	}
	in.Underlying = u
	if in.Multiplier == 0 {
		in.Multiplier = 1
	}
	if !finite(in.Multiplier) || in.Multiplier <= 0 || in.Multiplier > 1e9 {
		return Instrument{}, fmt.Errorf("multiplier %v: want (0, 1e9]", fi.Multiplier)
	}
	if kind == Spot {
		if fi.Expiry != "" || fi.Strike != 0 || fi.Model != "" || fi.Future != 0 {
			return Instrument{}, errors.New("spot takes no expiry, strike, model or future")
		}
		return in, nil
	}
	exp, err := time.Parse(time.RFC3339Nano, fi.Expiry)
	if err != nil {
		return Instrument{}, fmt.Errorf("expiry: %v", err)
	}
	if YearsBetween(now, exp) > ExpiryYearsMax {
		return Instrument{}, fmt.Errorf("expiry %s more than %d years ahead", fi.Expiry, ExpiryYearsMax)
	}
	in.Expiry = exp
	if kind == Future {
		if fi.Strike != 0 || fi.Model != "" || fi.Future != 0 {
			return Instrument{}, errors.New("a future takes no strike, model or future")
		}
		return in, nil
	}
	if !finite(fi.Strike) || fi.Strike <= 0 {
		return Instrument{}, fmt.Errorf("strike %v: want a positive price", fi.Strike)
	}
	in.Strike = fi.Strike
	switch fi.Model {
	case "", "bs":
		in.Model = BSM
		if fi.Future != 0 {
			return Instrument{}, errors.New(`"future" is only for black76 options`)
		}
	case "black76":
		in.Model = Black76
		if fi.Future == 0 {
			return Instrument{}, errors.New(`a black76 option needs "future"`)
		}
	default:
		return Instrument{}, fmt.Errorf("model %q (want bs or black76)", fi.Model)
	}
	return in, nil
}

func checkSymbol(s string, max int) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > max {
		return fmt.Errorf("%q longer than %d bytes", s, max)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return fmt.Errorf("%q has a non-printable byte", s)
		}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
