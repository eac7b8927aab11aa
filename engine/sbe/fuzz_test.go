package sbe_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/ballast-risk/ballast/engine/sbe"
)

// fuzzSeeds are valid frames of every template plus a few malformed ones.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	for i, id := range sbe.TemplateIDs() {
		m := newMessage(id)
		fillPattern(m, uint64(i))
		seeds = append(seeds, m.AppendFrame(nil))
	}
	bad := append([]byte(nil), seeds[2]...)
	bad[5] = 0x51
	seeds = append(seeds, bad, seeds[3][:20], []byte{0, 0, 0, 14, 0xEB, 0x50, 0, 0, 10, 0, 0x11, 0xBA, 1, 0})
	return seeds
}

// checkFrame verifies the properties of a frame ParseFrame or ReadFrame
// accepted: its block decodes and re-encodes to the same bytes, padding
// aside.
func checkFrame(t *testing.T, in []byte, f sbe.Frame) {
	m := newMessage(f.Header.TemplateID)
	if m == nil {
		t.Fatalf("accepted unknown template %d", f.Header.TemplateID)
	}
	if len(f.Block) != m.SBEBlockLength() || int(f.Header.BlockLength) != len(f.Block) {
		t.Fatalf("block of %d bytes for template %d", len(f.Block), f.Header.TemplateID)
	}
	if err := m.DecodeBlock(f.Block); err != nil {
		t.Fatal(err)
	}
	out := m.AppendFrame(nil)
	m2 := newMessage(f.Header.TemplateID)
	f2, n, err := sbe.ParseFrame(out, len(out))
	if err != nil || n != len(out) || m2.DecodeBlock(f2.Block) != nil || !reflect.DeepEqual(m, m2) {
		t.Fatalf("re-encoded frame does not round-trip: %v", err)
	}
	if !bytes.Equal(out[:sbe.SOFHBytes+sbe.HeaderBytes], in[:sbe.SOFHBytes+sbe.HeaderBytes]) {
		t.Fatalf("re-encoded header % x differs from input % x", out[:14], in[:14])
	}
}

func isProtocolError(err error) bool {
	_, ok := sbe.CodeOf(err)
	return ok
}

// FuzzParseFrame feeds arbitrary bytes to ParseFrame and decodes what it
// accepts: no panics, only protocol errors, consumed lengths in range.
func FuzzParseFrame(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, uint16(sbe.MessageFrameBytesMax))
	}
	f.Fuzz(func(t *testing.T, in []byte, frameMax uint16) {
		fr, n, err := sbe.ParseFrame(in, int(frameMax))
		if err != nil && !isProtocolError(err) {
			t.Fatalf("non-protocol error %v", err)
		}
		if n < 0 || n > len(in) || n > int(frameMax) || (n > 0 && n < sbe.FrameBytesMin) {
			t.Fatalf("consumed %d of %d (max %d)", n, len(in), frameMax)
		}
		if err == nil && n > 0 {
			checkFrame(t, in, fr)
		}
	})
}

// FuzzReadFrame reads frames from an arbitrary stream until it ends or an
// error desynchronises it.
func FuzzReadFrame(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Add(append(fuzzSeeds()[0], fuzzSeeds()[3]...))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		buf := make([]byte, sbe.MessageFrameBytesMax)
		for frames := 0; frames <= len(in)/sbe.FrameBytesMin; frames++ {
			before := r.Len()
			fr, err := sbe.ReadFrame(r, buf, len(buf))
			if err == io.EOF {
				if before != 0 {
					t.Fatalf("io.EOF with %d bytes left", before)
				}
				return
			}
			if err == nil {
				start := len(in) - before
				checkFrame(t, in[start:], fr)
				continue
			}
			if !isProtocolError(err) {
				t.Fatalf("non-protocol error %v", err)
			}
			if errors.Is(err, sbe.ErrEncodingType) || errors.Is(err, sbe.ErrFrameTooLong) || errors.Is(err, sbe.ErrShortFrame) {
				return
			}
		}
		t.Fatal("ReadFrame made no progress")
	})
}

// FuzzDecodeBlock runs every block decoder on arbitrary bytes (the first
// byte picks the template): a decoded block re-encodes to the input, padding
// zeroed.
func FuzzDecodeBlock(f *testing.F) {
	for i, s := range fuzzSeeds()[:len(sbe.TemplateIDs())] {
		f.Add(append([]byte{byte(i)}, s[sbe.SOFHBytes+sbe.HeaderBytes:]...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		ids := sbe.TemplateIDs()
		m := newMessage(ids[int(in[0])%len(ids)])
		b := in[1:]
		err := m.DecodeBlock(b)
		if len(b) < m.SBEBlockLength() {
			if err != sbe.ErrShortFrame {
				t.Fatalf("short block: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, m.SBEBlockLength())
		if _, err := m.EncodeBlock(out); err != nil {
			t.Fatal(err)
		}
		for i := range out {
			if out[i] != b[i] && out[i] != 0 {
				t.Fatalf("byte %d: re-encoded %#x, input %#x", i, out[i], b[i])
			}
		}
		m2 := newMessage(m.SBETemplateID())
		if err := m2.DecodeBlock(out); err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatal("re-encoded block does not decode to the same message")
		}
	})
}

// FuzzDecode runs every message decoder (header and block) on arbitrary
// bytes: it accepts exactly what ParseMessage accepts for its template.
func FuzzDecode(f *testing.F) {
	for i, s := range fuzzSeeds() {
		f.Add(byte(i), s[min(len(s), sbe.SOFHBytes):])
	}
	f.Fuzz(func(t *testing.T, pick byte, in []byte) {
		ids := sbe.TemplateIDs()
		m := newMessage(ids[int(pick)%len(ids)])
		err := m.Decode(in)
		fr, perr := sbe.ParseMessage(in)
		switch {
		case perr != nil:
			if err != perr {
				t.Fatalf("Decode %v, ParseMessage %v", err, perr)
			}
		case fr.Header.TemplateID != m.SBETemplateID():
			if err != sbe.ErrTemplateMismatch {
				t.Fatalf("other template: %v", err)
			}
		case err != nil:
			t.Fatalf("ParseMessage accepted, Decode: %v", err)
		default:
			out := make([]byte, len(in))
			if n, err := m.Encode(out); err != nil || n != len(in) {
				t.Fatal(n, err)
			}
			if !bytes.Equal(out[:sbe.HeaderBytes], in[:sbe.HeaderBytes]) {
				t.Fatal("header differs after re-encoding")
			}
		}
	})
}
