package source

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/ballast-risk/ballast/feedhandler/frame"
)

var testStart = time.Date(2024, 3, 14, 9, 30, 0, 123456000, time.UTC)

func mustPcap(t testing.TB, data []byte, opts PcapOptions) *Pcap {
	t.Helper()
	p, err := NewPcap(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// drain reads a replay to its end with batches of batch packets, copying
// the payloads.
func drain(t testing.TB, p *Pcap, batch int) []Packet {
	t.Helper()
	pkts := make([]Packet, batch)
	var out []Packet
	for calls := 0; ; calls++ {
		if calls > 1<<20 {
			t.Fatal("replay does not end")
		}
		n, err := p.ReadBatch(pkts)
		if n > 0 && err != nil {
			t.Fatalf("ReadBatch returned %d packets and %v", n, err)
		}
		for _, pk := range pkts[:n] {
			pk.Data = append([]byte(nil), pk.Data...)
			out = append(out, pk)
		}
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("ReadBatch returned 0 packets without an error")
		}
	}
}

func checkPackets(t *testing.T, got []Packet, n int, tsUnit time.Duration) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d packets, want %d", len(got), n)
	}
	for i, p := range got {
		if !bytes.Equal(p.Data, testPayload(i)) {
			t.Fatalf("packet %d = %x, want %x", i, p.Data, testPayload(i))
		}
		if p.SrcIP != ipv4Uint32(testSrcIP) || p.DstIP != ipv4Uint32(testDstIP) || p.SrcPort != testSrcPort || p.DstPort != testDstPort {
			t.Fatalf("packet %d addresses %08x:%d -> %08x:%d", i, p.SrcIP, p.SrcPort, p.DstIP, p.DstPort)
		}
		want := testStart.Add(time.Duration(i) * time.Microsecond).Truncate(tsUnit).UnixNano()
		if p.RecvNs != want {
			t.Fatalf("packet %d RecvNs %d, want %d", i, p.RecvNs, want)
		}
	}
}

func TestPcapClassicVariants(t *testing.T) {
	recs := udpRecords(t, 50, testStart)
	for _, v := range []struct {
		name  string
		order binary.ByteOrder
		nanos bool
	}{
		{"micros-le", binary.LittleEndian, false},
		{"micros-be", binary.BigEndian, false},
		{"nanos-le", binary.LittleEndian, true},
		{"nanos-be", binary.BigEndian, true},
	} {
		t.Run(v.name, func(t *testing.T) {
			p := mustPcap(t, classicPcap(v.order, v.nanos, 1, recs), PcapOptions{})
			if p.Format() != "pcap" {
				t.Fatalf("Format = %q", p.Format())
			}
			unit := time.Microsecond
			if v.nanos {
				unit = time.Nanosecond
			}
			checkPackets(t, drain(t, p, 7), len(recs), unit)
			if s := p.Stats(); s.Packets != 50 || s.Bytes != 50*7 || s.Skipped != 0 || s.Malformed != 0 {
				t.Fatalf("Stats = %+v", s)
			}
			if p.Err() != nil {
				t.Fatalf("Err = %v after a clean end", p.Err())
			}
			// The end is sticky.
			if n, err := p.ReadBatch(make([]Packet, 4)); n != 0 || err != io.EOF {
				t.Fatalf("ReadBatch after the end = %d, %v", n, err)
			}
		})
	}
}

func TestPcapng(t *testing.T) {
	recs := udpRecords(t, 40, testStart)
	p := mustPcap(t, pcapng(t, ngInterface{layers.LinkTypeEthernet, recs}), PcapOptions{})
	if p.Format() != "pcapng" {
		t.Fatalf("Format = %q", p.Format())
	}
	checkPackets(t, drain(t, p, 16), len(recs), time.Nanosecond)
	if s := p.Stats(); s.Packets != 40 || s.Malformed != 0 || s.Skipped != 0 {
		t.Fatalf("Stats = %+v", s)
	}
}

