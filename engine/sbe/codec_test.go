package sbe_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"testing/iotest"

	"github.com/ballast-risk/ballast/engine/sbe"
)

// TestRoundTrip encodes and decodes every message at every layer: block,
// header and block, frame via ParseFrame and via ReadFrame.
func TestRoundTrip(t *testing.T) {
	for _, id := range sbe.TemplateIDs() {
		for seed := uint64(1); seed <= 20; seed++ {
			m := newMessage(id)
			fillPattern(m, seed)
			name := fmt.Sprintf("%s/%d", sbe.TemplateName(id), seed)

			blk := make([]byte, m.SBEBlockLength())
			if _, err := m.EncodeBlock(blk); err != nil {
				t.Fatal(name, err)
			}
			got := newMessage(id)
			if err := got.DecodeBlock(blk); err != nil || !reflect.DeepEqual(got, m) {
				t.Fatalf("%s block: %v %+v != %+v", name, err, got, m)
			}

			msg := make([]byte, sbe.HeaderBytes+m.SBEBlockLength())
			if n, err := m.Encode(msg); err != nil || n != len(msg) {
				t.Fatal(name, n, err)
			}
			got = newMessage(id)
			if err := got.Decode(msg); err != nil || !reflect.DeepEqual(got, m) {
				t.Fatalf("%s message: %v", name, err)
			}

			fr := make([]byte, 3, 64)
			fr = m.AppendFrame(fr)[3:]
			f, n, err := sbe.ParseFrame(fr, sbe.MessageFrameBytesMax)
			if err != nil || n != len(fr) || f.Header.TemplateID != id || int(f.Header.BlockLength) != m.SBEBlockLength() {
				t.Fatalf("%s ParseFrame: %+v %d %v", name, f.Header, n, err)
			}
			got = newMessage(id)
			if err := got.DecodeBlock(f.Block); err != nil || !reflect.DeepEqual(got, m) {
				t.Fatalf("%s frame: %v", name, err)
			}
			ef := make([]byte, len(fr))
			if n, err := m.EncodeFrame(ef); err != nil || n != len(fr) || !bytes.Equal(ef, fr) {
				t.Fatalf("%s EncodeFrame differs from AppendFrame", name)
			}

			buf := make([]byte, sbe.MessageFrameBytesMax)
			f, err = sbe.ReadFrame(bytes.NewReader(fr), buf, sbe.MessageFrameBytesMax)
			if err != nil || f.Header.TemplateID != id {
				t.Fatalf("%s ReadFrame: %v", name, err)
			}
		}
	}
}

func TestHeaderCodec(t *testing.T) {
	h := sbe.Header{BlockLength: 0x0102, TemplateID: 0x0304, SchemaID: 0x0506, Version: 0x0708}
	b := make([]byte, sbe.HeaderBytes)
	if n, err := h.Encode(b); err != nil || n != 8 {
		t.Fatal(n, err)
	}
	if want := []byte{2, 1, 4, 3, 6, 5, 8, 7}; !bytes.Equal(b, want) {
		t.Fatalf("% x, want % x", b, want)
	}
	var g sbe.Header
	if err := g.Decode(b); err != nil || g != h {
		t.Fatal(g, err)
	}
	if _, err := h.Encode(b[:7]); err != sbe.ErrBufferTooSmall {
		t.Fatal(err)
	}
	if err := g.Decode(b[:7]); err != sbe.ErrShortFrame {
		t.Fatal(err)
	}
}

// frame builds a raw frame: SOFH (length sofhLen, encoding enc), header and
// block bytes.
func frame(sofhLen uint32, enc uint16, h sbe.Header, block []byte) []byte {
	b := make([]byte, 14+len(block))
	binary.BigEndian.PutUint32(b, sofhLen)
	binary.BigEndian.PutUint16(b[4:], enc)
	h.Encode(b[6:])
	copy(b[14:], block)
	return b
}

func goodHeader() sbe.Header {
	return sbe.Header{BlockLength: sbe.OrderCheckBlockLength, TemplateID: sbe.OrderCheckTemplateID, SchemaID: 0xBA11, Version: 1}
}

