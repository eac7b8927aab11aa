//go:build linux

package source

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/ballast-risk/ballast/feedhandler/internal/netnstest"
)

func readRmemMax(t testing.TB) int {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUDPRecvBuffer(t *testing.T) {
	const want = 1 << 20
	u := mustListenUDP(t, UDPConfig{Addr: loopback, RecvBufferBytes: want})
	// Linux doubles the request; without CAP_NET_ADMIN it also caps it at
	// net.core.rmem_max.
	if got := u.RecvBufferBytes(); got < want && got < 2*readRmemMax(t) {
		t.Fatalf("RecvBufferBytes = %d, want >= %d", got, want)
	}
}

// TestUDPMulticastVeth receives multicast sent from another network
// namespace over a veth pair: a real IGMP join on a real Ethernet link.
func TestUDPMulticastVeth(t *testing.T) {
	p := netnstest.New(t)
	group := net.IPv4(239, 255, 77, 2).To4()
	u := mustListenUDP(t, UDPConfig{Group: group, Interface: p.HostIf, ReadTimeout: 5 * time.Second})
	port := u.LocalAddr().Port
	const count = 20
	err := p.InPeer(func() error {
		s, err := multicastSender(p.PeerIf)
		if err != nil {
			return err
		}
		defer s.Close()
		for i := 0; i < count; i++ {
			if _, err := s.WriteToUDP(payload(i, 64), &net.UDPAddr{IP: group, Port: port}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := readN(t, u, count)
	for i, pk := range got {
		if !bytes.Equal(pk.Data, payload(i, 64)) {
			t.Fatalf("datagram %d = %q", i, pk.Data)
		}
		if pk.SrcIP != ipv4Uint32(p.PeerIP) || pk.DstIP != ipv4Uint32(group) {
			t.Fatalf("datagram %d: %08x -> %08x", i, pk.SrcIP, pk.DstIP)
		}
	}
}

// TestUDPSourceSpecific joins a group for one sender only and checks a
// second sender's datagrams are filtered out by the kernel.
func TestUDPSourceSpecific(t *testing.T) {
	group := net.IPv4(239, 255, 77, 3).To4()
	u, err := ListenUDP(UDPConfig{Group: group, SourceIP: loopback, Interface: "lo", ReadTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Skipf("kernel refuses source-specific multicast on lo: %v", err)
	}
	defer u.Close()
	dst := &net.UDPAddr{IP: group, Port: u.LocalAddr().Port}
	send := func(from net.IP, msg string) {
		t.Helper()
		ifi, err := net.InterfaceByName("lo")
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: from})
		if err != nil {
			t.Skipf("cannot bind %v on lo: %v", from, err)
		}
		defer c.Close()
		pc := ipv4.NewPacketConn(c)
		if err := pc.SetMulticastInterface(ifi); err != nil {
			t.Skipf("kernel refuses multicast on lo: %v", err)
		}
		if err := pc.SetMulticastLoopback(true); err != nil {
			t.Skipf("kernel refuses multicast on lo: %v", err)
		}
		if _, err := c.WriteToUDP([]byte(msg), dst); err != nil {
			t.Skipf("kernel refuses multicast on lo: %v", err)
		}
	}
	send(net.IPv4(127, 0, 0, 2).To4(), "other source")
	send(loopback, "wanted source")
	pkts := make([]Packet, 4)
	n, err := u.ReadBatch(pkts)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Skip("kernel refuses multicast on lo: nothing delivered")
	}
	if n != 1 || string(pkts[0].Data) != "wanted source" || pkts[0].SrcIP != 0x7f000001 {
		t.Fatalf("got %d datagrams, first %q from %08x; want only the wanted source", n, pkts[0].Data, pkts[0].SrcIP)
	}
	if n, err := u.ReadBatch(pkts); n != 0 || err != nil {
		t.Fatalf("second ReadBatch = %d, %v; want nothing", n, err)
	}
}

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	if unix.SizeofCmsghdr == 16 {
		binary.NativeEndian.PutUint64(b, uint64(unix.CmsgLen(len(data))))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(unix.CmsgLen(len(data))))
	}
	binary.NativeEndian.PutUint32(b[unix.SizeofCmsghdr-8:], uint32(level))
	binary.NativeEndian.PutUint32(b[unix.SizeofCmsghdr-4:], uint32(typ))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestParseDropCount(t *testing.T) {
	count := binary.NativeEndian.AppendUint32(nil, 1234)
	drop := cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, count)
	other := cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, make([]byte, 12))
	cases := []struct {
		name string
		b    []byte
		want uint64
		ok   bool
	}{
		{"empty", nil, 0, false},
		{"drop", drop, 1234, true},
		{"after another", append(append([]byte(nil), other...), drop...), 1234, true},
		{"other only", other, 0, false},
		{"short header", drop[:unix.SizeofCmsghdr-1], 0, false},
		{"short data", drop[:unix.CmsgLen(2)], 0, false},
		{"short drop data", cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, []byte{1, 2}), 0, false},
		{"length beyond buffer", append(cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, count), 0)[:unix.CmsgLen(4)-1], 0, false},
	}
	for _, c := range cases {
		got, ok := parseDropCount(c.b)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: parseDropCount = %d, %v; want %d, %v", c.name, got, ok, c.want, c.ok)
		}
	}
	// A zero length must not loop forever.
	zero := make([]byte, 64)
	if _, ok := parseDropCount(zero); ok {
		t.Error("zero-length control message parsed")
	}
}

func FuzzParseDropCount(f *testing.F) {
	count := binary.NativeEndian.AppendUint32(nil, 7)
	f.Add(cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, count))
	f.Add(append(cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, make([]byte, 12)), cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, count)...))
	f.Add([]byte{})
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, ok := parseDropCount(b)
		if !ok && d != 0 {
			t.Fatalf("failed parse returned %d", d)
		}
		if ok && d > 1<<32-1 {
			t.Fatalf("drop count %d exceeds a uint32", d)
		}
	})
}