// TestPcapngMixedLinks reads a capture with an Ethernet and a Linux cooked
// interface: each frame decodes with its own interface's link type.
func TestPcapngMixedLinks(t *testing.T) {
	eth := udpRecords(t, 3, testStart)
	sll := []record{
		{testStart, sllUDPFrame(t, testDstPort, []byte("cooked-0"))},
		{testStart, sllUDPFrame(t, testDstPort, []byte("cooked-1"))},
	}
	wlan := []record{{testStart, []byte{0x80, 0, 0, 0}}} // 802.11: not decodable
	p := mustPcap(t, pcapng(t,
		ngInterface{layers.LinkTypeEthernet, eth},
		ngInterface{layers.LinkTypeLinuxSLL, sll},
		ngInterface{layers.LinkTypeIEEE802_11, wlan},
	), PcapOptions{})
	got := drain(t, p, 8)
	if len(got) != 5 || string(got[3].Data) != "cooked-0" || string(got[4].Data) != "cooked-1" {
		t.Fatalf("got %d packets: %v", len(got), got)
	}
	if s := p.Stats(); s.Packets != 5 || s.Skipped != 1 || s.Malformed != 0 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestPcapGzip(t *testing.T) {
	recs := udpRecords(t, 20, testStart)
	for name, raw := range map[string][]byte{
		"pcap":   classicPcap(binary.LittleEndian, true, 1, recs),
		"pcapng": pcapng(t, ngInterface{layers.LinkTypeEthernet, recs}),
	} {
		t.Run(name, func(t *testing.T) {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(raw)
			zw.Close()
			p := mustPcap(t, z.Bytes(), PcapOptions{})
			if p.Format() != name {
				t.Fatalf("Format = %q", p.Format())
			}
			checkPackets(t, drain(t, p, 64), len(recs), time.Nanosecond)
		})
	}
}

// TestPcapSkipsAndMalformed mixes other traffic, broken frames and
// fragments with feed datagrams; none stops the replay.
func TestPcapSkipsAndMalformed(t *testing.T) {
	frames := [][]byte{
		udpFrame(t, testDstPort, testPayload(0)),
		arpFrame(t),
		tcpFrame(t),
		truncatedFrame(t),
		udpFrame(t, 9999, []byte("other port")),
		fragmentFrame(t),
		{0x01, 0x02}, // a runt
		udpFrame(t, testDstPort, testPayload(1)),
	}
	recs := make([]record, len(frames))
	for i, f := range frames {
		recs[i] = record{testStart, f}
	}
	file := classicPcap(binary.LittleEndian, false, 1, recs)

	p := mustPcap(t, file, PcapOptions{})
	got := drain(t, p, 4)
	if len(got) != 3 || !bytes.Equal(got[0].Data, testPayload(0)) || string(got[1].Data) != "other port" || !bytes.Equal(got[2].Data, testPayload(1)) {
		t.Fatalf("got %v", got)
	}
	// ARP, TCP and the fragment are skipped; the truncated frame and the
	// runt are malformed.
	if s := p.Stats(); s.Packets != 3 || s.Skipped != 3 || s.Malformed != 2 {
		t.Fatalf("Stats = %+v", s)
	}
	if p.Err() != nil {
		t.Fatalf("Err = %v: broken frames must not end the replay", p.Err())
	}

	// With a port filter the other port's datagram is skipped too.
	p = mustPcap(t, file, PcapOptions{DstPort: testDstPort})
	got = drain(t, p, 4)
	if len(got) != 2 {
		t.Fatalf("filtered replay got %d packets", len(got))
	}
	if s := p.Stats(); s.Packets != 2 || s.Skipped != 4 || s.Malformed != 2 {
		t.Fatalf("filtered Stats = %+v", s)
	}
}

func TestPcapTruncatedTail(t *testing.T) {
	recs := udpRecords(t, 10, testStart)
	for name, file := range map[string][]byte{
		"pcap":   classicPcap(binary.LittleEndian, false, 1, recs),
		"pcapng": pcapng(t, ngInterface{layers.LinkTypeEthernet, recs}),
	} {
		for _, cut := range []int{1, 5, 20, 30} {
			p := mustPcap(t, file[:len(file)-cut], PcapOptions{})
			got := drain(t, p, 4)
			if len(got) != 9 {
				t.Fatalf("%s cut %d: got %d packets, want the 9 complete ones", name, cut, len(got))
			}
			if s := p.Stats(); s.Malformed != 1 || s.Packets != 9 {
				t.Fatalf("%s cut %d: Stats = %+v", name, cut, s)
			}
			if !errors.Is(p.Err(), ErrPcapCorrupt) {
				t.Fatalf("%s cut %d: Err = %v", name, cut, p.Err())
			}
		}
	}
	// A file cut right after its header is an empty replay, not an error.
	file := classicPcap(binary.LittleEndian, false, 1, nil)
	if got := drain(t, mustPcap(t, file, PcapOptions{}), 4); len(got) != 0 {
		t.Fatalf("empty capture delivered %d packets", len(got))
	}
}

// TestPcapHostileLengths gives record and block headers gigabyte lengths:
// the replay ends as corrupt without allocating them.
func TestPcapHostileLengths(t *testing.T) {
	recs := udpRecords(t, 3, testStart)
	classic := classicPcap(binary.LittleEndian, false, 1, recs)
	// The third record's capture and original lengths.
	off := 24 + 2*(16+len(recs[0].data))
	binary.LittleEndian.PutUint32(classic[off+8:], 0xfffffff0)
	binary.LittleEndian.PutUint32(classic[off+12:], 0xfffffff0)

	ng := pcapng(t, ngInterface{layers.LinkTypeEthernet, recs})
	// The last enhanced packet block's capture length (20 bytes in).
	epbLen := 32 + (len(recs[2].data)+3)&^3
	ngOff := len(ng) - epbLen
	if binary.LittleEndian.Uint32(ng[ngOff:]) != ngBlockEnhancedPacket {
		t.Fatalf("test setup: no enhanced packet block at %d", ngOff)
	}
	binary.LittleEndian.PutUint32(ng[ngOff+20:], 0xfffffff0)
	ngBlock := append([]byte(nil), ng...)
	binary.LittleEndian.PutUint32(ngBlock[ngOff+4:], 0x7ffffff0)

	for name, file := range map[string][]byte{"pcap": classic, "pcapng caplen": ng, "pcapng block": ngBlock} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p := mustPcap(t, file, PcapOptions{})
		got := drain(t, p, 8)
		runtime.ReadMemStats(&after)
		if len(got) != 2 {
			t.Errorf("%s: got %d packets, want the 2 before the hostile record", name, len(got))
		}
		if s := p.Stats(); s.Malformed != 1 || !errors.Is(p.Err(), ErrPcapCorrupt) {
			t.Errorf("%s: Stats %+v, Err %v", name, s, p.Err())
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
			t.Errorf("%s: replay allocated %d bytes", name, alloc)
		}
	}
}