// TestMalformed checks each malformed-input class of DESIGN §5.2 yields its
// own error and Error code, through ParseFrame and ReadFrame alike.
func TestMalformed(t *testing.T) {
	block := make([]byte, sbe.OrderCheckBlockLength)
	good := uint32(14 + len(block))
	with := func(mod func(*sbe.Header)) sbe.Header { h := goodHeader(); mod(&h); return h }
	cases := []struct {
		name string
		in   []byte
		max  int
		err  error
		code sbe.ErrorCode
	}{
		{"encoding type", frame(good, 0xEB51, goodHeader(), block), 256, sbe.ErrEncodingType, sbe.ErrorCodeEncodingType},
		{"encoding type big-endian", frame(good, 0x50EB, goodHeader(), block), 256, sbe.ErrEncodingType, sbe.ErrorCodeEncodingType},
		{"schema id", frame(good, 0xEB50, with(func(h *sbe.Header) { h.SchemaID = 0x11BA }), block), 256, sbe.ErrSchemaID, sbe.ErrorCodeSchemaID},
		{"version", frame(good, 0xEB50, with(func(h *sbe.Header) { h.Version = 2 }), block), 256, sbe.ErrSchemaVersion, sbe.ErrorCodeSchemaVersion},
		{"unknown template", frame(good, 0xEB50, with(func(h *sbe.Header) { h.TemplateID = 12 }), block), 256, sbe.ErrUnknownTemplate, sbe.ErrorCodeUnknownTemplate},
		{"block length header", frame(good, 0xEB50, with(func(h *sbe.Header) { h.BlockLength = 48 }), block), 256, sbe.ErrBlockLength, sbe.ErrorCodeBlockLength},
		{"bytes after block", frame(good+1, 0xEB50, goodHeader(), append(block, 0)), 256, sbe.ErrBlockLength, sbe.ErrorCodeBlockLength},
		{"too long", frame(good, 0xEB50, goodHeader(), block), int(good) - 1, sbe.ErrFrameTooLong, sbe.ErrorCodeFrameTooLong},
		{"too long 4GiB", frame(0xFFFFFFFF, 0xEB50, goodHeader(), block), 1 << 20, sbe.ErrFrameTooLong, sbe.ErrorCodeFrameTooLong},
		{"sofh shorter than header", frame(13, 0xEB50, goodHeader(), nil)[:13], 256, sbe.ErrShortFrame, sbe.ErrorCodeShortFrame},
		{"sofh length zero", frame(0, 0xEB50, goodHeader(), nil), 256, sbe.ErrShortFrame, sbe.ErrorCodeShortFrame},
		{"block cut short", frame(good-8, 0xEB50, goodHeader(), block[:32]), 256, sbe.ErrShortFrame, sbe.ErrorCodeShortFrame},
	}
	seen := map[error]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seen[c.err] = true
			_, n, err := sbe.ParseFrame(c.in, c.max)
			if err != c.err {
				t.Fatalf("ParseFrame: %v, want %v", err, c.err)
			}
			sofhErr := c.err == sbe.ErrEncodingType || c.err == sbe.ErrFrameTooLong || (c.err == sbe.ErrShortFrame && n == 0)
			if !sofhErr && n != len(c.in) {
				t.Fatalf("ParseFrame consumed %d of %d", n, len(c.in))
			}
			if code, ok := sbe.CodeOf(fmt.Errorf("wrapped: %w", err)); !ok || code != c.code {
				t.Fatalf("CodeOf = %v %v, want %v", code, ok, c.code)
			}
			buf := make([]byte, 256)
			if _, err := sbe.ReadFrame(bytes.NewReader(c.in), buf, c.max); err != c.err {
				t.Fatalf("ReadFrame: %v, want %v", err, c.err)
			}
		})
	}
	if len(seen) != 7 {
		t.Fatalf("%d distinct classes, want 7", len(seen))
	}
	codes := map[sbe.ErrorCode]bool{}
	for e := range seen {
		c, _ := sbe.CodeOf(e)
		codes[c] = true
	}
	if len(codes) != 7 {
		t.Fatalf("%d distinct codes for 7 classes", len(codes))
	}
	if _, ok := sbe.CodeOf(io.EOF); ok {
		t.Fatal("CodeOf(io.EOF) reported a protocol error")
	}
}

// TestParseFrameStream checks ParseFrame on a buffer filled byte by byte:
// nothing until a frame is whole, then each pipelined frame in turn.
func TestParseFrameStream(t *testing.T) {
	var stream []byte
	var want []sbe.Message
	for i := uint64(0); i < 10; i++ {
		m := newMessage(sbe.TemplateIDs()[i%10])
		fillPattern(m, i)
		stream = m.AppendFrame(stream)
		want = append(want, m)
	}
	var got []sbe.Message
	var buf []byte
	for _, c := range stream {
		buf = append(buf, c)
		for {
			f, n, err := sbe.ParseFrame(buf, sbe.MessageFrameBytesMax)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			m := newMessage(f.Header.TemplateID)
			if err := m.DecodeBlock(f.Block); err != nil {
				t.Fatal(err)
			}
			got = append(got, m)
			buf = buf[n:]
		}
	}
	if len(buf) != 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d messages, %d bytes left", len(got), len(buf))
	}
}

