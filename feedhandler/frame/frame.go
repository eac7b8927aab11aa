// Package frame decodes captured link-layer frames down to their IPv4/UDP
// payload without allocating. It serves the pcap replay and raw-socket
// sources (AF_PACKET, AF_XDP), which see whole frames where a UDP socket sees
// only payloads.
//
// Two decoders give the same results: DecodeUDP, a hand-written fast path,
// and LayerDecoder, built on gopacket's DecodingLayerParser. The fast path is
// the one to use; LayerDecoder is the reference it is tested and benchmarked
// against.
//
// Supported: Ethernet with up to two 802.1Q / 802.1ad VLAN tags, Linux
// cooked capture v1 (SLL) and v2 (SLL2), and raw IP. IPv4 options are
// validated and skipped. Lengths come from the IPv4 total length and the UDP
// length, never the frame length, so Ethernet padding is trimmed. Checksums
// are not verified: captures taken on a sending host carry checksums that
// the NIC fills in later, and live receive paths are checked by the NIC or
// kernel.
package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// LinkType is a frame's link-layer encapsulation.
type LinkType int

// Supported link types.
const (
	// Ethernet is DLT_EN10MB (pcap link type 1).
	Ethernet LinkType = iota + 1
	// LinuxSLL is Linux cooked capture v1 (pcap link type 113).
	LinuxSLL
	// LinuxSLL2 is Linux cooked capture v2 (pcap link type 276).
	LinuxSLL2
	// RawIP is raw IP without a link header (pcap link types 101 and 228,
	// and DLT_RAW 12 / 14); the version nibble tells IPv4 from IPv6.
	RawIP
)

// pcap link-type numbers (tcpdump.org/linktypes.html).
const (
	pcapEthernet  = 1
	pcapRawBSD    = 12
	pcapRawOpen   = 14
	pcapRaw       = 101
	pcapLinuxSLL  = 113
	pcapIPv4      = 228
	pcapLinuxSLL2 = 276
)

// Errors. A frame the caller should skip (other traffic) is ErrNotUDP; a
// broken one is ErrMalformed or ErrTruncated (errors.Is(ErrTruncated,
// ErrMalformed) holds); an IPv4 fragment of a UDP datagram is ErrFragment.
var (
	// ErrLinkType reports a link type this package does not decode.
	ErrLinkType = errors.New("frame: unsupported link type")
	// ErrNotUDP reports a well-formed frame that is not IPv4/UDP (ARP, IPv6,
	// TCP, ICMP, LLC, more than two VLAN tags, tunnels...).
	ErrNotUDP = errors.New("frame: not IPv4/UDP")
	// ErrFragment reports an IPv4 fragment (more-fragments flag or a
	// non-zero offset) of a UDP datagram. Fragments are not reassembled.
	ErrFragment = errors.New("frame: IPv4 fragment")
	// ErrMalformed reports inconsistent header fields.
	ErrMalformed = errors.New("frame: malformed")
	// ErrTruncated reports a frame that ends before its headers or before
	// the length its IPv4 header announces (a short capture snap length or a
	// broken frame). It wraps ErrMalformed.
	ErrTruncated = fmt.Errorf("%w: truncated", ErrMalformed)
)

// UDP is a decoded IPv4/UDP datagram.
type UDP struct {
	// SrcIP and DstIP are IPv4 addresses, a.b.c.d = a<<24|b<<16|c<<8|d.
	SrcIP, DstIP uint32
	// SrcPort and DstPort are the UDP ports.
	SrcPort, DstPort uint16
	// Payload is the UDP payload, trimmed to the UDP length. It aliases the
	// frame.
	Payload []byte
}

// String returns the link type's name.
func (l LinkType) String() string {
	switch l {
	case Ethernet:
		return "Ethernet"
	case LinuxSLL:
		return "LinuxSLL"
	case LinuxSLL2:
		return "LinuxSLL2"
	case RawIP:
		return "RawIP"
	}
	return fmt.Sprintf("LinkType(%d)", int(l))
}

// LinkTypeFromPcap maps a pcap / pcapng link-type number to a LinkType.
func LinkTypeFromPcap(linkType uint32) (LinkType, error) {
	switch linkType {
	case pcapEthernet:
		return Ethernet, nil
	case pcapLinuxSLL:
		return LinuxSLL, nil
	case pcapLinuxSLL2:
		return LinuxSLL2, nil
	case pcapRaw, pcapIPv4, pcapRawBSD, pcapRawOpen:
		return RawIP, nil
	}
	return 0, fmt.Errorf("%w: pcap link type %d", ErrLinkType, linkType)
}

