// Package moldudp64 implements Nasdaq's MoldUDP64 v1.00 transport: a
// zero-allocation codec for downstream and request packets, a Packetizer
// that batches messages into downstream packets, the receiver-side Sequencer
// (session tracking, duplicate suppression, gap detection, bounded
// out-of-order buffering and retransmission requests), and a UDP Requester.
//
// Wire format (all integers big-endian):
//
//	downstream packet: Session [10]byte, SequenceNumber u64, MessageCount u16,
//	                   then MessageCount blocks of (Length u16, Message [Length]byte)
//	request packet:    Session [10]byte, SequenceNumber u64, RequestedMessageCount u16
//
// SequenceNumber is the sequence number of the first message in the packet;
// messages are numbered from 1 within a session. A packet with MessageCount 0
// is a heartbeat and carries the next expected sequence number; MessageCount
// 0xFFFF marks the end of the session and also carries the next expected
// sequence number.
package moldudp64

import (
	"encoding/binary"
	"errors"
	"math"
)

// Wire sizes and bounds.
const (
	// SessionLen is the length of the session field in bytes.
	SessionLen = 10
	// HeaderLen is the length of the downstream packet header in bytes.
	HeaderLen = SessionLen + 8 + 2
	// BlockHeaderLen is the length of a message block's length prefix.
	BlockHeaderLen = 2
	// RequestLen is the length of a request packet in bytes.
	RequestLen = SessionLen + 8 + 2
	// EndOfSession is the MessageCount value of an end-of-session packet.
	EndOfSession = 0xFFFF
	// MessageCountMax is the largest MessageCount of a data packet
	// (0xFFFF is reserved for end of session).
	MessageCountMax = EndOfSession - 1
	// PacketBytesMax is the largest UDP payload over IPv4 (65535 - 20 - 8),
	// hence the largest MoldUDP64 packet.
	PacketBytesMax = 65507
	// MessageBytesMax is the largest message that fits one packet.
	MessageBytesMax = PacketBytesMax - HeaderLen - BlockHeaderLen
)

// Sentinel errors. Every decoding error is one of these; callers count the
// packet as malformed and carry on.
var (
	// ErrShort reports a packet shorter than its fixed header.
	ErrShort = errors.New("moldudp64: packet shorter than header")
	// ErrTooLong reports a packet longer than PacketBytesMax.
	ErrTooLong = errors.New("moldudp64: packet longer than PacketBytesMax")
	// ErrTruncated reports a message block (or its length prefix) that runs
	// past the end of the packet.
	ErrTruncated = errors.New("moldudp64: message block runs past end of packet")
	// ErrTrailing reports bytes left after the last announced message block,
	// or a heartbeat / end-of-session packet that carries a payload.
	ErrTrailing = errors.New("moldudp64: bytes after last message block")
	// ErrSeqZero reports a sequence number of 0; sessions number messages
	// from 1.
	ErrSeqZero = errors.New("moldudp64: sequence number 0")
	// ErrSeqOverflow reports a packet whose last sequence number does not fit
	// in 64 bits.
	ErrSeqOverflow = errors.New("moldudp64: sequence number overflow")
	// ErrRequestLen reports a request packet whose length is not RequestLen.
	ErrRequestLen = errors.New("moldudp64: request packet length is not 20")
	// ErrRequestCount reports a request for 0 messages or for the
	// end-of-session count.
	ErrRequestCount = errors.New("moldudp64: bad requested message count")
)

// Session is the 10-byte ASCII session identifier, space padded.
type Session [SessionLen]byte

// MakeSession returns the session for s, space padded (or cut) to 10 bytes.
func MakeSession(s string) Session {
	var out Session
	n := copy(out[:], s)
	for i := n; i < SessionLen; i++ {
		out[i] = ' '
	}
	return out
}

// String returns the session with trailing spaces and NULs trimmed.
func (s Session) String() string {
	n := SessionLen
	for n > 0 && (s[n-1] == ' ' || s[n-1] == 0) {
		n--
	}
	return string(s[:n])
}

// Header is a downstream packet header.
type Header struct {
	// Session identifies the session the packet belongs to.
	Session Session
	// Seq is the sequence number of the first message, or for heartbeats
	// and end of session the next expected sequence number.
	Seq uint64
	// Count is the number of message blocks, 0 for a heartbeat, or
	// EndOfSession.
	Count uint16
}

// IsHeartbeat reports whether the header is a heartbeat (no messages).
func (h Header) IsHeartbeat() bool { return h.Count == 0 }

// IsEndOfSession reports whether the header marks the end of the session.
func (h Header) IsEndOfSession() bool { return h.Count == EndOfSession }

// Messages returns the number of messages the packet carries: 0 for
// heartbeats and end of session.
func (h Header) Messages() int {
	if h.Count == EndOfSession {
		return 0
	}
	return int(h.Count)
}

// Next returns the sequence number that follows the packet: Seq+Count for
// data packets, Seq for heartbeats and end of session.
func (h Header) Next() uint64 { return h.Seq + uint64(h.Messages()) }

// ParseHeader decodes the downstream header at the start of b. It checks
// only the length; Validate checks the whole packet.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderLen {
		return h, ErrShort
	}
	copy(h.Session[:], b[:SessionLen])
	h.Seq = binary.BigEndian.Uint64(b[SessionLen:])
	h.Count = binary.BigEndian.Uint16(b[SessionLen+8:])
	return h, nil
}

