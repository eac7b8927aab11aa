package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

// spec describes a frame to build.
type spec struct {
	link        LinkType
	tags        []uint16 // VLAN TPIDs (0x8100 / 0x88A8)
	etherType   uint16   // 0 means IPv4
	ipVersion   byte     // 0 means 4
	options     []byte   // IPv4 options, padded to 4 bytes by the caller
	proto       byte     // 0 means UDP
	fragFlags   uint16   // flags and offset field
	totalDelta  int      // added to the IPv4 total length
	totalZero   bool     // total length 0
	udpLenDelta int      // added to the UDP length
	payload     []byte
	padding     int  // bytes after the IP packet (Ethernet padding)
	cut         int  // bytes removed from the end
	sllAddrLen  byte // 0 means 6
}

var (
	srcIP = [4]byte{10, 1, 2, 3}
	dstIP = [4]byte{233, 54, 12, 111}
)

const (
	srcPort = 40000
	dstPort = 26477
)

func (s spec) build() []byte {
	var b []byte
	et := s.etherType
	if et == 0 {
		et = etherIPv4
	}
	first := et
	if len(s.tags) > 0 {
		first = s.tags[0]
	}
	addrLen := s.sllAddrLen
	if addrLen == 0 {
		addrLen = 6
	}
	switch s.link {
	case Ethernet:
		b = append(b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
		b = binary.BigEndian.AppendUint16(b, first)
	case LinuxSLL:
		b = append(b, 0, 0, 0, 1, 0, addrLen, 1, 2, 3, 4, 5, 6, 0, 0)
		b = binary.BigEndian.AppendUint16(b, first)
	case LinuxSLL2:
		b = binary.BigEndian.AppendUint16(b, first)
		b = append(b, 0, 0, 0, 0, 0, 2, 0, 1, 0, addrLen, 1, 2, 3, 4, 5, 6, 0, 0)
	}
	for i := range s.tags {
		next := et
		if i+1 < len(s.tags) {
			next = s.tags[i+1]
		}
		b = binary.BigEndian.AppendUint16(b, uint16(i+100))
		b = binary.BigEndian.AppendUint16(b, next)
	}
	ihl := 20 + len(s.options)
	version := s.ipVersion
	if version == 0 {
		version = 4
	}
	proto := s.proto
	if proto == 0 {
		proto = protoUDP
	}
	udpTotal := 8 + len(s.payload)
	total := ihl + udpTotal + s.totalDelta
	if s.totalZero {
		total = 0
	}
	b = append(b, version<<4|byte(ihl/4)&0x0F, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(total))
	b = append(b, 0x12, 0x34)
	b = binary.BigEndian.AppendUint16(b, s.fragFlags)
	b = append(b, 64, proto, 0, 0)
	b = append(b, srcIP[:]...)
	b = append(b, dstIP[:]...)
	b = append(b, s.options...)
	b = binary.BigEndian.AppendUint16(b, srcPort)
	b = binary.BigEndian.AppendUint16(b, dstPort)
	b = binary.BigEndian.AppendUint16(b, uint16(udpTotal+s.udpLenDelta))
	b = append(b, 0, 0)
	b = append(b, s.payload...)
	b = append(b, make([]byte, s.padding)...)
	return b[:len(b)-min(s.cut, len(b))]
}

var payload = []byte("MoldUDP64 packet payload")

func decodeBoth(t *testing.T, link LinkType, f []byte) (UDP, error) {
	t.Helper()
	var fast, slow UDP
	errFast := DecodeUDP(link, f, &fast)
	errSlow := NewLayerDecoder(link).DecodeUDP(f, &slow)
	if class(errFast) != class(errSlow) {
		t.Fatalf("%v frame % x: fast %v, gopacket %v", link, f, errFast, errSlow)
	}
	if errFast == nil && !sameUDP(fast, slow) {
		t.Fatalf("%v frame % x: fast %+v, gopacket %+v", link, f, fast, slow)
	}
	return fast, errFast
}

// class maps an error to the result class both decoders must agree on.
func class(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrMalformed):
		return ErrMalformed
	}
	return err
}

