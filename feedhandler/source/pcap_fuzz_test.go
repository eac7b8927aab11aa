package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/google/gopacket/layers"

	"github.com/ballast-risk/ballast/feedhandler/frame"
)

// pcapSeeds are small valid and broken captures for FuzzPcap.
func pcapSeeds(t testing.TB) [][]byte {
	recs := []record{
		{testStart, udpFrame(t, testDstPort, []byte("seed"))},
		{testStart, arpFrame(t)},
		{testStart, truncatedFrame(t)},
	}
	classic := classicPcap(binary.LittleEndian, false, 1, recs)
	classicBE := classicPcap(binary.BigEndian, true, 1, recs[:1])
	ng := pcapng(t, ngInterface{layers.LinkTypeEthernet, recs[:2]}, ngInterface{layers.LinkTypeLinuxSLL,
		[]record{{testStart, sllUDPFrame(t, testDstPort, []byte("sll"))}}})
	return [][]byte{classic, classicBE, ng, classic[:len(classic)-3], ng[:len(ng)-5], ng[:40], classic[:24]}
}

func FuzzPcap(f *testing.F) {
	for _, s := range pcapSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := NewPcap(bytes.NewReader(data), PcapOptions{})
		if err != nil {
			if !errors.Is(err, ErrPcapFormat) && !errors.Is(err, frame.ErrLinkType) {
				t.Fatalf("open: unexpected error %v", err)
			}
			return
		}
		pkts := make([]Packet, 8)
		var delivered, bytesOut uint64
		for calls := 0; ; calls++ {
			if calls > len(data)+1 {
				t.Fatalf("replay of %d bytes did not end after %d calls", len(data), calls)
			}
			n, err := p.ReadBatch(pkts)
			if err == io.EOF {
				break
			}
			if err != nil || n == 0 {
				t.Fatalf("ReadBatch = %d, %v", n, err)
			}
			for _, pk := range pkts[:n] {
				if len(pk.Data) > PcapFrameBytesMax {
					t.Fatalf("payload of %d bytes", len(pk.Data))
				}
				bytesOut += uint64(len(pk.Data))
			}
			delivered += uint64(n)
		}
		s := p.Stats()
		if s.Packets != delivered || s.Bytes != bytesOut {
			t.Fatalf("Stats %+v, delivered %d packets %d bytes", s, delivered, bytesOut)
		}
		if p.Err() != nil && !errors.Is(p.Err(), ErrPcapCorrupt) {
			t.Fatalf("Err = %v", p.Err())
		}
	})
}
