//go:build linux

package xdpprog_test

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/internal/netnstest"
	"github.com/ballast-risk/ballast/feedhandler/internal/xdpprog"
	"github.com/ballast-risk/ballast/feedhandler/internal/xsk"
)

const feedPort = 26400

// pkt describes a test frame; zero fields take IPv4/UDP defaults.
type pkt struct {
	vlan    bool
	ethType uint16 // EtherType after the optional tag; default IPv4
	version uint8  // default 4
	ihl     uint8  // default 5
	proto   uint8  // default UDP
	frag    uint16 // flags and fragment offset field
	dport   uint16
	payload int // payload bytes
	truncTo int // cut the frame to this many bytes when > 0
}

func (p pkt) bytes() []byte {
	b := make([]byte, 0, 128)
	b = append(b, 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2) // dst, src MAC
	if p.vlan {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, 42) // VLAN id 42
	}
	et := p.ethType
	if et == 0 {
		et = 0x0800
	}
	b = binary.BigEndian.AppendUint16(b, et)
	if et == 0x0806 { // ARP request
		b = append(b, 0, 1, 8, 0, 6, 4, 0, 1)
		b = append(b, make([]byte, 20)...)
		return p.cut(b)
	}
	version, ihl, proto := p.version, p.ihl, p.proto
	if version == 0 {
		version = 4
	}
	if ihl == 0 {
		ihl = 5
	}
	if proto == 0 {
		proto = 17
	}
	l4 := 8
	if proto == 6 {
		l4 = 20
	}
	ip := make([]byte, int(ihl)*4)
	ip[0] = version<<4 | ihl
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+l4+p.payload))
	binary.BigEndian.PutUint16(ip[6:], p.frag)
	ip[8] = 64
	ip[9] = proto
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	for i := 20; i < len(ip); i++ {
		ip[i] = 1 // NOP options
	}
	b = append(b, ip...)
	l4b := make([]byte, l4)
	binary.BigEndian.PutUint16(l4b[0:], 40000)
	binary.BigEndian.PutUint16(l4b[2:], p.dport)
	if proto == 17 {
		binary.BigEndian.PutUint16(l4b[4:], uint16(l4+p.payload))
	}
	b = append(b, l4b...)
	b = append(b, make([]byte, p.payload)...)
	return p.cut(b)
}

func (p pkt) cut(b []byte) []byte {
	if p.truncTo > 0 {
		return b[:p.truncTo]
	}
	return b
}