func sameUDP(a, b UDP) bool {
	return a.SrcIP == b.SrcIP && a.DstIP == b.DstIP && a.SrcPort == b.SrcPort &&
		a.DstPort == b.DstPort && bytes.Equal(a.Payload, b.Payload) &&
		(len(a.Payload) == 0 || &a.Payload[0] == &b.Payload[0])
}

func TestDecodeUDPValid(t *testing.T) {
	links := []LinkType{Ethernet, LinuxSLL, LinuxSLL2, RawIP}
	variants := []spec{
		{},
		{tags: []uint16{etherVLAN}},
		{tags: []uint16{etherQinQ, etherVLAN}},
		{options: []byte{1, 1, 1, 0}},    // NOPs, end of list
		{options: []byte{0x94, 4, 0, 0}}, // router alert
		{options: []byte{7, 7, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0}}, // record route, padded
		{padding: 18},                    // Ethernet minimum-size padding
		{totalDelta: 0, udpLenDelta: -4}, // UDP shorter than IP payload: trimmed
		{payload: []byte{}},
	}
	for _, link := range links {
		for i, v := range variants {
			if link == RawIP && len(v.tags) > 0 {
				continue
			}
			v.link = link
			if v.payload == nil {
				v.payload = payload
			}
			f := v.build()
			u, err := decodeBoth(t, link, f)
			if err != nil {
				t.Fatalf("%v variant %d: %v", link, i, err)
			}
			wantPayload := v.payload[:len(v.payload)+v.udpLenDelta]
			if u.SrcIP != 0x0A010203 || u.DstIP != 0xE9360C6F || u.SrcPort != srcPort || u.DstPort != dstPort ||
				!bytes.Equal(u.Payload, wantPayload) || cap(u.Payload) != len(u.Payload) {
				t.Fatalf("%v variant %d: %+v", link, i, u)
			}
		}
	}
}

