package source

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/net/bpf"

	"github.com/ballast-risk/ballast/feedhandler/frame"
)

// TestUDPPortFilter runs the kernel filter's port-matching part in
// golang.org/x/net/bpf's interpreter (which lacks the packet-type
// extension the full program starts with; the veth test covers that).
func TestUDPPortFilter(t *testing.T) {
	eth := udpFrame(t, testDstPort, []byte("feed"))
	laterFragment := udpFrame(t, testDstPort, []byte("feed"))
	laterFragment[14+7] = 0x10 // fragment offset 16
	firstFragment := udpFrame(t, testDstPort, []byte("feed"))
	firstFragment[14+6] |= 0x20 // more fragments, offset 0: carries the UDP header
	withOptions := ipOptionsFrame(t)
	cases := []struct {
		name   string
		link   frame.LinkType
		frame  []byte
		accept bool
	}{
		{"udp to port", frame.Ethernet, eth, true},
		{"udp to other port", frame.Ethernet, udpFrame(t, testDstPort+1, []byte("feed")), false},
		{"tcp", frame.Ethernet, tcpFrame(t), false},
		{"arp", frame.Ethernet, arpFrame(t), false},
		{"later fragment", frame.Ethernet, laterFragment, false},
		{"first fragment", frame.Ethernet, firstFragment, true},
		{"ip options", frame.Ethernet, withOptions, true},
		{"runt", frame.Ethernet, eth[:20], false},
		{"raw ip", frame.RawIP, eth[14:], true},
		{"raw ip other port", frame.RawIP, udpFrame(t, 9, nil)[14:], false},
		{"raw ipv6", frame.RawIP, append([]byte{0x60}, eth[15:]...), false},
	}
	for _, c := range cases {
		prog, err := udpPortFilter(c.link, testDstPort)
		if err != nil {
			t.Fatal(err)
		}
		vm, err := bpf.NewVM(prog)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n, err := vm.Run(c.frame)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := n > 0; got != c.accept {
			t.Errorf("%s: accepted %v (%d bytes), want %v", c.name, got, n, c.accept)
		}
	}
	if _, err := udpPortFilter(frame.LinuxSLL, testDstPort); !errors.Is(err, ErrUnsupported) {
		t.Errorf("SLL filter: %v", err)
	}
}

// TestAFPacketFilterAssembles checks the whole program, packet-type check
// included, assembles.
func TestAFPacketFilterAssembles(t *testing.T) {
	for _, port := range []uint16{0, testDstPort} {
		for _, link := range []frame.LinkType{frame.Ethernet, frame.RawIP} {
			prog, err := afpacketFilter(link, port)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bpf.Assemble(prog); err != nil {
				t.Fatalf("link %v port %d: %v", link, port, err)
			}
		}
	}
}

// ipOptionsFrame is a UDP frame whose IPv4 header carries 4 bytes of
// options (a 24-byte header), testing the filter's header-length load.
func ipOptionsFrame(t testing.TB) []byte {
	t.Helper()
	f := udpFrame(t, testDstPort, []byte("feed"))
	ip := f[14:34]
	out := append([]byte(nil), f[:14]...)
	hdr := append([]byte(nil), ip...)
	hdr[0] = 0x46
	total := int(hdr[2])<<8 | int(hdr[3]) + 4
	hdr[2], hdr[3] = byte(total>>8), byte(total)
	hdr = append(hdr, 0x01, 0x01, 0x01, 0x00) // NOP NOP NOP EOL
	hdr[10], hdr[11] = 0, 0
	sum := ipChecksum(hdr)
	hdr[10], hdr[11] = byte(sum>>8), byte(sum)
	out = append(out, hdr...)
	return append(out, f[34:]...)
}

func TestAFPacketConfigErrors(t *testing.T) {
	bad := []AFPacketConfig{
		{},
		{Interface: "lo", FrameBytes: 100},
		{Interface: "lo", FrameBytes: 2000},
		{Interface: "lo", FrameBytes: AFPacketFrameBytesMax * 2},
		{Interface: "lo", BlockBytes: 1000},
		{Interface: "lo", BlockBytes: AFPacketBlockBytesMax * 2},
		{Interface: "lo", FrameBytes: 4096 * 3, BlockBytes: 4096 * 4},
		{Interface: "lo", Blocks: -1},
		{Interface: "lo", Blocks: AFPacketBlocksMax + 1},
		{Interface: "lo", BlockBytes: AFPacketBlockBytesMax, Blocks: AFPacketBlocksMax},
		{Interface: "lo", BlockTimeout: 500 * time.Microsecond},
		{Interface: "lo", BlockTimeout: AFPacketBlockTimeoutMax * 2},
		{Interface: "lo", ReadTimeout: -1},
		{Interface: "lo", ReadTimeout: AFPacketReadTimeoutMax * 2},
	}
	for i, cfg := range bad {
		a, err := OpenAFPacket(cfg)
		if !errors.Is(err, ErrConfig) {
			if a != nil {
				a.Close()
			}
			t.Errorf("config %d %+v: error %v, want ErrConfig", i, cfg, err)
		}
	}
}
