package pcapw

import (
	"io"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

func benchPayload() []byte {
	p := make([]byte, 1400)
	for i := range p {
		p[i] = byte(i * 7)
	}
	return p
}

// BenchmarkAppendFrame measures the hand-written builder with the UDP
// checksum on a 1400-byte payload.
func BenchmarkAppendFrame(b *testing.B) {
	fb, err := NewFrameBuilder(Config{UDPChecksum: true})
	if err != nil {
		b.Fatal(err)
	}
	p := benchPayload()
	buf := make([]byte, 0, 2048)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = fb.AppendFrame(buf[:0], p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkGopacketSerialize is the same frame through gopacket's
// serializer, for comparison with BenchmarkAppendFrame.
func BenchmarkGopacketSerialize(b *testing.B) {
	p := benchPayload()
	eth := &layers.Ethernet{SrcMAC: DefaultSrcMAC[:], DstMAC: DefaultUnicastDstMAC[:], EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 32, Protocol: layers.IPProtocolUDP,
		SrcIP: DefaultSrcIP.AsSlice(), DstIP: DefaultDstIP.AsSlice()}
	udp := &layers.UDP{SrcPort: DefaultSrcPort, DstPort: DefaultDstPort}
	_ = udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		ip.Id++
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, gopacket.Payload(p)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkWritePacket measures a whole packet into a classic nanosecond
// pcap (discarded), checksum on.
func BenchmarkWritePacket(b *testing.B) {
	w, err := NewWriter(io.Discard, Config{UDPChecksum: true, Nanos: true})
	if err != nil {
		b.Fatal(err)
	}
	p := benchPayload()
	ts := int64(1e18)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		ts += 1000
		if err := w.WritePacket(ts, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}