func TestDecodeUDPErrors(t *testing.T) {
	cases := []struct {
		name string
		s    spec
		want error
	}{
		{"three tags", spec{tags: []uint16{etherVLAN, etherVLAN, etherVLAN}}, ErrNotUDP},
		{"ARP", spec{etherType: 0x0806}, ErrNotUDP},
		{"IPv6 ethertype", spec{etherType: 0x86DD}, ErrNotUDP},
		{"LLC length field", spec{etherType: 0x0040}, ErrNotUDP},
		{"transparent bridging", spec{etherType: 0x6558}, ErrNotUDP},
		{"TCP", spec{proto: 6}, ErrNotUDP},
		{"IP in IP", spec{proto: 4}, ErrNotUDP},
		{"TCP fragment", spec{proto: 6, fragFlags: 0x2000}, ErrNotUDP},
		{"more fragments", spec{fragFlags: 0x2000}, ErrFragment},
		{"fragment offset", spec{fragFlags: 0x0010}, ErrFragment},
		{"don't fragment is fine", spec{fragFlags: 0x4000}, nil},
		{"IP version 5", spec{ipVersion: 5}, ErrMalformed},
		{"total zero", spec{totalZero: true}, ErrMalformed},
		{"total below header", spec{totalDelta: -(8 + len(payload) + 1)}, ErrMalformed},
		{"total beyond frame", spec{totalDelta: 1}, ErrTruncated},
		{"total leaves no UDP header", spec{totalDelta: -(len(payload) + 4)}, ErrMalformed},
		{"UDP length beyond IP", spec{udpLenDelta: 1}, ErrMalformed},
		{"UDP length below 8", spec{udpLenDelta: -(len(payload) + 1)}, ErrMalformed},
		{"UDP length 0", spec{udpLenDelta: -(len(payload) + 8)}, ErrMalformed},
		{"cut payload", spec{cut: 3}, ErrTruncated},
		{"cut IP header", spec{cut: 8 + len(payload) + 5}, ErrTruncated},
		{"cut after link", spec{cut: 20 + 8 + len(payload)}, ErrTruncated},
		{"option length 2", spec{options: []byte{0x94, 2, 0, 0}}, ErrMalformed},
		{"option beyond header", spec{options: []byte{0x94, 5, 0, 0}}, ErrMalformed},
		{"option without length", spec{options: []byte{1, 1, 1, 0x94}}, ErrMalformed},
	}
	for _, c := range cases {
		for _, link := range []LinkType{Ethernet, LinuxSLL, LinuxSLL2, RawIP} {
			if link == RawIP && (c.s.etherType != 0 || len(c.s.tags) > 0 || c.name == "cut after link") {
				continue
			}
			s := c.s
			s.link = link
			s.payload = payload
			_, err := decodeBoth(t, link, s.build())
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Errorf("%s on %v: %v, want %v", c.name, link, err, c.want)
			}
		}
	}
	// Link-specific.
	linkCases := []struct {
		name string
		link LinkType
		f    []byte
		want error
	}{
		{"empty Ethernet", Ethernet, nil, ErrTruncated},
		{"short Ethernet", Ethernet, make([]byte, 13), ErrTruncated},
		{"short SLL", LinuxSLL, make([]byte, 15), ErrTruncated},
		{"short SLL2", LinuxSLL2, make([]byte, 19), ErrTruncated},
		{"SLL address length", LinuxSLL, spec{link: LinuxSLL, sllAddrLen: 9, payload: payload}.build(), ErrMalformed},
		{"SLL huge address length", LinuxSLL, spec{link: LinuxSLL, sllAddrLen: 0xFF, payload: payload}.build(), ErrMalformed},
		{"SLL2 address length", LinuxSLL2, spec{link: LinuxSLL2, sllAddrLen: 9, payload: payload}.build(), ErrMalformed},
		{"cut VLAN tag", Ethernet, spec{link: Ethernet, tags: []uint16{etherVLAN}}.build()[:16], ErrTruncated},
		{"raw empty", RawIP, nil, ErrTruncated},
		{"raw IPv6", RawIP, append([]byte{0x60}, make([]byte, 39)...), ErrNotUDP},
		{"raw version 0", RawIP, make([]byte, 40), ErrMalformed},
	}
	for _, c := range linkCases {
		if _, err := decodeBoth(t, c.link, c.f); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	var u UDP
	if err := DecodeUDP(LinkType(99), nil, &u); !errors.Is(err, ErrLinkType) {
		t.Fatalf("unknown link: %v", err)
	}
	if err := NewLayerDecoder(LinkType(99)).DecodeUDP(nil, &u); !errors.Is(err, ErrLinkType) {
		t.Fatalf("unknown link (gopacket): %v", err)
	}
	if !errors.Is(ErrTruncated, ErrMalformed) {
		t.Fatal("ErrTruncated does not wrap ErrMalformed")
	}
}

func TestLinkTypeFromPcap(t *testing.T) {
	want := map[uint32]LinkType{1: Ethernet, 113: LinuxSLL, 276: LinuxSLL2, 101: RawIP, 228: RawIP, 12: RawIP, 14: RawIP}
	for n, l := range want {
		got, err := LinkTypeFromPcap(n)
		if err != nil || got != l {
			t.Errorf("LinkTypeFromPcap(%d) = %v, %v", n, got, err)
		}
	}
	for _, n := range []uint32{0, 105, 127, 229} {
		if _, err := LinkTypeFromPcap(n); !errors.Is(err, ErrLinkType) {
			t.Errorf("LinkTypeFromPcap(%d): %v", n, err)
		}
	}
	names := map[LinkType]string{Ethernet: "Ethernet", LinuxSLL: "LinuxSLL", LinuxSLL2: "LinuxSLL2", RawIP: "RawIP", 42: "LinkType(42)"}
	for l, s := range names {
		if l.String() != s {
			t.Errorf("%d.String() = %q", int(l), l.String())
		}
	}
	if NewLayerDecoder(LinuxSLL).Link() != LinuxSLL {
		t.Fatal("Link()")
	}
}

