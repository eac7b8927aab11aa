// Package account holds Ballast's accounts: who owns them (firms), their
// positions, their collateral by tier, and their credit profile.
//
// # File format
//
// Accounts are loaded from one JSON document (see docs/engine.md):
//
//	{
//	  "version": 1,
//	  "accounts": [
//	    {"id": 1001, "firm": "acme",
//	     "cash": 2500000,            // exchange-held cash/stablecoins (tier weight 1.00)
//	     "credit_line": 1000000,     // unverified credit line (tier weight 0.20–0.50)
//	     "credit": {"pd": 0.02, "lgd": 0.6, "limit": 5000000},
//	     "positions": [{"instrument": 3, "qty": -20, "price": 11.85}]}
//	  ]
//	}
//
// Money (cash, credit_line, limit) and prices are currency units as JSON
// numbers; quantities are whole contracts, signed (negative = short). "price"
// is the position's average entry price. Verified off-exchange assets are not
// declared here: they come only from signed attestations (engine/attest).
// "credit.limit" caps the account's initial margin: a risk-increasing order
// that would take the initial margin above it is refused with reason
// "credit limit"; 0 means no cap.
package account

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/ballast-risk/ballast/engine/jsonfile"

	"github.com/ballast-risk/ballast/engine/instrument"
)

// Bounds.
const (
	// AccountsMax bounds the accounts of one appliance.
	AccountsMax = 1 << 20
	// PositionsMax bounds the distinct instruments one account may hold.
	PositionsMax = 4096
	// FirmBytesMax bounds a firm id.
	FirmBytesMax = 64
	// QtyMax bounds a position or order quantity, in contracts.
	QtyMax = 1 << 40
	// MoneyMax bounds any money amount, in currency units (the wire's i64 in
	// 1/10,000 holds ±9.2e14).
	MoneyMax = 1e14
	// FileBytesMax bounds an accounts file.
	FileBytesMax = 1 << 30
)

// ErrInvalid reports an accounts file or mutation that breaks the rules; the
// message names the offending entry and field.
var ErrInvalid = errors.New("account: invalid")

// ErrUnknownAccount reports an account id that does not exist.
var ErrUnknownAccount = errors.New("account: unknown account")

// Tier is a collateral tier (DESIGN §4).
type Tier uint8

// Collateral tiers.
const (
	// Cash is exchange-held cash and stablecoins.
	Cash Tier = iota
	// Verified is off-exchange assets backed by a signed attestation.
	Verified
	// CreditLine is an unverified credit line.
	CreditLine
	// TiersCount is the number of tiers.
	TiersCount
)

var tierNames = [TiersCount]string{"cash", "verified", "credit_line"}

// String returns the tier's name as used in files and the API.
func (t Tier) String() string {
	if t < TiersCount {
		return tierNames[t]
	}
	return fmt.Sprintf("tier(%d)", uint8(t))
}

// ParseTier reads a tier name.
func ParseTier(s string) (Tier, error) {
	for i, n := range tierNames {
		if n == s {
			return Tier(i), nil
		}
	}
	return 0, fmt.Errorf("%w: tier %q (want cash, verified or credit_line)", ErrInvalid, s)
}

// Credit is an account's credit profile.
type Credit struct {
	// PD is the probability of default over the margin horizon, in [0, 1].
	PD float64
	// LGD is the loss given default, in [0, 1].
	LGD float64
	// Limit caps the account's initial margin, in currency units (0: none).
	Limit float64
}

// Position is a signed holding of one instrument.
type Position struct {
	// Instrument is the contract held.
	Instrument instrument.ID
	// Qty is the signed quantity in contracts (negative = short).
	Qty int64
	// Price is the average entry price, in the instrument's price units.
	Price float64
}

// Account is one margin account.
type Account struct {
	// ID is the account's wire identifier.
	ID uint64
	// Firm owns the account.
	Firm string
	// Collateral holds the balance of each tier in currency units. The
	// Verified balance is maintained from accepted attestations.
	Collateral [TiersCount]float64
	// Credit is the account's credit profile.
	Credit Credit
	// Positions are sorted by instrument id, without zero quantities.
	Positions []Position
}

// Position returns the account's holding of id (zero if none).
func (a *Account) Position(id instrument.ID) Position {
	i := sort.Search(len(a.Positions), func(i int) bool { return a.Positions[i].Instrument >= id })
	if i < len(a.Positions) && a.Positions[i].Instrument == id {
		return a.Positions[i]
	}
	return Position{Instrument: id}
}

// Clone returns a deep copy of a.
func (a *Account) Clone() *Account {
	c := *a
	c.Positions = append([]Position(nil), a.Positions...)
	return &c
}

