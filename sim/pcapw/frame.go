package pcapw

import (
	"encoding/binary"
	"net/netip"
)

// Frame layout constants.
const (
	ethHeaderBytes  = 14
	vlanTagBytes    = 4
	ipv4HeaderBytes = 20
	udpHeaderBytes  = 8

	etherTypeIPv4 = 0x0800
	etherTypeVLAN = 0x8100
	ipProtoUDP    = 17

	// frameBytesMin is the shortest Ethernet frame (without FCS); shorter
	// frames are padded with zeros, as on the wire.
	frameBytesMin = 60

	// PayloadBytesMax is the largest UDP payload one IPv4 datagram can carry
	// (65535 − 20 bytes of IPv4 header − 8 bytes of UDP header).
	PayloadBytesMax = 65535 - ipv4HeaderBytes - udpHeaderBytes
)

// FrameBuilder writes Ethernet II (optionally 802.1Q-tagged) / IPv4 / UDP
// frames around UDP payloads. It is the hot half of Writer, usable on its
// own to feed a decoder frames without a capture file. A FrameBuilder is not
// safe for concurrent use.
type FrameBuilder struct {
	hdr       [ethHeaderBytes + vlanTagBytes + ipv4HeaderBytes + udpHeaderBytes]byte
	hdrBytes  int // bytes of hdr in use (42 untagged, 46 tagged)
	ipOff     int // offset of the IPv4 header in hdr
	udpSum    bool
	ipID      uint16
	pseudoSum uint32 // partial UDP checksum over the fixed pseudo-header fields and ports
}

// NewFrameBuilder returns a builder for frames with cfg's addressing. cfg
// is validated as NewWriter validates it.
func NewFrameBuilder(cfg Config) (*FrameBuilder, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	fb := &FrameBuilder{udpSum: cfg.UDPChecksum, ipID: cfg.IPIDStart}
	h := fb.hdr[:]
	copy(h[0:6], cfg.DstMAC[:])
	copy(h[6:12], cfg.SrcMAC[:])
	off := 12
	if cfg.VLAN {
		binary.BigEndian.PutUint16(h[off:], etherTypeVLAN)
		binary.BigEndian.PutUint16(h[off+2:], uint16(cfg.VLANPriority)<<13|cfg.VLANID&0x0fff)
		off += vlanTagBytes
	}
	binary.BigEndian.PutUint16(h[off:], etherTypeIPv4)
	off += 2
	fb.ipOff = off
	ip := h[off : off+ipv4HeaderBytes]
	ip[0] = 0x45 // version 4, IHL 5 words
	ip[1] = cfg.TOS
	// ip[2:4] total length, ip[4:6] identification: per frame
	if cfg.DontFragment {
		ip[6] = 0x40
	}
	ip[8] = cfg.TTL
	ip[9] = ipProtoUDP
	// ip[10:12] header checksum: per frame
	src, dst := cfg.SrcIP.As4(), cfg.DstIP.As4()
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	udp := h[off+ipv4HeaderBytes : off+ipv4HeaderBytes+udpHeaderBytes]
	binary.BigEndian.PutUint16(udp[0:], cfg.SrcPort)
	binary.BigEndian.PutUint16(udp[2:], cfg.DstPort)
	fb.hdrBytes = off + ipv4HeaderBytes + udpHeaderBytes

	// Pseudo-header: src, dst, zero+protocol; plus the ports. The two length
	// fields (pseudo-header and UDP header) are added per frame.
	fb.pseudoSum = sumBytes(0, src[:]) + sumBytes(0, dst[:]) + ipProtoUDP +
		uint32(cfg.SrcPort) + uint32(cfg.DstPort)
	return fb, nil
}

// HeaderBytes is the number of bytes AppendFrame puts before the payload.
func (fb *FrameBuilder) HeaderBytes() int { return fb.hdrBytes }

// AppendFrame appends one frame carrying payload to dst and returns the
// extended slice. Each call takes the next IPv4 identification number. It
// frame is padded with zeros to the 60-byte Ethernet minimum; the IPv4 and
// UDP lengths exclude the padding. It returns ErrPayloadTooLarge, leaving dst unchanged, when payload does not
// fit one unfragmented IPv4 datagram.
func (fb *FrameBuilder) AppendFrame(dst, payload []byte) ([]byte, error) {
	if len(payload) > PayloadBytesMax {
		return dst, ErrPayloadTooLarge
	}
	start := len(dst)
	dst = append(dst, fb.hdr[:fb.hdrBytes]...)
	dst = append(dst, payload...)
	for len(dst)-start < frameBytesMin {
		dst = append(dst, 0)
	}
	h := dst[start : start+fb.hdrBytes]
	ip := h[fb.ipOff : fb.ipOff+ipv4HeaderBytes]
	udpLen := uint16(udpHeaderBytes + len(payload))
	binary.BigEndian.PutUint16(ip[2:], udpLen+ipv4HeaderBytes)
	binary.BigEndian.PutUint16(ip[4:], fb.ipID)
	fb.ipID++
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], fold(sumBytes(0, ip)))
	udp := h[fb.ipOff+ipv4HeaderBytes:]
	binary.BigEndian.PutUint16(udp[4:], udpLen)
	var ck uint16
	if fb.udpSum {
		// Pseudo-header length and UDP length are the same value.
		s := fb.pseudoSum + 2*uint32(udpLen)
		ck = fold(sumBytes(s, payload))
		if ck == 0 {
			ck = 0xffff // RFC 768: a computed zero is sent as all ones
		}
	}
	binary.BigEndian.PutUint16(udp[6:], ck)
	return dst, nil
}

// sumBytes adds b as big-endian 16-bit words (an odd trailing byte padded
// with zero) to the running one's-complement sum s, not yet folded.
func sumBytes(s uint32, b []byte) uint32 {
	// Sum 32-bit big-endian words into a 64-bit accumulator: each word is two
	// 16-bit halves, so folding the 64-bit sum gives the same result.
	acc := uint64(s)
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	for acc>>32 != 0 {
		acc = acc&0xffffffff + acc>>32
	}
	return uint32(acc)
}

// fold reduces a one's-complement sum to 16 bits and complements it.
func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// MulticastMAC returns the Ethernet group address an IPv4 multicast address
// maps to (01:00:5e and the address's low 23 bits, RFC 1112).
func MulticastMAC(ip netip.Addr) [6]byte {
	a := ip.As4()
	return [6]byte{0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]}
}