// randomSpec returns a frame spec biased towards almost-valid frames.
func randomSpec(r *rand.Rand, link LinkType) spec {
	s := spec{link: link, payload: make([]byte, r.IntN(64))}
	for i := range s.payload {
		s.payload[i] = byte(r.Uint32())
	}
	pick := func(pct int) bool { return r.IntN(100) < pct }
	if link != RawIP {
		for n := r.IntN(4); n > 0 && pick(40); n-- {
			s.tags = append(s.tags, []uint16{etherVLAN, etherQinQ}[r.IntN(2)])
		}
		if pick(5) {
			s.etherType = []uint16{0x0806, 0x86DD, 0x6558, 0x0040, 0x8100}[r.IntN(5)]
		}
	}
	if pick(10) {
		s.ipVersion = byte(r.IntN(16))
	}
	if pick(20) {
		n := 4 * (1 + r.IntN(3))
		s.options = make([]byte, n)
		for i := range s.options {
			s.options[i] = []byte{0, 1, 2, 3, 4, 0x94, byte(r.Uint32())}[r.IntN(7)]
		}
	}
	if pick(10) {
		s.proto = []byte{1, 4, 6, 17, 41, 47}[r.IntN(6)]
	}
	if pick(10) {
		s.fragFlags = uint16(r.Uint32())
	}
	if pick(10) {
		s.totalDelta = r.IntN(40) - 20
	}
	if pick(3) {
		s.totalZero = true
	}
	if pick(10) {
		s.udpLenDelta = r.IntN(40) - 20
	}
	if pick(20) {
		s.padding = r.IntN(30)
	}
	if pick(10) {
		s.cut = r.IntN(60)
	}
	if pick(5) {
		s.sllAddrLen = byte(r.IntN(12))
	}
	return s
}

func TestDifferentialRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	counts := map[error]int{}
	decoders := map[LinkType]*LayerDecoder{}
	for _, l := range []LinkType{Ethernet, LinuxSLL, LinuxSLL2, RawIP} {
		decoders[l] = NewLayerDecoder(l)
	}
	for i := 0; i < 40000; i++ {
		link := LinkType(1 + r.IntN(4))
		f := randomSpec(r, link).build()
		if r.IntN(10) == 0 && len(f) > 0 {
			f[r.IntN(len(f))] ^= byte(1 << r.IntN(8)) // a bit flip anywhere
		}
		var fast, slow UDP
		errFast := DecodeUDP(link, f, &fast)
		errSlow := decoders[link].DecodeUDP(f, &slow)
		if class(errFast) != class(errSlow) {
			t.Fatalf("%v frame % x: fast %v, gopacket %v", link, f, errFast, errSlow)
		}
		if errFast == nil && !sameUDP(fast, slow) {
			t.Fatalf("%v frame % x: fast %+v, gopacket %+v", link, f, fast, slow)
		}
		counts[class(errFast)]++
	}
	// The generator must reach every outcome.
	for _, e := range []error{nil, ErrNotUDP, ErrFragment, ErrMalformed} {
		if counts[e] < 100 {
			t.Fatalf("outcome %v reached only %d times: %v", e, counts[e], counts)
		}
	}
	t.Logf("outcomes: %v", counts)
}

