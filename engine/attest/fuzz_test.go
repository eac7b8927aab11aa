package attest

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"
)

// FuzzParseJSON: ParseJSON never panics; what it accepts validates,
// re-encodes, and parses back to the same signed bytes and signature.
func FuzzParseJSON(f *testing.F) {
	good, _ := Sign(key("custodian-a"), statement(7)).MarshalJSON()
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"account":1,"value":2,"issued_at":"2026-01-01T00:00:00Z","valid_until":"2026-01-02T00:00:00.5+02:00","nonce":3,"attestor":"a","signature":"` +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==" + `"}`))
	f.Add([]byte(`{"account":1,"account":2}`))
	f.Add([]byte(`[1,2,3]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseJSON(data)
		if err != nil {
			if _, ok := ReasonOf(err); !ok {
				t.Fatalf("error %v is not a Rejection", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted an invalid statement: %v", err)
		}
		enc, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseJSON(enc)
		if err != nil {
			t.Fatalf("re-encoded form rejected: %v\n%s", err, enc)
		}
		if !bytes.Equal(back.SigningBytes(nil), s.SigningBytes(nil)) || back.Signature != s.Signature {
			t.Fatalf("round trip changed the statement:\n%s", enc)
		}
	})
}

// FuzzParseAllowList: ParseAllowList never panics; what it accepts is
// within bounds and usable by NewVerifier.
func FuzzParseAllowList(f *testing.F) {
	f.Add([]byte(`[{"id":"custodian-a","public_key":"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"id":"a","public_key":"AAAA"}]`))
	f.Add([]byte(`[null,{}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseAllowList(data)
		if err != nil {
			return
		}
		if len(keys) > AttestorsMax {
			t.Fatalf("%d keys", len(keys))
		}
		for id, k := range keys {
			if !ValidKeyID(id) || len(k) != ed25519.PublicKeySize {
				t.Fatalf("bad entry %q", id)
			}
		}
		if _, err := NewVerifier(Config{Keys: keys, Now: time.Now, ValidityMax: time.Hour}); err != nil {
			t.Fatalf("accepted list unusable: %v", err)
		}
	})
}