// Header sizes and field values.
const (
	ethernetLen   = 14
	vlanLen       = 4
	sllLen        = 16
	sll2Len       = 20
	sllAddrMax    = 8
	ipv4Len       = 20
	udpLen        = 8
	etherIPv4     = 0x0800
	etherVLAN     = 0x8100
	etherQinQ     = 0x88A8
	protoUDP      = 17
	vlanTagsMax   = 2
	ipv4Version   = 4
	ipv6Version   = 6
	ipFragMask    = 0x3FFF // more-fragments flag and fragment offset
	ipOptEnd      = 0
	ipOptNop      = 1
	ipOptLenMin   = 3 // type, length and at least one data byte
	ipOptHeadSize = 2
)

// DecodeUDP decodes frame, captured with link type link, into out. It
// returns ErrNotUDP for other traffic, ErrFragment for IPv4 fragments,
// ErrMalformed or ErrTruncated for broken frames, ErrLinkType for an
// unknown link. out.Payload aliases frame. It does not allocate.
func DecodeUDP(link LinkType, frame []byte, out *UDP) error {
	var etype uint16
	var off int
	switch link {
	case Ethernet:
		if len(frame) < ethernetLen {
			return ErrTruncated
		}
		etype = binary.BigEndian.Uint16(frame[12:])
		off = ethernetLen
	case LinuxSLL:
		if len(frame) < sllLen {
			return ErrTruncated
		}
		if binary.BigEndian.Uint16(frame[4:]) > sllAddrMax {
			return ErrMalformed
		}
		etype = binary.BigEndian.Uint16(frame[14:])
		off = sllLen
	case LinuxSLL2:
		if len(frame) < sll2Len {
			return ErrTruncated
		}
		if frame[11] > sllAddrMax {
			return ErrMalformed
		}
		etype = binary.BigEndian.Uint16(frame)
		off = sll2Len
	case RawIP:
		if err := rawVersion(frame); err != nil {
			return err
		}
		return decodeIPv4(frame, out)
	default:
		return ErrLinkType
	}
	for tags := 0; etype == etherVLAN || etype == etherQinQ; {
		if len(frame) < off+vlanLen {
			return ErrTruncated
		}
		etype = binary.BigEndian.Uint16(frame[off+2:])
		off += vlanLen
		if tags++; tags > vlanTagsMax {
			return ErrNotUDP
		}
	}
	if etype != etherIPv4 {
		return ErrNotUDP
	}
	return decodeIPv4(frame[off:], out)
}

// rawVersion checks the IP version of a raw IP frame: IPv6 is ErrNotUDP,
// anything but IPv4 malformed.
func rawVersion(frame []byte) error {
	if len(frame) == 0 {
		return ErrTruncated
	}
	switch frame[0] >> 4 {
	case ipv4Version:
		return nil
	case ipv6Version:
		return ErrNotUDP
	}
	return ErrMalformed
}

// decodeIPv4 decodes an IPv4 packet carrying UDP.
func decodeIPv4(p []byte, out *UDP) error {
	if len(p) < ipv4Len {
		return ErrTruncated
	}
	if p[0]>>4 != ipv4Version {
		return ErrMalformed
	}
	ihl := int(p[0]&0x0F) * 4
	total := int(binary.BigEndian.Uint16(p[2:]))
	if ihl < ipv4Len || total < ihl {
		return ErrMalformed
	}
	if len(p) < ihl || len(p) < total {
		return ErrTruncated
	}
	if ihl > ipv4Len && !optionsValid(p[ipv4Len:ihl]) {
		return ErrMalformed
	}
	if p[9] != protoUDP {
		return ErrNotUDP
	}
	if binary.BigEndian.Uint16(p[6:])&ipFragMask != 0 {
		return ErrFragment
	}
	u := p[ihl:total]
	if len(u) < udpLen {
		return ErrMalformed
	}
	ulen := int(binary.BigEndian.Uint16(u[4:]))
	if ulen < udpLen || ulen > len(u) {
		return ErrMalformed
	}
	out.SrcIP = binary.BigEndian.Uint32(p[12:])
	out.DstIP = binary.BigEndian.Uint32(p[16:])
	out.SrcPort = binary.BigEndian.Uint16(u)
	out.DstPort = binary.BigEndian.Uint16(u[2:])
	out.Payload = u[udpLen:ulen:ulen]
	return nil
}

// optionsValid walks the IPv4 options: end-of-list stops (the rest is
// padding), no-op is one byte, every other option carries a length of at
// least 3 that stays inside the header.
func optionsValid(opts []byte) bool {
	for len(opts) > 0 {
		switch opts[0] {
		case ipOptEnd:
			return true
		case ipOptNop:
			opts = opts[1:]
		default:
			if len(opts) < ipOptHeadSize {
				return false
			}
			n := int(opts[1])
			if n < ipOptLenMin || n > len(opts) {
				return false
			}
			opts = opts[n:]
		}
	}
	return true
}