// TestReadFrameStream checks ReadFrame keeps the stream in step across a
// message-level error, and its end-of-stream behaviour.
func TestReadFrameStream(t *testing.T) {
	a := &sbe.OrderCheck{ReqID: 1, Account: 2, Instrument: 3, Side: sbe.SideSell, Qty: -4, Price: 5}
	b := &sbe.AccountQuery{ReqID: 9, Account: 8}
	bad := frame(14+16, 0xEB50, sbe.Header{BlockLength: 16, TemplateID: 77, SchemaID: 0xBA11, Version: 1}, make([]byte, 16))
	var s []byte
	s = a.AppendFrame(s)
	s = append(s, bad...)
	s = b.AppendFrame(s)
	r := bufio.NewReader(iotest.OneByteReader(bytes.NewReader(s)))
	buf := make([]byte, 128)
	f, err := sbe.ReadFrame(r, buf, 128)
	var oc sbe.OrderCheck
	if err != nil || oc.DecodeBlock(f.Block) != nil || oc != *a {
		t.Fatal(err, oc)
	}
	if f, err = sbe.ReadFrame(r, buf, 128); err != sbe.ErrUnknownTemplate || f.Header.TemplateID != 77 {
		t.Fatal(err, f.Header)
	}
	f, err = sbe.ReadFrame(r, buf, 128)
	var aq sbe.AccountQuery
	if err != nil || aq.Decode(buf[sbe.SOFHBytes:sbe.AccountQueryFrameBytes]) != nil || aq != *b {
		t.Fatal(err, aq)
	}
	if _, err = sbe.ReadFrame(r, buf, 128); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}
	// Ending inside the SOFH or inside the body is a short frame.
	fr := a.AppendFrame(nil)
	for _, cut := range []int{1, 5, 6, 13, len(fr) - 1} {
		if _, err := sbe.ReadFrame(bytes.NewReader(fr[:cut]), buf, 128); err != sbe.ErrShortFrame {
			t.Fatalf("cut at %d: %v", cut, err)
		}
	}
	// Read errors pass through.
	boom := errors.New("boom")
	if _, err := sbe.ReadFrame(iotest.ErrReader(boom), buf, 128); err != boom {
		t.Fatal(err)
	}
	// A buffer smaller than the maximum lowers the maximum.
	if _, err := sbe.ReadFrame(bytes.NewReader(fr), buf[:len(fr)-1], 128); err != sbe.ErrFrameTooLong {
		t.Fatal(err)
	}
	if _, err := sbe.ReadFrame(bytes.NewReader(fr), buf[:13], 128); err != sbe.ErrBufferTooSmall {
		t.Fatal(err)
	}
}

func TestDecodeErrors(t *testing.T) {
	v := &sbe.Verdict{ReqID: 7}
	msg := make([]byte, sbe.HeaderBytes+sbe.VerdictBlockLength)
	v.Encode(msg)
	var oc sbe.OrderCheck
	if err := oc.Decode(msg); err != sbe.ErrTemplateMismatch {
		t.Fatal(err)
	}
	if c, _ := sbe.CodeOf(sbe.ErrTemplateMismatch); c != sbe.ErrorCodeUnexpectedTemplate {
		t.Fatal(c)
	}
	var g sbe.Verdict
	if err := g.Decode(msg[:len(msg)-1]); err != sbe.ErrShortFrame {
		t.Fatal(err)
	}
	if err := g.Decode(append(msg, 0)); err != sbe.ErrBlockLength {
		t.Fatal(err)
	}
	if err := g.Decode(msg[:5]); err != sbe.ErrShortFrame {
		t.Fatal(err)
	}
	if err := g.DecodeBlock(msg[8 : len(msg)-1]); err != sbe.ErrShortFrame {
		t.Fatal(err)
	}
	if err := g.Decode(msg); err != nil || g != *v {
		t.Fatal(err, g)
	}
	// Messages are readable off a schema-valid header even on error.
	f, err := sbe.ParseMessage(append(msg, 1, 2))
	if err != sbe.ErrBlockLength || f.Header.TemplateID != sbe.VerdictTemplateID || len(f.Block) != sbe.VerdictBlockLength+2 {
		t.Fatal(err, f.Header, len(f.Block))
	}
}

func TestEncodeBufferTooSmall(t *testing.T) {
	for _, id := range sbe.TemplateIDs() {
		m := newMessage(id)
		bl := m.SBEBlockLength()
		if _, err := m.EncodeBlock(make([]byte, bl-1)); err != sbe.ErrBufferTooSmall {
			t.Fatal(id, err)
		}
		if _, err := m.Encode(make([]byte, sbe.HeaderBytes+bl-1)); err != sbe.ErrBufferTooSmall {
			t.Fatal(id, err)
		}
		if _, err := m.EncodeFrame(make([]byte, sbe.SOFHBytes+sbe.HeaderBytes+bl-1)); err != sbe.ErrBufferTooSmall {
			t.Fatal(id, err)
		}
		if sbe.SOFHBytes+sbe.HeaderBytes+bl > sbe.MessageFrameBytesMax {
			t.Fatalf("%d: frame larger than MessageFrameBytesMax", id)
		}
	}
}

