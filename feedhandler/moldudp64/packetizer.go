package moldudp64

import (
	"errors"
	"fmt"
)

// Packetizer defaults and bounds.
const (
	// PayloadBytesDefault is the default packet size: fits a 1500-byte
	// Ethernet MTU with room for IP/UDP headers and VLAN tags.
	PayloadBytesDefault = 1400
	// PayloadBytesMin is the smallest allowed packet size: a header and one
	// empty message block.
	PayloadBytesMin = HeaderLen + BlockHeaderLen
)

// ErrMessageTooLarge reports a message that cannot fit a packet of the
// configured size.
var ErrMessageTooLarge = errors.New("moldudp64: message larger than packet payload")

// EmitFunc receives each finished downstream packet. pkt aliases the
// Packetizer's buffer and is valid only during the call. An error aborts the
// Append or Flush that triggered it and is returned to its caller; the
// packet's messages are then discarded (their sequence numbers stay used).
type EmitFunc func(pkt []byte, h Header) error

// PacketizerConfig configures a Packetizer.
type PacketizerConfig struct {
	// Session is stamped on every packet.
	Session Session
	// NextSeq is the sequence number of the first message; 0 means 1.
	NextSeq uint64
	// PayloadBytesMax bounds the packet size in bytes (header included);
	// 0 means PayloadBytesDefault. Range PayloadBytesMin..PacketBytesMax.
	PayloadBytesMax int
	// MessagesPerPacketMax bounds the messages per packet; 0 means
	// MessageCountMax. Range 1..MessageCountMax.
	MessagesPerPacketMax int
}

// Packetizer batches messages into downstream packets of bounded size and
// hands each packet to an EmitFunc with the right sequence number and count.
// It is used by the simulator's sender and the re-request server. It does
// not allocate after construction. Not safe for concurrent use.
type Packetizer struct {
	buf      []byte
	session  Session
	first    uint64 // sequence number of the first message in buf
	count    int
	bytesMax int
	msgsMax  int
	emit     EmitFunc
}

// NewPacketizer returns a Packetizer that emits through emit.
func NewPacketizer(cfg PacketizerConfig, emit EmitFunc) (*Packetizer, error) {
	if emit == nil {
		return nil, errors.New("moldudp64: nil EmitFunc")
	}
	if cfg.NextSeq == 0 {
		cfg.NextSeq = 1
	}
	if cfg.PayloadBytesMax == 0 {
		cfg.PayloadBytesMax = PayloadBytesDefault
	}
	if cfg.PayloadBytesMax < PayloadBytesMin || cfg.PayloadBytesMax > PacketBytesMax {
		return nil, fmt.Errorf("moldudp64: PayloadBytesMax %d outside %d..%d",
			cfg.PayloadBytesMax, PayloadBytesMin, PacketBytesMax)
	}
	if cfg.MessagesPerPacketMax == 0 {
		cfg.MessagesPerPacketMax = MessageCountMax
	}
	if cfg.MessagesPerPacketMax < 1 || cfg.MessagesPerPacketMax > MessageCountMax {
		return nil, fmt.Errorf("moldudp64: MessagesPerPacketMax %d outside 1..%d",
			cfg.MessagesPerPacketMax, MessageCountMax)
	}
	p := &Packetizer{
		buf:      make([]byte, HeaderLen, cfg.PayloadBytesMax),
		session:  cfg.Session,
		first:    cfg.NextSeq,
		bytesMax: cfg.PayloadBytesMax,
		msgsMax:  cfg.MessagesPerPacketMax,
		emit:     emit,
	}
	return p, nil
}

// Append adds msg to the current packet and returns its sequence number.
// When msg does not fit, the current packet is emitted first; when the
// packet reaches MessagesPerPacketMax it is emitted at once.
func (p *Packetizer) Append(msg []byte) (uint64, error) {
	need := BlockHeaderLen + len(msg)
	if HeaderLen+need > p.bytesMax {
		return 0, ErrMessageTooLarge
	}
	if len(p.buf)+need > p.bytesMax {
		if err := p.Flush(); err != nil {
			return 0, err
		}
	}
	seq := p.first + uint64(p.count)
	p.buf = AppendBlock(p.buf, msg)
	p.count++
	if p.count == p.msgsMax {
		return seq, p.Flush()
	}
	return seq, nil
}

// Flush emits the current packet if it holds any message.
func (p *Packetizer) Flush() error {
	if p.count == 0 {
		return nil
	}
	h := Header{Session: p.session, Seq: p.first, Count: uint16(p.count)}
	AppendHeader(p.buf[:0], h)
	pkt := p.buf
	p.first += uint64(p.count)
	p.count = 0
	p.buf = p.buf[:HeaderLen]
	return p.emit(pkt, h)
}

// Reset drops any unflushed messages and numbers the next message next.
func (p *Packetizer) Reset(next uint64) {
	p.first = next
	p.count = 0
	p.buf = p.buf[:HeaderLen]
}

// NextSeq returns the sequence number the next appended message gets.
func (p *Packetizer) NextSeq() uint64 { return p.first + uint64(p.count) }

// Pending returns the number of messages appended but not yet emitted.
func (p *Packetizer) Pending() int { return p.count }

// Session returns the session stamped on the packets.
func (p *Packetizer) Session() Session { return p.session }

// AppendHeartbeat appends a heartbeat announcing the next sequence number.
// Flush first so that it does not announce messages still pending.
func (p *Packetizer) AppendHeartbeat(dst []byte) []byte {
	return AppendHeartbeat(dst, p.session, p.NextSeq())
}

// AppendEndOfSession appends an end-of-session packet announcing the next
// sequence number. Flush first.
func (p *Packetizer) AppendEndOfSession(dst []byte) []byte {
	return AppendEndOfSession(dst, p.session, p.NextSeq())
}
