package pcapw

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// gopacketFrame builds the reference frame with gopacket's serializer.
func gopacketFrame(t testing.TB, cfg Config, ipID uint16, payload []byte) []byte {
	t.Helper()
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	eth := &layers.Ethernet{SrcMAC: cfg.SrcMAC[:], DstMAC: cfg.DstMAC[:], EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{
		Version: 4, IHL: 5, TOS: cfg.TOS, Id: ipID, TTL: cfg.TTL, Protocol: layers.IPProtocolUDP,
		SrcIP: cfg.SrcIP.AsSlice(), DstIP: cfg.DstIP.AsSlice(),
	}
	if cfg.DontFragment {
		ip.Flags = layers.IPv4DontFragment
	}
	udp := &layers.UDP{SrcPort: layers.UDPPort(cfg.SrcPort), DstPort: layers.UDPPort(cfg.DstPort)}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	ls := []gopacket.SerializableLayer{eth}
	if cfg.VLAN {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{Priority: cfg.VLANPriority, VLANIdentifier: cfg.VLANID, Type: layers.EthernetTypeIPv4})
	}
	ls = append(ls, ip, udp, gopacket.Payload(payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	if !cfg.UDPChecksum {
		// gopacket always computes it; the builder sends 0 when asked to.
		off := len(out) - 2 - len(payload)
		if len(out) == 60 { // padded
			off = 14 + 20 + 6
			if cfg.VLAN {
				off += 4
			}
		}
		out[off], out[off+1] = 0, 0
	}
	return out
}

func TestFrameMatchesGopacket(t *testing.T) {
	cfgs := map[string]Config{
		"default":  {},
		"checksum": {UDPChecksum: true},
		"vlan":     {VLAN: true, VLANID: 101, VLANPriority: 5, UDPChecksum: true},
		"unicast": {
			SrcIP: netip.MustParseAddr("192.168.7.9"), DstIP: netip.MustParseAddr("192.168.7.200"),
			SrcPort: 1, DstPort: 65535, TTL: 1, TOS: 0xb8, DontFragment: true, IPIDStart: 65534, UDPChecksum: true,
		},
	}
	payloads := [][]byte{{}, {0x42}, []byte("odd-length payload"), bytes.Repeat([]byte{0xff}, 1401), make([]byte, 9000)}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			fb, err := NewFrameBuilder(cfg)
			if err != nil {
				t.Fatal(err)
			}
			id := cfg.IPIDStart
			for _, p := range payloads {
				got, err := fb.AppendFrame(nil, p)
				if err != nil {
					t.Fatal(err)
				}
				want := gopacketFrame(t, cfg, id, p)
				id++
				if !bytes.Equal(got, want) {
					t.Fatalf("payload %d bytes: frame differs from gopacket's\n got %x\nwant %x", len(p), got[:fb.HeaderBytes()], want[:min(len(want), fb.HeaderBytes())])
				}
			}
		})
	}
}

func TestFrameDecodes(t *testing.T) {
	cfg := Config{VLAN: true, VLANID: 7, UDPChecksum: true}
	fb, err := NewFrameBuilder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("MoldUDP64 packet bytes")
	frame, err := fb.AppendFrame([]byte("prefix"), payload)
	if err != nil {
		t.Fatal(err)
	}
	if string(frame[:6]) != "prefix" {
		t.Fatal("AppendFrame overwrote dst's existing bytes")
	}
	pkt := gopacket.NewPacket(frame[6:], layers.LayerTypeEthernet, gopacket.Default)
	if el := pkt.ErrorLayer(); el != nil {
		t.Fatal(el.Error())
	}
	eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if want := [6]byte{0x01, 0x00, 0x5e, 54, 12, 111}; !bytes.Equal(eth.DstMAC, want[:]) {
		t.Errorf("dst MAC %v, want group MAC of 233.54.12.111", eth.DstMAC)
	}
	if q := pkt.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); q.VLANIdentifier != 7 {
		t.Errorf("VLAN %d", q.VLANIdentifier)
	}
	ip := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if int(ip.Length) != 20+8+len(payload) || ip.DstIP.String() != "233.54.12.111" {
		t.Errorf("ip length %d dst %v", ip.Length, ip.DstIP)
	}
	// A correct header checksum sums (with itself) to all ones.
	if fold(sumBytes(0, ip.Contents)) != 0 {
		t.Error("IPv4 header checksum does not verify")
	}
	udp := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if udp.DstPort != DefaultDstPort || !bytes.Equal(udp.Payload, payload) {
		t.Errorf("udp port %d payload %q", udp.DstPort, udp.Payload)
	}
	src, dst := ip.SrcIP.To4(), ip.DstIP.To4()
	pseudo := append(append(append([]byte{}, src...), dst...), 0, ipProtoUDP, byte(udp.Length>>8), byte(udp.Length))
	if fold(sumBytes(sumBytes(0, pseudo), append(udp.Contents, udp.Payload...))) != 0 {
		t.Error("UDP checksum does not verify")
	}
}

