package journal

import (
	"bufio"
	"bytes"
	"os"
	"testing"
)

// fuzzHeader is the segment header the record fuzzer scans under.
var fuzzHeader = segHeader{groupBytesMax: 256, firstSeq: 1}

func fuzzRecords(seqs ...uint64) []byte {
	var b []byte
	for _, s := range seqs {
		b = appendRecord(b, s, payload(s))
	}
	return b
}

// FuzzScanRecords feeds arbitrary bytes to the record decoder: it must never
// panic, must stop at the first damaged record, and every record it accepts
// must re-encode to exactly the bytes it was read from.
func FuzzScanRecords(f *testing.F) {
	f.Add([]byte{})
	f.Add(fuzzRecords(1, 2, 3))
	f.Add(fuzzRecords(1, 3))
	f.Add(fuzzRecords(1, 2)[:30])
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		var re []byte
		next := fuzzHeader.firstSeq
		res, _, err := scanRecords(bufio.NewReader(bytes.NewReader(data)), fuzzHeader, -1, nil, func(seq uint64, rec []byte) error {
			if seq != next || len(rec) == 0 || len(rec) > int(fuzzHeader.groupBytesMax-recHeaderBytes) {
				t.Fatalf("accepted seq %d (want %d), %d bytes", seq, next, len(rec))
			}
			next++
			re = appendRecord(re, seq, rec)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		body := res.end - segHeaderBytes
		if body < 0 || body > int64(len(data)) || res.lastSeq != next-1 {
			t.Fatalf("result %+v for %d bytes", res, len(data))
		}
		if !bytes.Equal(re, data[:body]) {
			t.Fatal("accepted records do not re-encode to their input")
		}
		if (res.damage == "") != (body == int64(len(data))) {
			t.Fatalf("damage %q but %d of %d bytes consumed", res.damage, body, len(data))
		}
	})
}

// FuzzDecodeSegHeader checks the segment header decoder against its encoder.
func FuzzDecodeSegHeader(f *testing.F) {
	var good [segHeaderBytes]byte
	encodeSegHeader(&good, segHeader{groupBytesMax: 1 << 20, firstSeq: 42})
	f.Add(good[:])
	f.Add(good[:20])
	f.Add(make([]byte, segHeaderBytes))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := decodeSegHeader(data)
		if err != nil {
			return
		}
		var b [segHeaderBytes]byte
		encodeSegHeader(&b, h)
		if !bytes.Equal(b[:], data[:segHeaderBytes]) {
			t.Fatalf("header %+v does not re-encode to its input", h)
		}
	})
}

// FuzzDecodeSnapshot checks that the snapshot decoder never panics and only
// accepts images whose trailer matches their data.
func FuzzDecodeSnapshot(f *testing.F) {
	dir := f.TempDir()
	for i, data := range [][]byte{nil, []byte("state"), bytes.Repeat([]byte{7}, 300)} {
		p := dir + "/" + snapName(uint64(i))
		if err := writeSnapshotFile(p, uint64(i), bytes.NewReader(data), 1<<20); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(make([]byte, snapHeaderBytes+snapTrailerBytes))
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := decodeSnapshot("fuzz", b)
		if err != nil {
			return
		}
		if len(data) != len(b)-snapHeaderBytes-snapTrailerBytes || !bytes.Equal(data, b[snapHeaderBytes:len(b)-snapTrailerBytes]) {
			t.Fatalf("decoded %d bytes from a %d-byte image", len(data), len(b))
		}
	})
}