func TestSOFH(t *testing.T) {
	b := make([]byte, 6)
	if err := sbe.PutSOFH(b, 0x01020304); err != nil {
		t.Fatal(err)
	}
	if want := []byte{1, 2, 3, 4, 0xEB, 0x50}; !bytes.Equal(b, want) {
		t.Fatalf("% x", b)
	}
	if n, err := sbe.ParseSOFH(b, 0x01020304); err != nil || n != 0x01020304 {
		t.Fatal(n, err)
	}
	if _, err := sbe.ParseSOFH(b, 0x01020303); err != sbe.ErrFrameTooLong {
		t.Fatal(err)
	}
	if _, err := sbe.ParseSOFH(b, -1); err != sbe.ErrFrameTooLong {
		t.Fatal(err)
	}
	if _, err := sbe.ParseSOFH(b[:5], 100); err != sbe.ErrShortFrame {
		t.Fatal(err)
	}
	if err := sbe.PutSOFH(b[:5], 20); err != sbe.ErrBufferTooSmall {
		t.Fatal(err)
	}
	if err := sbe.PutSOFH(b, 5); err != sbe.ErrFrameTooLong {
		t.Fatal(err)
	}
	if f, n, err := sbe.ParseFrame(b[:5], 100); n != 0 || err != nil || f.Block != nil {
		t.Fatal(n, err)
	}
}

// TestZeroAllocs asserts the hot paths allocate nothing.
func TestZeroAllocs(t *testing.T) {
	oc := sbe.OrderCheck{ReqID: 1, Account: 2, Instrument: 3, Side: sbe.SideBuy, Qty: 4, Price: 5}
	v := sbe.Verdict{ReqID: 1, Account: 2, Decision: sbe.DecisionReject, Reason: sbe.ReasonInsufficientMargin, Epoch: 9}
	ocFrame := oc.AppendFrame(nil)
	vFrame := v.AppendFrame(nil)
	badFrame := append([]byte(nil), ocFrame...)
	badFrame[10] = 0 // schema id
	buf := make([]byte, 0, 256)
	rd := bytes.NewReader(nil)
	rbuf := make([]byte, sbe.MessageFrameBytesMax)
	var sink int
	cases := map[string]func(){
		"OrderCheck.EncodeBlock": func() { n, _ := oc.EncodeBlock(buf[:cap(buf)]); sink += n },
		"OrderCheck.Encode":      func() { n, _ := oc.Encode(buf[:cap(buf)]); sink += n },
		"OrderCheck.AppendFrame": func() { sink += len(oc.AppendFrame(buf[:0])) },
		"OrderCheck.DecodeBlock": func() { var m sbe.OrderCheck; _ = m.DecodeBlock(ocFrame[14:]); sink += int(m.Qty) },
		"OrderCheck.Decode":      func() { var m sbe.OrderCheck; _ = m.Decode(ocFrame[6:]); sink += int(m.Qty) },
		"OrderCheck.ParseFrame": func() {
			f, n, _ := sbe.ParseFrame(ocFrame, 256)
			var m sbe.OrderCheck
			_ = m.DecodeBlock(f.Block)
			sink += n + int(m.Price)
		},
		"OrderCheck.ReadFrame": func() {
			rd.Reset(ocFrame)
			f, _ := sbe.ReadFrame(rd, rbuf, 256)
			sink += len(f.Block)
		},
		"Verdict.EncodeBlock": func() { n, _ := v.EncodeBlock(buf[:cap(buf)]); sink += n },
		"Verdict.EncodeFrame": func() { n, _ := v.EncodeFrame(buf[:cap(buf)]); sink += n },
		"Verdict.AppendFrame": func() { sink += len(v.AppendFrame(buf[:0])) },
		"Verdict.DecodeBlock": func() { var m sbe.Verdict; _ = m.DecodeBlock(vFrame[14:]); sink += int(m.Epoch) },
		"Verdict.ParseFrame":  func() { _, n, _ := sbe.ParseFrame(vFrame, 256); sink += n },
		"Malformed.ParseFrame": func() {
			_, _, err := sbe.ParseFrame(badFrame, 256)
			if err != nil {
				sink++
			}
		},
	}
	for name, fn := range cases {
		if a := testing.AllocsPerRun(200, fn); a != 0 {
			t.Errorf("%s: %v allocs/op", name, a)
		}
	}
	if sink == 0 {
		t.Fatal("nothing ran")
	}
}