func TestPayloadTooLarge(t *testing.T) {
	fb, err := NewFrameBuilder(Config{})
	if err != nil {
		t.Fatal(err)
	}
	dst := []byte{1, 2, 3}
	out, err := fb.AppendFrame(dst, make([]byte, PayloadBytesMax+1))
	if !errors.Is(err, ErrPayloadTooLarge) || len(out) != 3 {
		t.Fatalf("err %v len %d", err, len(out))
	}
	if _, err := fb.AppendFrame(nil, make([]byte, PayloadBytesMax)); err != nil {
		t.Fatalf("largest payload refused: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	bad := []Config{
		{SrcIP: netip.MustParseAddr("::1")},
		{DstIP: netip.MustParseAddr("ff02::1")},
		{VLAN: true, VLANID: 4095},
		{VLANPriority: 8},
		{Format: 9},
	}
	for i, c := range bad {
		if _, err := NewWriter(io.Discard, c); !errors.Is(err, ErrConfig) {
			t.Errorf("config %d: err %v, want ErrConfig", i, err)
		}
	}
}

type capRecord struct {
	ts   time.Time
	data []byte
}

func writeCapture(t *testing.T, cfg Config, ts []int64, payloads [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range payloads {
		if err := w.WritePacket(ts[i], payloads[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(0, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	st := w.Stats()
	if st.Packets != uint64(len(payloads)) {
		t.Fatalf("stats %+v", st)
	}
	return buf.Bytes()
}

func readBack(t *testing.T, file []byte, ng bool) []capRecord {
	t.Helper()
	var src gopacket.PacketDataSource
	var lt layers.LinkType
	if ng {
		r, err := pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		src, lt = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		src, lt = r, r.LinkType()
	}
	if lt != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", lt)
	}
	var out []capRecord
	for {
		data, ci, err := src.ReadPacketData()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, capRecord{ci.Timestamp, append([]byte(nil), data...)})
	}
}

func TestCaptureRoundTrip(t *testing.T) {
	base := MidnightUnixNs(2024, time.March, 15) + (9*3600+30*60)*1e9
	ts := []int64{base + 123_456_789, base + 123_456_790, base + 2e9 + 1}
	payloads := [][]byte{[]byte("first"), {}, bytes.Repeat([]byte("x"), 1500)}
	cases := []struct {
		name  string
		cfg   Config
		resNs int64
	}{
		{"micro", Config{}, 1000},
		{"nano", Config{Nanos: true}, 1},
		{"pcapng", Config{Format: FormatPcapNG, VLAN: true, VLANID: 12}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := writeCapture(t, tc.cfg, ts, payloads)
			recs := readBack(t, file, tc.cfg.Format == FormatPcapNG)
			if len(recs) != len(payloads) {
				t.Fatalf("%d records, want %d", len(recs), len(payloads))
			}
			fb, _ := NewFrameBuilder(tc.cfg)
			for i, r := range recs {
				if want := ts[i] / tc.resNs * tc.resNs; r.ts.UnixNano() != want {
					t.Errorf("record %d: ts %d, want %d", i, r.ts.UnixNano(), want)
				}
				want, _ := fb.AppendFrame(nil, payloads[i])
				if !bytes.Equal(r.data, want) {
					t.Errorf("record %d: frame differs", i)
				}
			}
		})
	}
}

func TestWriterZeroAlloc(t *testing.T) {
	w, err := NewWriter(io.Discard, Config{UDPChecksum: true, VLAN: true})
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 1400)
	ts := int64(1e18)
	allocs := testing.AllocsPerRun(1000, func() {
		ts += 1000
		if err := w.WritePacket(ts, payload); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("WritePacket allocates %.1f times per packet", allocs)
	}
}
