package main

import (
	"io"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/pcapw"
	"github.com/ballast-risk/ballast/sim/udpsend"
)

// BenchmarkCapture measures the pcap subcommand's pipeline (generate,
// encode, packetize, frame, write) into io.Discard: ns/op is per message.
func BenchmarkCapture(b *testing.B) {
	g, err := itchgen.New(itchgen.Config{SymbolCount: 8, Seed: 1, Messages: uint64(b.N) + itchgen.MinMessages(8)})
	if err != nil {
		b.Fatal(err)
	}
	d, _ := udpsend.NewDropper(0, nil, 0)
	c, err := newCapture(io.Discard, pcapw.Config{UDPChecksum: true}, moldudp64.MakeSession("BENCH"),
		moldudp64.PayloadBytesDefault, d, 0, 50_000)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := c.run(g); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(c.messages)/sec, "msgs/s")
	b.ReportMetric(float64(c.packets)/sec, "pkts/s")
}