// ApplyFill books a fill of qty contracts (signed: positive buys) at price
// into the position in id, whose contract multiplier is mult. The part that
// closes an existing position realises (price − entry)·closed·mult into the
// Cash tier; the part that opens keeps an average entry price. It returns
// the realised P&L.
func (a *Account) ApplyFill(id instrument.ID, qty int64, price, mult float64) (realised float64, err error) {
	if qty == 0 || qty > QtyMax || qty < -QtyMax {
		return 0, fmt.Errorf("%w: fill quantity %d", ErrInvalid, qty)
	}
	if !finite(price) || price < 0 || price > MoneyMax {
		return 0, fmt.Errorf("%w: fill price %v", ErrInvalid, price)
	}
	if !finite(mult) || mult <= 0 || mult > multiplierMax {
		return 0, fmt.Errorf("%w: contract multiplier %v", ErrInvalid, mult)
	}
	i := sort.Search(len(a.Positions), func(i int) bool { return a.Positions[i].Instrument >= id })
	if i == len(a.Positions) || a.Positions[i].Instrument != id {
		if len(a.Positions) >= PositionsMax {
			return 0, fmt.Errorf("%w: account %d already holds %d instruments", ErrInvalid, a.ID, PositionsMax)
		}
		a.Positions = append(a.Positions, Position{})
		copy(a.Positions[i+1:], a.Positions[i:])
		a.Positions[i] = Position{Instrument: id}
	}
	p := &a.Positions[i]
	next := p.Qty + qty
	if next > QtyMax || next < -QtyMax {
		return 0, fmt.Errorf("%w: position %d in instrument %d would pass %d", ErrInvalid, next, id, int64(QtyMax))
	}
	switch {
	case p.Qty == 0 || (p.Qty > 0) == (qty > 0):
		// Opening or adding: weighted average entry.
		p.Price = (p.Price*float64(abs(p.Qty)) + price*float64(abs(qty))) / float64(abs(next))
	default:
		closed := min(abs(qty), abs(p.Qty))
		sign := 1.0
		if p.Qty < 0 {
			sign = -1
		}
		realised = sign * float64(closed) * (price - p.Price) * mult
		if abs(qty) > abs(p.Qty) {
			p.Price = price // flipped: the remainder opened at price
		}
	}
	p.Qty = next
	if p.Qty == 0 {
		a.Positions = append(a.Positions[:i], a.Positions[i+1:]...)
	}
	a.Collateral[Cash] += realised
	return realised, nil
}

// multiplierMax bounds a contract multiplier (as engine/instrument does).
const multiplierMax = 1e9

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// Set is a collection of accounts indexed by id.
type Set struct {
	// Accounts are sorted by id.
	Accounts []*Account
	byID     map[uint64]int
}

// NewSet indexes accounts (which must have distinct ids).
func NewSet(accounts []*Account) (*Set, error) {
	if len(accounts) > AccountsMax {
		return nil, fmt.Errorf("%w: %d accounts over the %d bound", ErrInvalid, len(accounts), AccountsMax)
	}
	s := &Set{Accounts: append([]*Account(nil), accounts...), byID: make(map[uint64]int, len(accounts))}
	sort.Slice(s.Accounts, func(i, j int) bool { return s.Accounts[i].ID < s.Accounts[j].ID })
	for i, a := range s.Accounts {
		if _, dup := s.byID[a.ID]; dup {
			return nil, fmt.Errorf("%w: duplicate account id %d", ErrInvalid, a.ID)
		}
		s.byID[a.ID] = i
	}
	return s, nil
}

// Get returns the account with id.
func (s *Set) Get(id uint64) (*Account, bool) {
	i, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	return s.Accounts[i], true
}

// Index returns the position of account id in Accounts.
func (s *Set) Index(id uint64) (int, bool) {
	i, ok := s.byID[id]
	return i, ok
}

type fileSet struct {
	Version  int           `json:"version"`
	Accounts []fileAccount `json:"accounts"`
}

type fileAccount struct {
	ID         uint64         `json:"id"`
	Firm       string         `json:"firm"`
	Cash       float64        `json:"cash"`
	CreditLine float64        `json:"credit_line"`
	Credit     fileCredit     `json:"credit"`
	Positions  []filePosition `json:"positions"`
}

type fileCredit struct {
	PD    float64 `json:"pd"`
	LGD   float64 `json:"lgd"`
	Limit float64 `json:"limit"`
}

type filePosition struct {
	Instrument uint64  `json:"instrument"`
	Qty        int64   `json:"qty"`
	Price      float64 `json:"price"`
}

// Load reads and parses an accounts file (gzip-compressed or not) against
// master m.
func Load(path string, m *instrument.Master) (*Set, error) {
	data, err := jsonfile.Read(path, FileBytesMax)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return Parse(data, m)
}