// loadOrSkip loads the program and skips with the exact error where the
// kernel refuses BPF.
func loadOrSkip(t testing.TB, port uint16) *xdpprog.Program {
	t.Helper()
	p, err := xdpprog.Load(port)
	if errors.Is(err, xdpprog.ErrUnsupported) {
		t.Skipf("kernel refuses BPF: %v", err)
	}
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// socketOn opens an AF_XDP socket on the pair's host end, skipping with the
// exact error where the kernel refuses AF_XDP.
func socketOn(t testing.TB, pair *netnstest.Pair) *xsk.Socket {
	t.Helper()
	ifc, err := net.InterfaceByName(pair.HostIf)
	if err != nil {
		t.Fatal(err)
	}
	s, err := xsk.Open(xsk.Config{
		Ifindex: ifc.Index, FrameCount: 64, FrameSize: xsk.FrameSize2K,
		FillRingSize: 64, CompletionRingSize: 16, RxRingSize: 64, Mode: xsk.ModeCopy,
	})
	if errors.Is(err, xsk.ErrUnsupported) {
		t.Skipf("kernel refuses AF_XDP: %v", err)
	}
	if err != nil {
		t.Fatalf("xsk.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestVerdicts(t *testing.T) {
	p := loadOrSkip(t, feedPort)
	if port, err := p.Port(); err != nil || port != feedPort {
		t.Fatalf("Port: %d %v", port, err)
	}
	// No socket registered yet: the feed goes to the stack.
	if got, err := p.Test(pkt{dport: feedPort, payload: 32}.bytes()); err != nil || got != xdpprog.Pass {
		t.Fatalf("feed frame without a socket: %v %v", got, err)
	}
	pair := netnstest.New(t)
	s := socketOn(t, pair)
	if err := p.Register(0, s.FD()); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		pkt  pkt
		want xdpprog.Action
	}{
		{"feed port", pkt{dport: feedPort, payload: 100}, xdpprog.Redirect},
		{"feed port, empty payload", pkt{dport: feedPort}, xdpprog.Redirect},
		{"other port", pkt{dport: feedPort + 1, payload: 100}, xdpprog.Pass},
		{"byte-swapped port", pkt{dport: feedPort&0xff<<8 | feedPort>>8, payload: 10}, xdpprog.Pass},
		{"TCP to feed port", pkt{proto: 6, dport: feedPort, payload: 10}, xdpprog.Pass},
		{"ICMP", pkt{proto: 1, payload: 10}, xdpprog.Pass},
		{"ARP", pkt{ethType: 0x0806}, xdpprog.Pass},
		{"IPv6 EtherType", pkt{ethType: 0x86dd, dport: feedPort, payload: 40}, xdpprog.Pass},
		{"VLAN feed port", pkt{vlan: true, dport: feedPort, payload: 64}, xdpprog.Redirect},
		{"VLAN other port", pkt{vlan: true, dport: 53, payload: 64}, xdpprog.Pass},
		{"VLAN ARP", pkt{vlan: true, ethType: 0x0806}, xdpprog.Pass},
		{"IPv4 options IHL 6", pkt{ihl: 6, dport: feedPort, payload: 8}, xdpprog.Redirect},
		{"IPv4 options IHL 15", pkt{ihl: 15, dport: feedPort, payload: 8}, xdpprog.Redirect},
		{"IPv4 options, other port", pkt{ihl: 15, dport: 9, payload: 8}, xdpprog.Pass},
		{"VLAN and options", pkt{vlan: true, ihl: 9, dport: feedPort, payload: 1}, xdpprog.Redirect},
		{"IHL 4", pkt{ihl: 4, dport: feedPort, payload: 8}, xdpprog.Pass},
		{"version 6 in IPv4 EtherType", pkt{version: 6, dport: feedPort, payload: 40}, xdpprog.Pass},
		{"first fragment (MF)", pkt{frag: 0x2000, dport: feedPort, payload: 8}, xdpprog.Pass},
		{"later fragment", pkt{frag: 0x00b9, dport: feedPort, payload: 8}, xdpprog.Pass},
		{"DF set", pkt{frag: 0x4000, dport: feedPort, payload: 8}, xdpprog.Redirect},
		{"truncated: Ethernet only", pkt{dport: feedPort, truncTo: 14}, xdpprog.Pass},
		{"truncated: half IPv4 header", pkt{dport: feedPort, truncTo: 14 + 10}, xdpprog.Pass},
		{"truncated: no UDP header", pkt{dport: feedPort, truncTo: 14 + 20}, xdpprog.Pass},
		{"truncated: half UDP header", pkt{dport: feedPort, truncTo: 14 + 20 + 4}, xdpprog.Pass},
		{"truncated: UDP header complete", pkt{dport: feedPort, payload: 50, truncTo: 14 + 20 + 8}, xdpprog.Redirect},
		{"truncated: VLAN tag", pkt{vlan: true, dport: feedPort, truncTo: 16}, xdpprog.Pass},
		{"truncated: options past the end", pkt{ihl: 15, dport: feedPort, truncTo: 14 + 40}, xdpprog.Pass},
		{"truncated: UDP behind options", pkt{ihl: 15, dport: feedPort, truncTo: 14 + 60 + 6}, xdpprog.Pass},
	}
	var want xdpprog.Counters
	for _, tc := range cases {
		got, err := p.Test(tc.pkt.bytes())
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if tc.want == xdpprog.Redirect {
			want.Redirected++
		} else {
			want.Passed++
		}
	}
	want.NoSocket = 1 // the first run, before Register
	if got, err := p.Counters(); err != nil || got != want {
		t.Errorf("counters %+v (%v), want %+v", got, err, want)
	}

	// The port can change under the loaded program; 0 disables it.
	if err := p.SetPort(feedPort + 1); err != nil {
		t.Fatal(err)
	}
	for port, want := range map[uint16]xdpprog.Action{feedPort: xdpprog.Pass, feedPort + 1: xdpprog.Redirect} {
		if got, _ := p.Test(pkt{dport: port}.bytes()); got != want {
			t.Errorf("after SetPort(%d): port %d gave %v, want %v", feedPort+1, port, got, want)
		}
	}
	if err := p.SetPort(0); err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Test(pkt{dport: 0}.bytes()); got != xdpprog.Pass {
		t.Errorf("port 0 (disabled): %v", got)
	}
	if err := p.SetPort(feedPort); err != nil {
		t.Fatal(err)
	}
	if err := p.Unregister(0); err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Test(pkt{dport: feedPort}.bytes()); got != xdpprog.Pass {
		t.Errorf("after Unregister: %v", got)
	}
	if err := p.Unregister(0); err != nil {
		t.Errorf("second Unregister: %v", err)
	}
	for _, q := range []int{-1, xdpprog.QueuesMax} {
		if err := p.Register(q, s.FD()); err == nil {
			t.Errorf("Register(queue %d) succeeded", q)
		}
	}
}

// TestAttach attaches in each mode and checks that feed packets still reach
// the kernel stack while no socket is registered (the XDP_PASS fallback).
func TestAttach(t *testing.T) {
	pair := netnstest.New(t)
	ifc, err := net.InterfaceByName(pair.HostIf)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: pair.HostIP, Port: feedPort})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, mode := range []xdpprog.AttachMode{xdpprog.AttachDriver, xdpprog.AttachGeneric, xdpprog.AttachAuto} {
		p := loadOrSkip(t, feedPort)
		got, err := p.Attach(ifc.Index, mode)
		if errors.Is(err, xdpprog.ErrUnsupported) {
			t.Skipf("kernel refuses XDP attach in %s mode: %v", mode, err)
		}
		if err != nil {
			t.Fatalf("Attach(%s): %v", mode, err)
		}
		want := mode
		if mode == xdpprog.AttachAuto {
			want = xdpprog.AttachDriver // veth supports native XDP
		}
		if got != want {
			t.Errorf("Attach(%s) attached in %s mode", mode, got)
		}
		if m, ok := p.Attached(); !ok || m != got {
			t.Errorf("Attached: %s %v", m, ok)
		}
		if _, err := p.Attach(ifc.Index, mode); !errors.Is(err, xdpprog.ErrAttached) {
			t.Errorf("second Attach: %v", err)
		}
		// A second program on the same interface is refused, not swapped in.
		p2 := loadOrSkip(t, feedPort)
		if _, err := p2.Attach(ifc.Index, mode); err == nil {
			t.Errorf("%s: a second program attached to the same interface", mode)
		}

		const n = 5
		payloads := make([][]byte, n)
		for i := range payloads {
			payloads[i] = []byte{byte(i), 'x', byte(mode)}
		}
		if err := pair.SendUDP(feedPort, payloads); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		for i := range n {
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			m, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("%s: stack received %d of %d: %v", mode, i, n, err)
			}
			if m != 3 || buf[0] != byte(i) || buf[2] != byte(mode) {
				t.Fatalf("%s: datagram %d = %x", mode, i, buf[:m])
			}
		}
		c, err := p.Counters()
		if err != nil {
			t.Fatal(err)
		}
		if c.NoSocket != n || c.Redirected != 0 {
			t.Errorf("%s: counters %+v, want NoSocket %d", mode, c, n)
		}
		if err := p.Detach(); err != nil {
			t.Fatalf("Detach: %v", err)
		}
		if _, ok := p.Attached(); ok {
			t.Error("still attached after Detach")
		}
		if err := p.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := p.Close(); !errors.Is(err, xdpprog.ErrClosed) {
			t.Errorf("second Close: %v", err)
		}
		if _, err := p.Test(pkt{}.bytes()); !errors.Is(err, xdpprog.ErrClosed) {
			t.Errorf("Test after Close: %v", err)
		}
	}
}

// BenchmarkProgram times the program in the kernel with BPF_PROG_TEST_RUN
// on a feed frame and on a non-feed frame.
func BenchmarkProgram(b *testing.B) {
	p := loadOrSkip(b, feedPort)
	for _, bc := range []struct {
		name string
		pkt  pkt
	}{
		{"feed", pkt{vlan: true, dport: feedPort, payload: 64}},
		{"other", pkt{dport: 53, payload: 64}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			frame := bc.pkt.bytes()
			_, per, err := p.BPF().Benchmark(frame, b.N, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(per.Nanoseconds()), "kernel-ns/pkt")
			b.ReportMetric(1e9/float64(max(per.Nanoseconds(), 1)), "pkts/s")
		})
	}
}
