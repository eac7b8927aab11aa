package attest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Bounds of the JSON forms.
const (
	// BodyBytesMax is the largest attestation JSON body ParseJSON reads.
	BodyBytesMax = 4096
	// AllowListBytesMax is the largest allow-list file ParseAllowList reads.
	AllowListBytesMax = 1 << 20
	// AttestorsMax is the largest number of allow-list entries.
	AttestorsMax = 1024
)

// wireFields are the JSON member names of an attestation, with a bit each
// to detect missing and repeated members.
var wireFields = map[string]uint{
	"account": 1 << 0, "value": 1 << 1, "asset": 1 << 2, "issued_at": 1 << 3,
	"valid_until": 1 << 4, "nonce": 1 << 5, "attestor": 1 << 6, "signature": 1 << 7,
}

// wireNames lists the members in wire order, for deterministic messages.
var wireNames = [...]string{"account", "value", "asset", "issued_at", "valid_until", "nonce", "attestor", "signature"}

// wireRequired: every member but "asset".
const wireRequired = 0xff &^ (1 << 2)

// ParseJSON decodes the JSON wire form of a signed attestation (see the
// package doc). It checks the syntax and the statement's fields
// (Statement.Validate) but not the signature, the attestor or the clock:
// that is Verify's job. Errors are *Rejection with reason Malformed.
func ParseJSON(data []byte) (Signed, error) {
	var s Signed
	if len(data) > BodyBytesMax {
		return s, malformed("body of %d bytes exceeds %d", len(data), BodyBytesMax)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return s, malformed("not a JSON object")
	}
	var seen uint
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return s, malformed("bad member name: %v", err)
		}
		name, _ := tok.(string)
		bit, ok := wireFields[name]
		if !ok {
			return s, malformed("unknown member %q", name)
		}
		if seen&bit != 0 {
			return s, malformed("repeated member %q", name)
		}
		seen |= bit
		if err := decodeMember(dec, name, &s); err != nil {
			return s, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return s, malformed("unterminated object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return s, malformed("data after the object")
	}
	if missing := wireRequired &^ seen; missing != 0 {
		for _, name := range wireNames {
			if missing&wireFields[name] != 0 {
				return s, malformed("missing member %q", name)
			}
		}
	}
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, nil
}

// decodeMember decodes the value of member name into s.
func decodeMember(dec *json.Decoder, name string, s *Signed) error {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return malformed("member %q: %v", name, err)
	}
	bad := func(err error) error { return malformed("member %q: %v", name, err) }
	switch name {
	case "account", "nonce":
		var v uint64
		if err := json.Unmarshal(raw, &v); err != nil {
			return bad(err)
		}
		if name == "account" {
			s.Account = v
		} else {
			s.Nonce = v
		}
	case "value":
		if err := json.Unmarshal(raw, &s.Value); err != nil {
			return bad(err)
		}
	case "asset", "attestor":
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return bad(err)
		}
		if name == "asset" {
			s.Asset = v
		} else {
			s.Attestor = v
		}
	case "issued_at", "valid_until":
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return bad(err)
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return bad(err)
		}
		if name == "issued_at" {
			s.IssuedAt = t
		} else {
			s.ValidUntil = t
		}
	case "signature":
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return bad(err)
		}
		sig, err := base64.StdEncoding.Strict().DecodeString(v)
		if err != nil {
			return bad(err)
		}
		if len(sig) != ed25519.SignatureSize {
			return bad(fmt.Errorf("signature of %d bytes, want %d", len(sig), ed25519.SignatureSize))
		}
		copy(s.Signature[:], sig)
	}
	// Reject a JSON null, which Unmarshal accepts as a no-op.
	if string(raw) == "null" {
		return bad(errors.New("null"))
	}
	return nil
}

// wire is the JSON form written by MarshalJSON.
type wire struct {
	Account    uint64 `json:"account"`
	Value      int64  `json:"value"`
	Asset      string `json:"asset,omitempty"`
	IssuedAt   string `json:"issued_at"`
	ValidUntil string `json:"valid_until"`
	Nonce      uint64 `json:"nonce"`
	Attestor   string `json:"attestor"`
	Signature  string `json:"signature"`
}

// MarshalJSON writes the JSON wire form, times in UTC.
func (s Signed) MarshalJSON() ([]byte, error) {
	return json.Marshal(wire{
		Account:    s.Account,
		Value:      s.Value,
		Asset:      s.Asset,
		IssuedAt:   s.IssuedAt.UTC().Format(time.RFC3339Nano),
		ValidUntil: s.ValidUntil.UTC().Format(time.RFC3339Nano),
		Nonce:      s.Nonce,
		Attestor:   s.Attestor,
		Signature:  base64.StdEncoding.EncodeToString(s.Signature[:]),
	})
}

// UnmarshalJSON reads the JSON wire form with ParseJSON.
func (s *Signed) UnmarshalJSON(data []byte) error {
	v, err := ParseJSON(data)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// AllowListEntry is one attestor of an allow-list file.
type AllowListEntry struct {
	ID        string `json:"id"`
	PublicKey string `json:"public_key"`
}

// ParseAllowList reads an allow-list file: a JSON array of
// {"id": key id, "public_key": standard base64 of a 32-byte Ed25519 public
// key}, for example
//
//	[{"id":"custodian-a","public_key":"<base64>"}]
//
// Ids must be valid (ValidKeyID) and unique, both members are required,
// unknown members are rejected, and a file holds at most AttestorsMax
// entries and AllowListBytesMax bytes. An empty array is valid (a verifier
// that accepts nothing).
func ParseAllowList(data []byte) (map[string]ed25519.PublicKey, error) {
	if len(data) > AllowListBytesMax {
		return nil, fmt.Errorf("attest: allow-list of %d bytes exceeds %d", len(data), AllowListBytesMax)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var entries []*AllowListEntry
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("attest: allow-list: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("attest: allow-list: data after the array")
	}
	if entries == nil {
		return nil, errors.New("attest: allow-list: not an array")
	}
	if len(entries) > AttestorsMax {
		return nil, fmt.Errorf("attest: allow-list: %d entries exceed %d", len(entries), AttestorsMax)
	}
	keys := make(map[string]ed25519.PublicKey, len(entries))
	for i, e := range entries {
		if e == nil {
			return nil, fmt.Errorf("attest: allow-list entry %d: null", i)
		}
		if err := checkKeyID(e.ID); err != nil {
			return nil, fmt.Errorf("attest: allow-list entry %d: %w", i, err)
		}
		if _, dup := keys[e.ID]; dup {
			return nil, fmt.Errorf("attest: allow-list entry %d: duplicate id %q", i, e.ID)
		}
		key, err := base64.StdEncoding.Strict().DecodeString(e.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("attest: allow-list entry %d (%s): public_key: %w", i, e.ID, err)
		}
		if len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("attest: allow-list entry %d (%s): public_key of %d bytes, want %d",
				i, e.ID, len(key), ed25519.PublicKeySize)
		}
		keys[e.ID] = ed25519.PublicKey(key)
	}
	return keys, nil
}
