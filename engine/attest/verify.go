package attest

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// Verifier limits.
const (
	// NoncesMaxDefault is the per-attestor nonce table size when
	// Config.NoncesMax is 0.
	NoncesMaxDefault = 1 << 16
	// NoncesMaxLimit is the largest per-attestor nonce table size.
	NoncesMaxLimit = 1 << 22
)

// Config configures a Verifier.
type Config struct {
	// Keys is the allow-list: attestor key id → Ed25519 public key (see
	// ParseAllowList). It is copied.
	Keys map[string]ed25519.PublicKey
	// Now is the clock; required.
	Now func() time.Time
	// ValidityMax is the longest validity window (ValidUntil − IssuedAt)
	// accepted; required, > 0. It also bounds how long a nonce stays
	// recorded.
	ValidityMax time.Duration
	// ClockSkew is how far in the future IssuedAt may lie (the attestor's
	// clock running ahead); 0 to ValidityMax.
	ClockSkew time.Duration
	// NoncesMax bounds each attestor's table of accepted nonces, 1 to
	// NoncesMaxLimit; 0 means NoncesMaxDefault.
	NoncesMax int
}

// Verifier checks signed attestations against an allow-list, a clock and
// per-attestor replay tables. It is safe for concurrent use.
type Verifier struct {
	// keys is the allow-list, replaced whole by SetKeys under keysMu.
	keysMu      sync.RWMutex
	keys        map[string]ed25519.PublicKey
	now         func() time.Time
	validityMax time.Duration
	skew        time.Duration
	noncesMax   int

	mu     sync.Mutex
	latest time.Time // the largest time the clock has returned
	tables map[string]*nonceTable
}

// nonceTable holds an attestor's accepted nonces with the ValidUntil (Unix
// nanoseconds) of the statement that used each.
type nonceTable struct {
	until    map[uint64]int64
	minUntil int64 // no entry expires before this
}

// NewVerifier returns a Verifier for cfg.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Now == nil {
		return nil, errors.New("attest: Config.Now is required")
	}
	if cfg.ValidityMax <= 0 {
		return nil, fmt.Errorf("attest: ValidityMax %v not positive", cfg.ValidityMax)
	}
	if cfg.ClockSkew < 0 || cfg.ClockSkew > cfg.ValidityMax {
		return nil, fmt.Errorf("attest: ClockSkew %v not in 0..ValidityMax", cfg.ClockSkew)
	}
	if cfg.NoncesMax == 0 {
		cfg.NoncesMax = NoncesMaxDefault
	}
	if cfg.NoncesMax < 1 || cfg.NoncesMax > NoncesMaxLimit {
		return nil, fmt.Errorf("attest: NoncesMax %d not in 1..%d", cfg.NoncesMax, NoncesMaxLimit)
	}
	v := &Verifier{
		now:         cfg.Now,
		validityMax: cfg.ValidityMax,
		skew:        cfg.ClockSkew,
		noncesMax:   cfg.NoncesMax,
		tables:      make(map[string]*nonceTable, len(cfg.Keys)),
	}
	keys, err := copyKeys(cfg.Keys)
	if err != nil {
		return nil, err
	}
	v.keys = keys
	return v, nil
}

// copyKeys validates an allow-list and returns a deep copy of it.
func copyKeys(keys map[string]ed25519.PublicKey) (map[string]ed25519.PublicKey, error) {
	if len(keys) > AttestorsMax {
		return nil, fmt.Errorf("attest: %d attestors exceed %d", len(keys), AttestorsMax)
	}
	out := make(map[string]ed25519.PublicKey, len(keys))
	for id, key := range keys {
		if err := checkKeyID(id); err != nil {
			return nil, fmt.Errorf("attest: %w", err)
		}
		if len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("attest: key %q of %d bytes, want %d", id, len(key), ed25519.PublicKeySize)
		}
		out[id] = append(ed25519.PublicKey(nil), key...)
	}
	return out, nil
}

// SetKeys replaces the allow-list (it is validated as Config.Keys and
// copied; on an error nothing changes). Statements verified after it
// returns are checked against the new list; the replay tables are kept,
// those of removed attestors included, so that an attestor removed and
// added back cannot have a statement accepted twice. It is safe to call
// concurrently with Verify.
func (v *Verifier) SetKeys(keys map[string]ed25519.PublicKey) error {
	c, err := copyKeys(keys)
	if err != nil {
		return err
	}
	v.keysMu.Lock()
	v.keys = c
	v.keysMu.Unlock()
	return nil
}

// key returns attestor id's public key from the current allow-list.
func (v *Verifier) key(id string) (ed25519.PublicKey, bool) {
	v.keysMu.RLock()
	k, ok := v.keys[id]
	v.keysMu.RUnlock()
	return k, ok
}

