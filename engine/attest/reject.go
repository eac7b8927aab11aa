package attest

import (
	"errors"
	"fmt"
)

// Reason classifies why an attestation was rejected.
type Reason uint8

// Rejection reasons. The zero value is not a reason.
const (
	// BadSignature: the signature does not verify under the attestor's key.
	BadSignature Reason = iota + 1
	// UnknownAttestor: the attestor is not in the allow-list.
	UnknownAttestor
	// Expired: the clock is at or past ValidUntil.
	Expired
	// NotYetValid: IssuedAt is later than the clock (beyond the skew).
	NotYetValid
	// Replay: the attestor's nonce was already accepted for a statement
	// that is still valid.
	Replay
	// Malformed: a field or the encoding is invalid.
	Malformed
	// TooLong: the validity window exceeds the verifier's maximum.
	TooLong
	// NonceTableFull: the attestor's nonce table holds NoncesMax live
	// entries; the verifier fails closed rather than forget one.
	NonceTableFull
)

var reasonNames = [...]string{
	BadSignature:    "bad signature",
	UnknownAttestor: "unknown attestor",
	Expired:         "expired",
	NotYetValid:     "not yet valid",
	Replay:          "replay",
	Malformed:       "malformed",
	TooLong:         "validity too long",
	NonceTableFull:  "nonce table full",
}

// String returns the reason's stable name, such as "bad signature".
func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Rejection is the error for a refused attestation or input.
type Rejection struct {
	Reason Reason
	Detail string
}

// Error returns "attestation rejected: <reason>: <detail>".
func (r *Rejection) Error() string {
	if r.Detail == "" {
		return "attestation rejected: " + r.Reason.String()
	}
	return "attestation rejected: " + r.Reason.String() + ": " + r.Detail
}

// ReasonOf returns the Reason of a *Rejection in err's chain.
func ReasonOf(err error) (Reason, bool) {
	var r *Rejection
	if errors.As(err, &r) {
		return r.Reason, true
	}
	return 0, false
}

func reject(reason Reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

func malformed(format string, args ...any) *Rejection {
	return reject(Malformed, format, args...)
}
