package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// On-disk layout constants (see the package documentation).
const (
	segMagic          = "BLJWAL01"
	snapMagic         = "BLJSNAP1"
	snapTrailerMagic  = 0x50414e53 // "SNAP"
	formatVersion     = 1
	segHeaderBytes    = 32
	recHeaderBytes    = 16
	snapHeaderBytes   = 24
	snapTrailerBytes  = 16
	segSuffix         = ".wal"
	snapSuffix        = ".snap"
	tmpSuffix         = ".tmp"
	lockName          = "LOCK"
	seqDigits         = 20
	groupBytesMaxHard = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segHeader is the decoded header of a segment file.
type segHeader struct {
	groupBytesMax uint32
	firstSeq      uint64
}

func encodeSegHeader(dst *[segHeaderBytes]byte, h segHeader) {
	*dst = [segHeaderBytes]byte{}
	copy(dst[0:8], segMagic)
	binary.LittleEndian.PutUint32(dst[8:12], formatVersion)
	binary.LittleEndian.PutUint32(dst[12:16], h.groupBytesMax)
	binary.LittleEndian.PutUint64(dst[16:24], h.firstSeq)
	binary.LittleEndian.PutUint32(dst[28:32], crc32.Checksum(dst[0:28], castagnoli))
}

var errBadSegHeader = errors.New("bad segment header")

func decodeSegHeader(b []byte) (segHeader, error) {
	if len(b) < segHeaderBytes {
		return segHeader{}, fmt.Errorf("%w: %d bytes", errBadSegHeader, len(b))
	}
	if string(b[0:8]) != segMagic {
		return segHeader{}, fmt.Errorf("%w: magic", errBadSegHeader)
	}
	if crc32.Checksum(b[0:28], castagnoli) != binary.LittleEndian.Uint32(b[28:32]) {
		return segHeader{}, fmt.Errorf("%w: crc", errBadSegHeader)
	}
	if v := binary.LittleEndian.Uint32(b[8:12]); v != formatVersion {
		return segHeader{}, fmt.Errorf("%w: version %d", errBadSegHeader, v)
	}
	h := segHeader{
		groupBytesMax: binary.LittleEndian.Uint32(b[12:16]),
		firstSeq:      binary.LittleEndian.Uint64(b[16:24]),
	}
	if h.groupBytesMax <= recHeaderBytes || h.groupBytesMax > groupBytesMaxHard || h.firstSeq == 0 {
		return segHeader{}, fmt.Errorf("%w: fields out of range", errBadSegHeader)
	}
	return h, nil
}

// recordCRC is the CRC-32C of a record's length and sequence number (taken
// from its 16-byte header h) and its payload.
func recordCRC(h, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, h[0:4])
	c = crc32.Update(c, castagnoli, h[8:16])
	return crc32.Update(c, castagnoli, payload)
}

// appendRecord appends the framed record to dst; it does not allocate when
// dst has room.
func appendRecord(dst []byte, seq uint64, rec []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(rec)))
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint64(dst, seq)
	dst = append(dst, rec...)
	h := dst[start : start+recHeaderBytes]
	binary.LittleEndian.PutUint32(h[4:8], recordCRC(h, dst[start+recHeaderBytes:]))
	return dst
}

// scanResult describes how far a segment's records are intact.
type scanResult struct {
	// end is the file offset just past the last intact record.
	end int64
	// lastSeq is the sequence number of the last intact record, or the
	// header's firstSeq-1 when there is none.
	lastSeq uint64
	// damage is empty when the records run cleanly to the end of the input,
	// otherwise why the record at end is not intact.
	damage string
}

// scanRecords reads records after a segment header from r (positioned just
// past the header), checking length, CRC and sequence, and calls fn for each
// intact one. limit, when >= 0, is how many bytes after the header to read.
// buf is reused for payloads and grown as needed (the grown buffer is
// returned). An error from fn is returned as is; damage is not an error but
// reported in the result.
func scanRecords(r *bufio.Reader, h segHeader, limit int64, buf []byte, fn func(seq uint64, rec []byte) error) (scanResult, []byte, error) {
	res := scanResult{end: segHeaderBytes, lastSeq: h.firstSeq - 1}
	lenMax := h.groupBytesMax - recHeaderBytes
	var hdr [recHeaderBytes]byte
	for {
		remaining := int64(-1)
		if limit >= 0 {
			remaining = limit - (res.end - segHeaderBytes)
			if remaining == 0 {
				return res, buf, nil
			}
		}
		n, err := io.ReadFull(r, hdr[:])
		if err == io.EOF {
			return res, buf, nil
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			return res, buf, err
		}
		if n < recHeaderBytes || (remaining >= 0 && remaining < recHeaderBytes) {
			res.damage = fmt.Sprintf("short record header (%d bytes)", n)
			return res, buf, nil
		}
		length := binary.LittleEndian.Uint32(hdr[0:4])
		sum := binary.LittleEndian.Uint32(hdr[4:8])
		seq := binary.LittleEndian.Uint64(hdr[8:16])
		if length == 0 || length > lenMax {
			res.damage = fmt.Sprintf("record length %d out of range (1..%d)", length, lenMax)
			return res, buf, nil
		}
		if remaining >= 0 && remaining < recHeaderBytes+int64(length) {
			res.damage = "record extends past the durable end"
			return res, buf, nil
		}
		if cap(buf) < int(length) {
			buf = make([]byte, length)
		}
		payload := buf[:length]
		n, err = io.ReadFull(r, payload)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return res, buf, err
		}
		if n < int(length) {
			res.damage = fmt.Sprintf("short record payload (%d of %d bytes)", n, length)
			return res, buf, nil
		}
		if recordCRC(hdr[:], payload) != sum {
			res.damage = "record CRC mismatch"
			return res, buf, nil
		}
		if seq != res.lastSeq+1 {
			res.damage = fmt.Sprintf("record sequence %d, want %d", seq, res.lastSeq+1)
			return res, buf, nil
		}
		if fn != nil {
			if err := fn(seq, payload); err != nil {
				return res, buf, err
			}
		}
		res.end += recHeaderBytes + int64(length)
		res.lastSeq = seq
	}
}

func segName(firstSeq uint64) string { return fmt.Sprintf("%0*d%s", seqDigits, firstSeq, segSuffix) }
func snapName(seq uint64) string     { return fmt.Sprintf("%0*d%s", seqDigits, seq, snapSuffix) }
func isDigits(s string) bool         { return len(s) == seqDigits && allDigits(s) }
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
