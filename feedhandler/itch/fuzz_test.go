package itch

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode checks that Decode never panics, fails only with the two
// sentinels and for the right reason, leaves the message alone on failure,
// and that a message that decodes re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, c := range knownCases {
		f.Add([]byte(c.raw))
	}
	f.Add([]byte{})
	f.Add([]byte("A"))
	f.Add([]byte("Z\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte(knownCases[10].raw + "\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		m.Type = '?'
		err := m.Decode(b)
		switch {
		case len(b) == 0:
			if !errors.Is(err, ErrBadLength) {
				t.Fatalf("empty input: err %v", err)
			}
		case Length(b[0]) == 0:
			if !errors.Is(err, ErrUnknownType) {
				t.Fatalf("unknown type %q: err %v", b[0], err)
			}
		case Length(b[0]) != len(b):
			if !errors.Is(err, ErrBadLength) {
				t.Fatalf("type %q len %d: err %v", b[0], len(b), err)
			}
		default:
			if err != nil {
				t.Fatalf("type %q len %d: unexpected err %v", b[0], len(b), err)
			}
		}
		if err != nil {
			if m.Type != '?' {
				t.Fatalf("failed Decode changed the message")
			}
			return
		}
		h, herr := DecodeHeader(b)
		if herr != nil || h != m.Header {
			t.Fatalf("DecodeHeader = %+v, %v; Decode header %+v", h, herr, m.Header)
		}
		if out := m.Append(nil); !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs\n got % x\nwant % x", out, b)
		}
	})
}