func FuzzDecodeUDP(f *testing.F) {
	for _, link := range []LinkType{Ethernet, LinuxSLL, LinuxSLL2, RawIP} {
		f.Add(uint8(link), spec{link: link, payload: payload}.build())
		f.Add(uint8(link), spec{link: link, payload: payload, options: []byte{0x94, 4, 0, 0}}.build())
		f.Add(uint8(link), spec{link: link, payload: payload, fragFlags: 0x2000}.build())
	}
	f.Add(uint8(Ethernet), spec{link: Ethernet, tags: []uint16{etherQinQ, etherVLAN}, payload: payload, padding: 10}.build())
	decoders := map[LinkType]*LayerDecoder{}
	for _, l := range []LinkType{Ethernet, LinuxSLL, LinuxSLL2, RawIP} {
		decoders[l] = NewLayerDecoder(l)
	}
	f.Fuzz(func(t *testing.T, l uint8, frame []byte) {
		link := LinkType(1 + l%4)
		var fast, slow UDP
		errFast := DecodeUDP(link, frame, &fast)
		errSlow := decoders[link].DecodeUDP(frame, &slow)
		if class(errFast) != class(errSlow) {
			t.Fatalf("%v: fast %v, gopacket %v", link, errFast, errSlow)
		}
		if errFast != nil {
			return
		}
		if !sameUDP(fast, slow) {
			t.Fatalf("%v: fast %+v, gopacket %+v", link, fast, slow)
		}
		// A payload lies inside the frame, right after an 8-byte UDP header
		// whose length field matches it.
		if len(fast.Payload) == 0 {
			return
		}
		off := -1
		for i := range frame {
			if &frame[i] == &fast.Payload[0] {
				off = i
				break
			}
		}
		if off < udpLen || off+len(fast.Payload) > len(frame) {
			t.Fatalf("payload at %d not inside the frame after a UDP header", off)
		}
		if int(binary.BigEndian.Uint16(frame[off-4:]))-udpLen != len(fast.Payload) {
			t.Fatalf("payload length %d disagrees with the UDP length field", len(fast.Payload))
		}
	})
}

func TestDecodeAllocs(t *testing.T) {
	frames := map[LinkType][]byte{}
	for _, l := range []LinkType{Ethernet, LinuxSLL, LinuxSLL2, RawIP} {
		frames[l] = spec{link: l, payload: payload, options: []byte{0x94, 4, 0, 0}}.build()
	}
	frames[Ethernet] = spec{link: Ethernet, tags: []uint16{etherQinQ, etherVLAN}, payload: payload}.build()
	var u UDP
	for l, f := range frames {
		if n := testing.AllocsPerRun(100, func() {
			if err := DecodeUDP(l, f, &u); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("fast path on %v allocates %v", l, n)
		}
		d := NewLayerDecoder(l)
		_ = d.DecodeUDP(f, &u) // warm: gopacket allocates its options slice once
		if n := testing.AllocsPerRun(100, func() {
			if err := d.DecodeUDP(f, &u); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("gopacket path on %v allocates %v", l, n)
		}
	}
	// Rejected frames do not allocate on the fast path.
	bad := spec{link: Ethernet, payload: payload, udpLenDelta: 3}.build()
	if n := testing.AllocsPerRun(100, func() { _ = DecodeUDP(Ethernet, bad, &u) }); n != 0 {
		t.Errorf("fast path allocates %v on a malformed frame", n)
	}
}

func BenchmarkDecodeUDP(b *testing.B) {
	mold := make([]byte, 1200) // a typical MoldUDP64 packet
	cases := []struct {
		name string
		link LinkType
		f    []byte
	}{
		{"Ethernet", Ethernet, spec{link: Ethernet, payload: mold}.build()},
		{"EthernetQinQ", Ethernet, spec{link: Ethernet, tags: []uint16{etherQinQ, etherVLAN}, payload: mold}.build()},
		{"EthernetOptions", Ethernet, spec{link: Ethernet, options: []byte{0x94, 4, 0, 0}, payload: mold}.build()},
		{"LinuxSLL", LinuxSLL, spec{link: LinuxSLL, payload: mold}.build()},
		{"LinuxSLL2", LinuxSLL2, spec{link: LinuxSLL2, payload: mold}.build()},
		{"RawIP", RawIP, spec{link: RawIP, payload: mold}.build()},
	}
	for _, c := range cases {
		var u UDP
		b.Run(c.name+"/fast", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.f)))
			for b.Loop() {
				if err := DecodeUDP(c.link, c.f, &u); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
		b.Run(c.name+"/gopacket", func(b *testing.B) {
			d := NewLayerDecoder(c.link)
			b.ReportAllocs()
			b.SetBytes(int64(len(c.f)))
			for b.Loop() {
				if err := d.DecodeUDP(c.f, &u); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