// Parse parses and validates an accounts document; every position must name
// an instrument of m.
func Parse(data []byte, m *instrument.Master) (*Set, error) {
	if len(data) > FileBytesMax {
		return nil, fmt.Errorf("%w: %d bytes, over the %d-byte bound", ErrInvalid, len(data), FileBytesMax)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var fs fileSet
	if err := dec.Decode(&fs); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the accounts object", ErrInvalid)
	}
	if fs.Version != 1 {
		return nil, fmt.Errorf("%w: version %d (want 1)", ErrInvalid, fs.Version)
	}
	if len(fs.Accounts) > AccountsMax {
		return nil, fmt.Errorf("%w: %d accounts over the %d bound", ErrInvalid, len(fs.Accounts), AccountsMax)
	}
	out := make([]*Account, 0, len(fs.Accounts))
	for i, fa := range fs.Accounts {
		a, err := parseAccount(fa, m)
		if err != nil {
			return nil, fmt.Errorf("%w: accounts[%d] (id %d): %v", ErrInvalid, i, fa.ID, err)
		}
		out = append(out, a)
	}
	return NewSet(out)
}

func parseAccount(fa fileAccount, m *instrument.Master) (*Account, error) {
	if fa.ID == 0 {
		return nil, errors.New("id 0")
	}
	if err := CheckFirm(fa.Firm); err != nil {
		return nil, err
	}
	a := &Account{ID: fa.ID, Firm: fa.Firm}
	for _, c := range []struct {
		name string
		v    float64
		tier Tier
	}{{"cash", fa.Cash, Cash}, {"credit_line", fa.CreditLine, CreditLine}} {
		if !finite(c.v) || math.Abs(c.v) > MoneyMax || (c.tier == CreditLine && c.v < 0) {
			return nil, fmt.Errorf("%s %v out of range", c.name, c.v)
		}
		a.Collateral[c.tier] = c.v
	}
	cr := Credit{PD: fa.Credit.PD, LGD: fa.Credit.LGD, Limit: fa.Credit.Limit}
	if err := cr.Check(); err != nil {
		return nil, err
	}
	a.Credit = cr
	if len(fa.Positions) > PositionsMax {
		return nil, fmt.Errorf("%d positions over the %d bound", len(fa.Positions), PositionsMax)
	}
	for j, fp := range fa.Positions {
		if fp.Instrument == 0 || fp.Instrument > math.MaxUint32 {
			return nil, fmt.Errorf("positions[%d]: instrument %d", j, fp.Instrument)
		}
		id := instrument.ID(fp.Instrument)
		if _, ok := m.Index(id); !ok {
			return nil, fmt.Errorf("positions[%d]: instrument %d not in the master", j, id)
		}
		if fp.Qty == 0 || fp.Qty > QtyMax || fp.Qty < -QtyMax {
			return nil, fmt.Errorf("positions[%d]: qty %d (want non-zero, |qty| ≤ %d)", j, fp.Qty, int64(QtyMax))
		}
		if !finite(fp.Price) || fp.Price < 0 || fp.Price > MoneyMax {
			return nil, fmt.Errorf("positions[%d]: price %v", j, fp.Price)
		}
		a.Positions = append(a.Positions, Position{Instrument: id, Qty: fp.Qty, Price: fp.Price})
	}
	sort.Slice(a.Positions, func(i, j int) bool { return a.Positions[i].Instrument < a.Positions[j].Instrument })
	for j := 1; j < len(a.Positions); j++ {
		if a.Positions[j].Instrument == a.Positions[j-1].Instrument {
			return nil, fmt.Errorf("instrument %d held twice", a.Positions[j].Instrument)
		}
	}
	return a, nil
}

// Check validates a credit profile.
func (c Credit) Check() error {
	if !finite(c.PD) || c.PD < 0 || c.PD > 1 {
		return fmt.Errorf("credit.pd %v outside [0, 1]", c.PD)
	}
	if !finite(c.LGD) || c.LGD < 0 || c.LGD > 1 {
		return fmt.Errorf("credit.lgd %v outside [0, 1]", c.LGD)
	}
	if !finite(c.Limit) || c.Limit < 0 || c.Limit > MoneyMax {
		return fmt.Errorf("credit.limit %v out of range", c.Limit)
	}
	return nil
}

// CheckFirm validates a firm id: 1..FirmBytesMax bytes of [A-Za-z0-9_.-].
func CheckFirm(f string) error {
	if f == "" || len(f) > FirmBytesMax {
		return fmt.Errorf("firm %q: want 1..%d bytes", f, FirmBytesMax)
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("firm %q: only letters, digits, '_', '-' and '.'", f)
		}
	}
	return nil
}

// Marshal writes s in the file format (positions sorted, stable output).
func Marshal(s *Set) ([]byte, error) {
	fs := fileSet{Version: 1, Accounts: make([]fileAccount, 0, len(s.Accounts))}
	for _, a := range s.Accounts {
		fa := fileAccount{ID: a.ID, Firm: a.Firm, Cash: a.Collateral[Cash], CreditLine: a.Collateral[CreditLine],
			Credit: fileCredit{PD: a.Credit.PD, LGD: a.Credit.LGD, Limit: a.Credit.Limit}, Positions: []filePosition{}}
		for _, p := range a.Positions {
			fa.Positions = append(fa.Positions, filePosition{Instrument: uint64(p.Instrument), Qty: p.Qty, Price: p.Price})
		}
		fs.Accounts = append(fs.Accounts, fa)
	}
	return json.Marshal(fs)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
