package source

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Test frames, built with gopacket's serializers (an independent encoder
// from the decoder under test).

var (
	testSrcMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	testDstMAC = net.HardwareAddr{0x01, 0, 0x5e, 0x7f, 0, 1}
	testSrcIP  = net.IPv4(192, 0, 2, 10).To4()
	testDstIP  = net.IPv4(233, 54, 12, 1).To4()
)

const (
	testSrcPort = 40001
	testDstPort = 26400
)

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ipv4Layer(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 16, Protocol: proto, SrcIP: testSrcIP, DstIP: testDstIP}
}

// udpFrame is an Ethernet/IPv4/UDP frame carrying payload to dstPort.
func udpFrame(t testing.TB, dstPort uint16, payload []byte) []byte {
	t.Helper()
	ip := ipv4Layer(layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: testSrcPort, DstPort: layers.UDPPort(dstPort)}
	udp.SetNetworkLayerForChecksum(ip)
	return serialize(t, &layers.Ethernet{SrcMAC: testSrcMAC, DstMAC: testDstMAC, EthernetType: layers.EthernetTypeIPv4},
		ip, udp, gopacket.Payload(payload))
}

// sllUDPFrame is the same datagram under a Linux cooked (SLL) header.
func sllUDPFrame(t testing.TB, dstPort uint16, payload []byte) []byte {
	t.Helper()
	eth := udpFrame(t, dstPort, payload)
	sll := make([]byte, 16)
	binary.BigEndian.PutUint16(sll[0:2], 0) // packet to us
	binary.BigEndian.PutUint16(sll[2:4], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(sll[4:6], 6)
	copy(sll[6:12], testSrcMAC)
	binary.BigEndian.PutUint16(sll[14:16], 0x0800)
	return append(sll, eth[14:]...)
}

func arpFrame(t testing.TB) []byte {
	t.Helper()
	return serialize(t, &layers.Ethernet{SrcMAC: testSrcMAC, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: testSrcMAC, SourceProtAddress: testSrcIP,
			DstHwAddress: make([]byte, 6), DstProtAddress: testDstIP})
}

func tcpFrame(t testing.TB) []byte {
	t.Helper()
	ip := ipv4Layer(layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: 1234, DstPort: 80, SYN: true, Window: 1024}
	tcp.SetNetworkLayerForChecksum(ip)
	return serialize(t, &layers.Ethernet{SrcMAC: testSrcMAC, DstMAC: testDstMAC, EthernetType: layers.EthernetTypeIPv4}, ip, tcp)
}

// fragmentFrame is the first fragment of a UDP datagram.
func fragmentFrame(t testing.TB) []byte {
	t.Helper()
	f := udpFrame(t, testDstPort, []byte("fragmented datagram"))
	f[14+6] |= 0x20 // more fragments
	binary.BigEndian.PutUint16(f[14+10:], 0)
	binary.BigEndian.PutUint16(f[14+10:], ipChecksum(f[14:34]))
	return f
}

// truncatedFrame claims a longer IPv4 datagram than it carries.
func truncatedFrame(t testing.TB) []byte {
	t.Helper()
	f := udpFrame(t, testDstPort, []byte("0123456789abcdef"))
	return f[:len(f)-8]
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// record is one captured frame.
type record struct {
	ts   time.Time
	data []byte
}

// classicPcap writes a classic pcap file by hand, in either byte order and
// timestamp resolution (pcapgo writes only little-endian).
func classicPcap(order binary.ByteOrder, nanos bool, link uint32, recs []record) []byte {
	var b bytes.Buffer
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	h := make([]byte, 24)
	order.PutUint32(h[0:], magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], 65535)
	order.PutUint32(h[20:], link)
	b.Write(h)
	for _, r := range recs {
		rh := make([]byte, 16)
		order.PutUint32(rh[0:], uint32(r.ts.Unix()))
		frac := uint32(r.ts.Nanosecond())
		if !nanos {
			frac /= 1000
		}
		order.PutUint32(rh[4:], frac)
		order.PutUint32(rh[8:], uint32(len(r.data)))
		order.PutUint32(rh[12:], uint32(len(r.data)))
		b.Write(rh)
		b.Write(r.data)
	}
	return b.Bytes()
}

// ngInterface is one pcapng interface and the records captured on it.
type ngInterface struct {
	link layers.LinkType
	recs []record
}

// pcapng writes a pcapng file with pcapgo: every interface is declared up
// front, then the records interleave (all of interface 0's first).
func pcapng(t testing.TB, ifaces ...ngInterface) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{
		LinkType: ifaces[0].link, SnapLength: 65535, TimestampResolution: 9,
	}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids := []int{0}
	for _, ifc := range ifaces[1:] {
		id, err := w.AddInterface(pcapgo.NgInterface{LinkType: ifc.link, SnapLength: 65535, TimestampResolution: 9})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for i, ifc := range ifaces {
		for _, r := range ifc.recs {
			ci := gopacket.CaptureInfo{Timestamp: r.ts, CaptureLength: len(r.data), Length: len(r.data), InterfaceIndex: ids[i]}
			if err := w.WritePacket(ci, r.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testPayload(i int) []byte {
	return []byte{byte(i >> 8), byte(i), 'm', 'o', 'l', 'd', byte(i * 7)}
}

// udpRecords returns n UDP frames to testDstPort, one microsecond apart.
func udpRecords(t testing.TB, n int, start time.Time) []record {
	t.Helper()
	recs := make([]record, n)
	for i := range recs {
		recs[i] = record{ts: start.Add(time.Duration(i) * time.Microsecond), data: udpFrame(t, testDstPort, testPayload(i))}
	}
	return recs
}