// AppendHeader appends the encoded header to dst.
func AppendHeader(dst []byte, h Header) []byte {
	dst = append(dst, h.Session[:]...)
	dst = binary.BigEndian.AppendUint64(dst, h.Seq)
	return binary.BigEndian.AppendUint16(dst, h.Count)
}

// AppendBlock appends one message block (length prefix and message) to dst.
// The caller keeps len(msg) <= MessageBytesMax.
func AppendBlock(dst, msg []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(msg)))
	return append(dst, msg...)
}

// AppendHeartbeat appends a heartbeat packet announcing next as the next
// expected sequence number.
func AppendHeartbeat(dst []byte, s Session, next uint64) []byte {
	return AppendHeader(dst, Header{Session: s, Seq: next})
}

// AppendEndOfSession appends an end-of-session packet announcing next as the
// next expected sequence number.
func AppendEndOfSession(dst []byte, s Session, next uint64) []byte {
	return AppendHeader(dst, Header{Session: s, Seq: next, Count: EndOfSession})
}

// Validate decodes the header of pkt and checks every message block: each
// block lies inside the packet, no bytes follow the last block, heartbeats
// and end-of-session packets carry nothing after the header, sequence
// numbers are non-zero and Next does not overflow. A packet that passes can be
// walked with an Iterator without further checks.
func Validate(pkt []byte) (Header, error) {
	h, err := ParseHeader(pkt)
	if err != nil {
		return h, err
	}
	if len(pkt) > PacketBytesMax {
		return h, ErrTooLong
	}
	if h.Seq == 0 {
		return h, ErrSeqZero
	}
	n := h.Messages()
	if h.Seq > math.MaxUint64-uint64(n) {
		return h, ErrSeqOverflow
	}
	off := HeaderLen
	for i := 0; i < n; i++ {
		if len(pkt)-off < BlockHeaderLen {
			return h, ErrTruncated
		}
		l := int(binary.BigEndian.Uint16(pkt[off:]))
		off += BlockHeaderLen
		if len(pkt)-off < l {
			return h, ErrTruncated
		}
		off += l
	}
	if off != len(pkt) {
		return h, ErrTrailing
	}
	return h, nil
}

// Iterator walks the message blocks of a packet. The zero value is empty;
// Reset validates a packet and positions the iterator on its first message.
//
//	var it moldudp64.Iterator
//	h, err := it.Reset(pkt)
//	for seq, msg, ok := it.Next(); ok; seq, msg, ok = it.Next() { ... }
type Iterator struct {
	pkt  []byte
	off  int
	left int
	seq  uint64
}

// Reset validates pkt (see Validate) and positions the iterator on its first
// message. On error the iterator is empty.
func (it *Iterator) Reset(pkt []byte) (Header, error) {
	h, err := Validate(pkt)
	if err != nil {
		*it = Iterator{}
		return h, err
	}
	it.resetValid(pkt, h)
	return h, nil
}

// resetValid positions the iterator on a packet that passed Validate.
func (it *Iterator) resetValid(pkt []byte, h Header) {
	it.pkt = pkt
	it.off = HeaderLen
	it.left = h.Messages()
	it.seq = h.Seq
}

// Next returns the next message and its sequence number; ok is false after
// the last one. msg aliases the packet.
func (it *Iterator) Next() (seq uint64, msg []byte, ok bool) {
	if it.left == 0 {
		return 0, nil, false
	}
	l := int(binary.BigEndian.Uint16(it.pkt[it.off:]))
	start := it.off + BlockHeaderLen
	it.off = start + l
	it.left--
	seq = it.seq
	it.seq++
	return seq, it.pkt[start:it.off:it.off], true
}

// Skip advances past n messages without returning them; it stops at the
// last message.
func (it *Iterator) Skip(n int) {
	for ; n > 0 && it.left > 0; n-- {
		l := int(binary.BigEndian.Uint16(it.pkt[it.off:]))
		it.off += BlockHeaderLen + l
		it.left--
		it.seq++
	}
}

// Remaining returns the number of messages not yet returned.
func (it *Iterator) Remaining() int { return it.left }

// Request is a retransmission request.
type Request struct {
	// Session is the session the messages belong to.
	Session Session
	// Seq is the first requested sequence number.
	Seq uint64
	// Count is the number of requested messages, 1..MessageCountMax.
	Count uint16
}

// AppendRequest appends the encoded request packet to dst.
func AppendRequest(dst []byte, r Request) []byte {
	dst = append(dst, r.Session[:]...)
	dst = binary.BigEndian.AppendUint64(dst, r.Seq)
	return binary.BigEndian.AppendUint16(dst, r.Count)
}

// ParseRequest decodes a request packet. The packet must be exactly
// RequestLen bytes, ask for 1..MessageCountMax messages from a non-zero
// sequence number, and not overflow the sequence space.
func ParseRequest(b []byte) (Request, error) {
	var r Request
	if len(b) != RequestLen {
		if len(b) < RequestLen {
			return r, ErrShort
		}
		return r, ErrRequestLen
	}
	copy(r.Session[:], b[:SessionLen])
	r.Seq = binary.BigEndian.Uint64(b[SessionLen:])
	r.Count = binary.BigEndian.Uint16(b[SessionLen+8:])
	if r.Count == 0 || r.Count == EndOfSession {
		return r, ErrRequestCount
	}
	if r.Seq == 0 {
		return r, ErrSeqZero
	}
	if r.Seq+uint64(r.Count-1) < r.Seq {
		return r, ErrSeqOverflow
	}
	return r, nil
}
