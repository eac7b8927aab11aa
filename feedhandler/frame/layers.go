package frame

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The gopacket layers are wrapped so that NextLayerType follows only the
// graph this package decodes (link → VLAN tags → IPv4 → UDP). Left alone,
// gopacket would walk into tunnels (EtherType 0x6558 → Ethernet, IP protocol
// 4 → IPv4), overwriting the outer layer it reuses, and into application
// layers by UDP port. LayerTypeZero stops DecodingLayerParser cleanly.

// nextFromEtherType maps an EtherType to the next layer to decode.
func nextFromEtherType(t layers.EthernetType) gopacket.LayerType {
	switch t {
	case etherIPv4:
		return layers.LayerTypeIPv4
	case etherVLAN, etherQinQ:
		return layers.LayerTypeDot1Q
	}
	return gopacket.LayerTypeZero
}

type ethernetLayer struct{ layers.Ethernet }

// NextLayerType follows IPv4 and VLAN tags only.
func (l *ethernetLayer) NextLayerType() gopacket.LayerType {
	return nextFromEtherType(l.EthernetType)
}

type sllLayer struct{ layers.LinuxSLL }

// NextLayerType follows IPv4 and VLAN tags only.
func (l *sllLayer) NextLayerType() gopacket.LayerType {
	return nextFromEtherType(l.EthernetType)
}

// dot1qLayer counts the tags it decoded and stops after one more than
// allowed, so a frame of many tags cannot make the parser loop or grow its
// decoded list.
type dot1qLayer struct {
	layers.Dot1Q
	tags int
}

// DecodeFromBytes decodes one tag and counts it.
func (l *dot1qLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.Dot1Q.DecodeFromBytes(data, df); err != nil {
		return err
	}
	l.tags++
	return nil
}

// NextLayerType follows IPv4 and further tags, up to one tag too many.
func (l *dot1qLayer) NextLayerType() gopacket.LayerType {
	if l.tags > vlanTagsMax {
		return gopacket.LayerTypeZero
	}
	return nextFromEtherType(l.Type)
}

type ipv4Layer struct{ layers.IPv4 }

// NextLayerType follows UDP of unfragmented packets only.
func (l *ipv4Layer) NextLayerType() gopacket.LayerType {
	if l.Protocol == layers.IPProtocolUDP && l.Flags&layers.IPv4MoreFragments == 0 && l.FragOffset == 0 {
		return layers.LayerTypeUDP
	}
	return gopacket.LayerTypeZero
}

type udpLayer struct{ layers.UDP }

