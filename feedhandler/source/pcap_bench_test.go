package source

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
)

// BenchmarkPcapReplay replays an in-memory capture of 20,000 Ethernet/
// IPv4/UDP frames with 120-byte payloads (a typical MoldUDP64 packet) in
// batches of 256, reopening it when it ends. One op is one datagram.
func BenchmarkPcapReplay(b *testing.B) {
	recs := make([]record, 20000)
	pl := bytes.Repeat([]byte{0x5a}, 120)
	for i := range recs {
		recs[i] = record{testStart.Add(time.Duration(i) * time.Microsecond), udpFrame(b, testDstPort, pl)}
	}
	for _, c := range []struct {
		name string
		file []byte
	}{
		{"pcap", classicPcap(binary.LittleEndian, true, 1, recs)},
		{"pcapng", pcapng(b, ngInterface{layers.LinkTypeEthernet, recs})},
	} {
		b.Run(c.name, func(b *testing.B) {
			pkts := make([]Packet, 256)
			rd := bytes.NewReader(c.file)
			p, err := NewPcap(rd, PcapOptions{DstPort: testDstPort})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(c.file) / len(recs)))
			b.ReportAllocs()
			b.ResetTimer()
			for got := 0; got < b.N; {
				n, err := p.ReadBatch(pkts)
				if err == io.EOF {
					rd.Reset(c.file)
					if p, err = NewPcap(rd, PcapOptions{DstPort: testDstPort}); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if err != nil {
					b.Fatal(err)
				}
				got += n
			}
			b.StopTimer()
			if s := b.Elapsed().Seconds(); s > 0 {
				b.ReportMetric(float64(b.N)/s, "pkts/s")
			}
		})
	}
}