func TestPcapBatchArena(t *testing.T) {
	// 40 payloads of 60000 bytes overflow the 1 MiB arena: batches end
	// early and nothing is lost or reordered.
	recs := make([]record, 40)
	for i := range recs {
		pl := bytes.Repeat([]byte{byte(i)}, 60000)
		recs[i] = record{testStart, udpFrame(t, testDstPort, pl)}
	}
	p := mustPcap(t, classicPcap(binary.LittleEndian, false, 1, recs), PcapOptions{})
	pkts := make([]Packet, 64)
	total := 0
	for {
		n, err := p.ReadBatch(pkts)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n*60000 > pcapArenaBytes {
			t.Fatalf("batch of %d payloads exceeds the arena", n)
		}
		for i, pk := range pkts[:n] {
			if len(pk.Data) != 60000 || pk.Data[0] != byte(total+i) || pk.Data[59999] != byte(total+i) {
				t.Fatalf("packet %d corrupted", total+i)
			}
		}
		total += n
	}
	if total != 40 {
		t.Fatalf("got %d packets", total)
	}
}

func TestPcapErrors(t *testing.T) {
	if _, err := NewPcap(bytes.NewReader(nil), PcapOptions{}); !errors.Is(err, ErrPcapFormat) {
		t.Errorf("empty input: %v", err)
	}
	if _, err := NewPcap(bytes.NewReader([]byte("GET / HTTP/1.1\r\n\r\n")), PcapOptions{}); !errors.Is(err, ErrPcapFormat) {
		t.Errorf("not a capture: %v", err)
	}
	if _, err := NewPcap(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}), PcapOptions{}); !errors.Is(err, ErrPcapFormat) {
		t.Errorf("broken gzip: %v", err)
	}
	short := classicPcap(binary.LittleEndian, false, 1, nil)[:20]
	if _, err := NewPcap(bytes.NewReader(short), PcapOptions{}); !errors.Is(err, ErrPcapFormat) {
		t.Errorf("short header: %v", err)
	}
	wlan := classicPcap(binary.LittleEndian, false, 105, nil)
	if _, err := NewPcap(bytes.NewReader(wlan), PcapOptions{}); !errors.Is(err, frame.ErrLinkType) {
		t.Errorf("802.11 link type: %v", err)
	}
	if _, err := OpenPcap(filepath.Join(t.TempDir(), "missing.pcap"), PcapOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestOpenPcapFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.pcap")
	recs := udpRecords(t, 30, testStart)
	if err := os.WriteFile(path, classicPcap(binary.LittleEndian, false, 1, recs), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := OpenPcap(path, PcapOptions{DstPort: testDstPort})
	if err != nil {
		t.Fatal(err)
	}
	var src Source = p
	checkPackets(t, drain(t, p, 8), 30, time.Microsecond)
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReadBatch(make([]Packet, 4)); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadBatch after Close = %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestPcapZeroAllocs(t *testing.T) {
	recs := udpRecords(t, 4000, testStart)
	for name, file := range map[string][]byte{
		"pcap":   classicPcap(binary.LittleEndian, true, 1, recs),
		"pcapng": pcapng(t, ngInterface{layers.LinkTypeEthernet, recs}),
	} {
		p := mustPcap(t, file, PcapOptions{})
		pkts := make([]Packet, 32)
		p.ReadBatch(pkts) // warm up: pcapgo sizes its packet buffer
		allocs := testing.AllocsPerRun(100, func() {
			if n, err := p.ReadBatch(pkts); n != len(pkts) || err != nil {
				t.Fatalf("ReadBatch = %d, %v", n, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: ReadBatch of %d packets: %v allocs", name, len(pkts), allocs)
		}
	}
}

// TestPcapngGuardPassThrough feeds a valid capture to the guard in every
// read size: it must pass every byte unchanged.
func TestPcapngGuardPassThrough(t *testing.T) {
	file := pcapng(t, ngInterface{layers.LinkTypeEthernet, udpRecords(t, 5, testStart)})
	for chunk := 1; chunk <= 64; chunk++ {
		g := &ngGuard{r: &chunkReader{b: file, n: chunk}}
		out, err := io.ReadAll(g)
		if err != nil || !bytes.Equal(out, file) || g.midBlock() {
			t.Fatalf("chunk %d: %d of %d bytes, err %v, midBlock %v", chunk, len(out), len(file), err, g.midBlock())
		}
	}
}

type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[n:]
	return n, nil
}