// NextLayerType stops: the payload is the caller's.
func (l *udpLayer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

// decodedMax bounds the layers one frame can yield: link, three VLAN tags
// (the third is refused), IPv4, UDP.
const decodedMax = 8

// LayerDecoder decodes frames of one link type with gopacket's
// DecodingLayerParser (Ethernet, Dot1Q, LinuxSLL, IPv4 and UDP layers in a
// DecodingLayerSparse container), then applies the same checks as DecodeUDP
// so that both give the same results. SLL2, which gopacket v1.1.19 lacks, is
// parsed by hand and handed to gopacket from the network layer on.
//
// Allocation: none per frame once warm. gopacket allocates the IPv4 options
// slice the first time a frame with options is seen (it is reused after),
// and its errors are built with fmt.Errorf, so malformed frames allocate.
// Not safe for concurrent use.
type LayerDecoder struct {
	link    LinkType
	eth     ethernetLayer
	sll     sllLayer
	vlan    dot1qLayer
	ip      ipv4Layer
	udp     udpLayer
	parser  *gopacket.DecodingLayerParser // from the link layer
	fromIP  *gopacket.DecodingLayerParser // from IPv4 (raw IP, SLL2)
	fromTag *gopacket.DecodingLayerParser // from a VLAN tag (SLL2)
	used    *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

// NewLayerDecoder returns a LayerDecoder for link. An unsupported link type
// makes every DecodeUDP return ErrLinkType.
func NewLayerDecoder(link LinkType) *LayerDecoder {
	d := &LayerDecoder{link: link, decoded: make([]gopacket.LayerType, 0, decodedMax)}
	d.fromIP = d.newParser(layers.LayerTypeIPv4)
	d.fromTag = d.newParser(layers.LayerTypeDot1Q)
	switch link {
	case Ethernet:
		d.parser = d.newParser(layers.LayerTypeEthernet, &d.eth)
	case LinuxSLL:
		d.parser = d.newParser(layers.LayerTypeLinuxSLL, &d.sll)
	}
	return d
}

// newParser returns a parser starting at first over the shared layers.
func (d *LayerDecoder) newParser(first gopacket.LayerType, link ...gopacket.DecodingLayer) *gopacket.DecodingLayerParser {
	p := gopacket.NewDecodingLayerParser(first)
	p.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
	for _, l := range link {
		p.AddDecodingLayer(l)
	}
	p.AddDecodingLayer(&d.vlan)
	p.AddDecodingLayer(&d.ip)
	p.AddDecodingLayer(&d.udp)
	p.IgnoreUnsupported = true
	return p
}

// Link returns the decoder's link type.
func (d *LayerDecoder) Link() LinkType { return d.link }

// DecodeUDP decodes frame into out with the same results as DecodeUDP.
func (d *LayerDecoder) DecodeUDP(frame []byte, out *UDP) error {
	d.vlan.tags = 0
	var err error
	switch d.link {
	case Ethernet, LinuxSLL:
		if d.link == LinuxSLL && len(frame) >= sllLen && binary.BigEndian.Uint16(frame[4:]) > sllAddrMax {
			// gopacket slices the address by this length: refuse it first.
			return ErrMalformed
		}
		d.used = d.parser
		err = d.parser.DecodeLayers(frame, &d.decoded)
	case LinuxSLL2:
		if len(frame) < sll2Len {
			return ErrTruncated
		}
		if frame[11] > sllAddrMax {
			return ErrMalformed
		}
		switch nextFromEtherType(layers.EthernetType(binary.BigEndian.Uint16(frame))) {
		case layers.LayerTypeIPv4:
			d.used = d.fromIP
		case layers.LayerTypeDot1Q:
			d.used = d.fromTag
		default:
			return ErrNotUDP
		}
		err = d.used.DecodeLayers(frame[sll2Len:], &d.decoded)
	case RawIP:
		if err := rawVersion(frame); err != nil {
			return err
		}
		d.used = d.fromIP
		err = d.fromIP.DecodeLayers(frame, &d.decoded)
	default:
		return ErrLinkType
	}
	return d.finish(err, out)
}

// finish turns what the parser decoded into DecodeUDP's result.
func (d *LayerDecoder) finish(err error, out *UDP) error {
	if d.vlan.tags > vlanTagsMax {
		return ErrNotUDP
	}
	if err != nil {
		if d.used.Truncated {
			return ErrTruncated
		}
		return ErrMalformed
	}
	var haveIP, haveUDP bool
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeIPv4:
			haveIP = true
		case layers.LayerTypeUDP:
			haveUDP = true
		}
	}
	if !haveIP {
		if len(d.decoded) > 0 && d.lastWantsMore() {
			// The parser stops at an empty payload: the link layer or a
			// tag announced IPv4 but the frame ends there.
			return ErrTruncated
		}
		return ErrNotUDP
	}
	ip := &d.ip.IPv4
	if ip.Version != ipv4Version || binary.BigEndian.Uint16(ip.Contents[2:]) == 0 {
		// gopacket takes neither check: it decodes any version, and reads
		// a zero total length as "use the frame" (TSO captures).
		return ErrMalformed
	}
	if d.used.Truncated {
		return ErrTruncated
	}
	if ip.Protocol != layers.IPProtocolUDP {
		return ErrNotUDP
	}
	if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
		return ErrFragment
	}
	if !haveUDP || d.udp.Length < udpLen {
		// No UDP header inside the IPv4 length, or a UDP length of 0 that
		// gopacket reads as a jumbogram.
		return ErrMalformed
	}
	out.SrcIP = binary.BigEndian.Uint32(ip.SrcIP)
	out.DstIP = binary.BigEndian.Uint32(ip.DstIP)
	out.SrcPort = uint16(d.udp.SrcPort)
	out.DstPort = uint16(d.udp.DstPort)
	out.Payload = d.udp.Payload[:len(d.udp.Payload):len(d.udp.Payload)]
	return nil
}

// lastWantsMore reports whether the last decoded layer named a next layer
// that was not decoded.
func (d *LayerDecoder) lastWantsMore() bool {
	switch d.decoded[len(d.decoded)-1] {
	case layers.LayerTypeEthernet:
		return d.eth.NextLayerType() != gopacket.LayerTypeZero
	case layers.LayerTypeLinuxSLL:
		return d.sll.NextLayerType() != gopacket.LayerTypeZero
	case layers.LayerTypeDot1Q:
		return d.vlan.NextLayerType() != gopacket.LayerTypeZero
	}
	return false
}
