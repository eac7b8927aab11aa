// Package attest signs and verifies credit attestations (DESIGN §4): an
// allow-listed attestor (a custodian, bank or auditor) states with Ed25519
// that "account X holds verified assets worth V, valid until T, nonce N".
//
// # Signed bytes
//
// The signature covers a canonical, versioned, domain-separated binary
// encoding (Statement.SigningBytes), all integers little-endian:
//
//	offset  size  field
//	0       23    context "ballast-attestation-v1" followed by one 0x00 byte
//	23      8     Account, uint64
//	31      8     Value, int64, money in units of 1/10,000
//	39      8     IssuedAt, int64 Unix nanoseconds
//	47      8     ValidUntil, int64 Unix nanoseconds
//	55      8     Nonce, uint64
//	63      1     length a of Attestor (1..AttestorBytesMax)
//	64      a     Attestor, ASCII
//	64+a    1     length b of Asset (0..AssetBytesMax)
//	65+a    b     Asset, UTF-8
//
// The context names the purpose and the version, so a signature can never
// be taken for one over another message type or encoding version; the
// length prefixes make the encoding injective. Times are therefore limited
// to the int64 Unix nanosecond range (years 1678 to 2262) and lose any
// monotonic clock reading and time zone.
//
// # Wire form
//
// ParseJSON reads, and Signed.MarshalJSON writes, the JSON form used by the
// HTTP API (POST /v1/attestations):
//
//	{"account":1001,"value":250000000,"asset":"T-bills",
//	 "issued_at":"2026-01-02T15:04:05Z","valid_until":"2026-01-03T15:04:05Z",
//	 "nonce":7,"attestor":"custodian-a","signature":"<base64, 64 bytes>"}
//
// Times are RFC 3339 with optional fractional seconds; "asset" may be
// omitted (empty); every other field is required, unknown or repeated
// fields are rejected, and bodies over BodyBytesMax are refused.
//
// # Verification
//
// A Verifier holds the allow-list (ParseAllowList reads its file format),
// an injected clock, the longest validity window it accepts and per
// attestor a bounded table of accepted nonces for replay protection; see
// Verifier.Verify.
package attest

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds of the encoding.
const (
	// Context is the domain-separation prefix of the signed bytes.
	Context = "ballast-attestation-v1\x00"
	// AttestorBytesMax is the longest attestor key id, in bytes.
	AttestorBytesMax = 64
	// AssetBytesMax is the longest asset label, in bytes.
	AssetBytesMax = 64
	// SigningBytesMax is the longest SigningBytes encoding.
	SigningBytesMax = len(Context) + 5*8 + 1 + AttestorBytesMax + 1 + AssetBytesMax
)

// Times representable as int64 Unix nanoseconds.
var (
	timeMin = time.Unix(0, math.MinInt64)
	timeMax = time.Unix(0, math.MaxInt64)
)

// Statement is what an attestor asserts.
type Statement struct {
	// Account is the attested account.
	Account uint64
	// Value is the verified asset value in money units of 1/10,000; >= 0.
	Value int64
	// Asset is an optional label (UTF-8, no control characters, at most
	// AssetBytesMax bytes).
	Asset string
	// IssuedAt is when the statement was made; it is valid from then on.
	IssuedAt time.Time
	// ValidUntil is the end of validity (exclusive); after IssuedAt.
	ValidUntil time.Time
	// Nonce is unique per attestor among statements that are valid at the
	// same time.
	Nonce uint64
	// Attestor is the key id of the signer in the allow-list.
	Attestor string
}

// Signed is a Statement with its Ed25519 signature over SigningBytes.
type Signed struct {
	Statement
	Signature [ed25519.SignatureSize]byte
}

// SigningBytes appends the canonical encoding of s (see the package doc) to
// dst and returns the extended slice. Over-long strings are encoded
// truncated to their bound; Validate rejects them before any signature is
// checked.
func (s *Statement) SigningBytes(dst []byte) []byte {
	dst = append(dst, Context...)
	dst = binary.LittleEndian.AppendUint64(dst, s.Account)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.Value))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.IssuedAt.UnixNano()))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.ValidUntil.UnixNano()))
	dst = binary.LittleEndian.AppendUint64(dst, s.Nonce)
	att := s.Attestor[:min(len(s.Attestor), AttestorBytesMax)]
	dst = append(dst, byte(len(att)))
	dst = append(dst, att...)
	asset := s.Asset[:min(len(s.Asset), AssetBytesMax)]
	dst = append(dst, byte(len(asset)))
	dst = append(dst, asset...)
	return dst
}

// Validate checks the fields of s: attestor id (see ValidKeyID), asset
// label, value >= 0, both times in the Unix-nanosecond range and IssuedAt
// before ValidUntil. It returns a *Rejection with reason Malformed.
func (s *Statement) Validate() error {
	if err := checkKeyID(s.Attestor); err != nil {
		return malformed("attestor: %v", err)
	}
	if len(s.Asset) > AssetBytesMax {
		return malformed("asset longer than %d bytes", AssetBytesMax)
	}
	if !utf8.ValidString(s.Asset) {
		return malformed("asset not UTF-8")
	}
	for _, r := range s.Asset {
		if unicode.IsControl(r) {
			return malformed("asset holds a control character")
		}
	}
	if s.Value < 0 {
		return malformed("negative value %d", s.Value)
	}
	for _, t := range []time.Time{s.IssuedAt, s.ValidUntil} {
		if t.Before(timeMin) || t.After(timeMax) {
			return malformed("time %v outside the Unix-nanosecond range", t)
		}
	}
	if !s.IssuedAt.Before(s.ValidUntil) {
		return malformed("valid_until %v not after issued_at %v", s.ValidUntil, s.IssuedAt)
	}
	return nil
}

// ExpiredAt reports whether s is no longer valid at now (now >= ValidUntil).
// Holders of accepted statements use it to fail closed once one lapses.
func (s Statement) ExpiredAt(now time.Time) bool { return !now.Before(s.ValidUntil) }

// Sign returns s signed with priv. It does not validate s: Verify rejects a
// malformed statement however it was signed.
func Sign(priv ed25519.PrivateKey, s Statement) Signed {
	var buf [SigningBytesMax]byte
	out := Signed{Statement: s}
	copy(out.Signature[:], ed25519.Sign(priv, s.SigningBytes(buf[:0])))
	return out
}

// ValidKeyID reports whether id is a well-formed attestor key id: 1 to
// AttestorBytesMax bytes of ASCII letters, digits and . _ : -.
func ValidKeyID(id string) bool { return checkKeyID(id) == nil }

func checkKeyID(id string) error {
	if len(id) == 0 || len(id) > AttestorBytesMax {
		return fmt.Errorf("key id length %d not in 1..%d", len(id), AttestorBytesMax)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return fmt.Errorf("key id byte %#x at %d not allowed", c, i)
		}
	}
	return nil
}