// Verify checks s and returns its statement when accepted, or a
// *Rejection: Malformed (Statement.Validate), UnknownAttestor,
// BadSignature, TooLong (window over ValidityMax), NotYetValid (IssuedAt
// after now + ClockSkew), Expired (now >= ValidUntil), Replay (the nonce
// was accepted for a statement still valid) or NonceTableFull.
//
// Replay protection: each attestor has a table nonce → ValidUntil of the
// accepted statement, at most NoncesMax entries. A nonce present with a
// ValidUntil later than now is a replay. When the table is full, entries
// whose ValidUntil is at or before now are pruned; if none can be, the
// statement is rejected with NonceTableFull (fail closed) rather than an
// entry forgotten. Pruning is safe because the verifier's time never goes
// backwards (a clock reading earlier than one already seen is replaced by
// that one): a pruned entry's statement, and any replay of it, now has
// ValidUntil <= now and is rejected as Expired before the table is
// consulted, so no statement can be accepted twice. A different statement
// reusing an expired statement's nonce is accepted; attestors must not
// reuse a nonce among statements valid at the same time.
func (v *Verifier) Verify(s Signed) (Statement, error) {
	if err := s.Validate(); err != nil {
		return Statement{}, err
	}
	key, ok := v.key(s.Attestor)
	if !ok {
		return Statement{}, reject(UnknownAttestor, "%q", s.Attestor)
	}
	var buf [SigningBytesMax]byte
	if !ed25519.Verify(key, s.SigningBytes(buf[:0]), s.Signature[:]) {
		return Statement{}, reject(BadSignature, "attestor %q nonce %d", s.Attestor, s.Nonce)
	}
	if w := s.ValidUntil.Sub(s.IssuedAt); w > v.validityMax {
		return Statement{}, reject(TooLong, "window %v exceeds %v", w, v.validityMax)
	}

	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.clock()
	if s.IssuedAt.After(now.Add(v.skew)) {
		return Statement{}, reject(NotYetValid, "issued at %v, now %v", s.IssuedAt, now)
	}
	if s.ExpiredAt(now) {
		return Statement{}, reject(Expired, "valid until %v, now %v", s.ValidUntil, now)
	}
	tab := v.tables[s.Attestor]
	if tab == nil {
		tab = &nonceTable{until: make(map[uint64]int64), minUntil: math.MaxInt64}
		v.tables[s.Attestor] = tab
	}
	nowNs := now.UnixNano()
	until, present := tab.until[s.Nonce]
	if present && until > nowNs {
		return Statement{}, reject(Replay, "attestor %q nonce %d", s.Attestor, s.Nonce)
	}
	if !present && len(tab.until) >= v.noncesMax {
		tab.prune(nowNs)
		if len(tab.until) >= v.noncesMax {
			return Statement{}, reject(NonceTableFull, "attestor %q holds %d live nonces", s.Attestor, len(tab.until))
		}
	}
	u := s.ValidUntil.UnixNano()
	tab.until[s.Nonce] = u
	tab.minUntil = min(tab.minUntil, u)
	return s.Statement, nil
}

// clock returns the current time, never earlier than a time it returned
// before. Callers hold v.mu.
func (v *Verifier) clock() time.Time {
	t := v.now()
	if t.Before(v.latest) {
		return v.latest
	}
	v.latest = t
	return t
}

// prune removes the entries that expired at or before nowNs. It scans the
// table only when one can have expired, so a table full of live entries
// costs O(1) per rejected statement.
func (t *nonceTable) prune(nowNs int64) {
	if t.minUntil > nowNs {
		return
	}
	t.minUntil = math.MaxInt64
	for n, u := range t.until {
		if u <= nowNs {
			delete(t.until, n)
		} else {
			t.minUntil = min(t.minUntil, u)
		}
	}
}

// Nonces returns the number of nonces recorded for attestor (live or not
// yet pruned).
func (v *Verifier) Nonces(attestor string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	if tab := v.tables[attestor]; tab != nil {
		return len(tab.until)
	}
	return 0
}

// Nonce is one accepted statement's entry in an attestor's replay table.
type Nonce struct {
	// Attestor is the signer's key id.
	Attestor string `json:"attestor"`
	// Nonce is the statement's nonce.
	Nonce uint64 `json:"nonce"`
	// ValidUntil is the statement's end of validity, Unix nanoseconds.
	ValidUntil int64 `json:"valid_until_ns"`
}

// ExportNonces returns the replay tables' entries still live at the
// verifier's current time, sorted by attestor and nonce, for a durable
// snapshot (RestoreNonce puts them back).
func (v *Verifier) ExportNonces() []Nonce {
	v.mu.Lock()
	defer v.mu.Unlock()
	nowNs := v.clock().UnixNano()
	var out []Nonce
	for a, t := range v.tables {
		for n, u := range t.until {
			if u > nowNs {
				out = append(out, Nonce{Attestor: a, Nonce: n, ValidUntil: u})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Attestor != out[j].Attestor {
			return out[i].Attestor < out[j].Attestor
		}
		return out[i].Nonce < out[j].Nonce
	})
	return out
}

// RestoreNonce records n as accepted, as Verify did when it accepted the
// statement: at start-up, from a snapshot or a replayed log record. An
// entry already expired at the verifier's time is dropped (it could not
// cause a rejection); a full table is pruned first and then refused with
// NonceTableFull, as Verify would.
func (v *Verifier) RestoreNonce(n Nonce) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	nowNs := v.clock().UnixNano()
	if n.ValidUntil <= nowNs {
		return nil
	}
	tab := v.tables[n.Attestor]
	if tab == nil {
		tab = &nonceTable{until: make(map[uint64]int64), minUntil: math.MaxInt64}
		v.tables[n.Attestor] = tab
	}
	if _, present := tab.until[n.Nonce]; !present && len(tab.until) >= v.noncesMax {
		tab.prune(nowNs)
		if len(tab.until) >= v.noncesMax {
			return reject(NonceTableFull, "attestor %q holds %d live nonces", n.Attestor, len(tab.until))
		}
	}
	tab.until[n.Nonce] = max(tab.until[n.Nonce], n.ValidUntil)
	tab.minUntil = min(tab.minUntil, n.ValidUntil)
	return nil
}

// Forget removes the replay entry that Verify recorded for s, when the
// statement it accepted is abandoned before taking effect (for example
// because it could not be made durable), so that the attestor may submit
// it again.
func (v *Verifier) Forget(s Statement) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if tab := v.tables[s.Attestor]; tab != nil && tab.until[s.Nonce] == s.ValidUntil.UnixNano() {
		delete(tab.until, s.Nonce)
	}
}
