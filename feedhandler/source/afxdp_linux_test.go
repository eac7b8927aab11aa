//go:build linux

package source_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/internal/netnstest"
	"github.com/ballast-risk/ballast/feedhandler/source"
)

const (
	afxdpFeedPort  = 26477
	afxdpOtherPort = 26478
)

// openAFXDP opens an AF_XDP source on the pair's host end, skipping the
// test with the exact error where the kernel refuses AF_XDP or BPF.
func openAFXDP(t testing.TB, cfg source.AFXDPConfig) *source.AFXDP {
	t.Helper()
	a, err := source.OpenAFXDP(cfg)
	if errors.Is(err, source.ErrUnsupported) {
		t.Skipf("kernel refuses AF_XDP: %v", err)
	}
	if err != nil {
		t.Fatalf("OpenAFXDP: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func afxdpBaseConfig(pair *netnstest.Pair) source.AFXDPConfig {
	return source.AFXDPConfig{
		Interface:   pair.HostIf,
		DstPort:     afxdpFeedPort,
		BindMode:    source.AFXDPBindCopy,
		FrameCount:  64,
		RingSize:    32,
		ReadTimeout: 100 * time.Millisecond,
	}
}

func ip4(ip net.IP) uint32 { return binary.BigEndian.Uint32(ip.To4()) }

// readN reads exactly len(want) datagrams, bounded by a deadline, and checks
// contents, addresses and ports in order.
func readN(t *testing.T, a *source.AFXDP, pair *netnstest.Pair, want [][]byte) {
	t.Helper()
	pkts := make([]source.Packet, 16)
	got := 0
	deadline := time.Now().Add(5 * time.Second)
	for got < len(want) {
		if time.Now().After(deadline) {
			x, _ := a.XDPStats()
			t.Fatalf("received %d of %d; stats %+v, kernel %+v", got, len(want), a.Stats(), x)
		}
		before := source.Now()
		n, err := a.ReadBatch(pkts)
		if err != nil {
			t.Fatalf("ReadBatch: %v", err)
		}
		for _, p := range pkts[:n] {
			if got == len(want) {
				t.Fatalf("extra datagram %q", p.Data)
			}
			if !bytes.Equal(p.Data, want[got]) {
				t.Fatalf("datagram %d = %q, want %q", got, p.Data, want[got])
			}
			if p.SrcIP != ip4(pair.PeerIP) || p.DstIP != ip4(pair.HostIP) || p.DstPort != afxdpFeedPort || p.SrcPort == 0 {
				t.Fatalf("datagram %d addressing %+v", got, p)
			}
			if p.RecvNs < before || p.RecvNs > source.Now() {
				t.Fatalf("datagram %d RecvNs %d outside the call [%d, now]", got, p.RecvNs, before)
			}
			got++
		}
	}
}

func payloads(tag string, n, sizeStep int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s %d %s", tag, i, bytes.Repeat([]byte{byte('a' + i%26)}, i*sizeStep%1400))
	}
	return out
}

// TestAFXDPReceive sends feed datagrams and datagrams to another port from
// the peer namespace: the source receives exactly the feed, the kernel
// stack gets the rest; both XDP modes, in rounds that recycle every UMEM
// frame several times. After Close the feed goes to the stack again.
func TestAFXDPReceive(t *testing.T) {
	for _, mode := range []source.XDPAttachMode{source.XDPAttachDriver, source.XDPAttachGeneric} {
		t.Run(mode.String(), func(t *testing.T) {
			pair := netnstest.New(t)
			other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: pair.HostIP, Port: afxdpOtherPort})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			cfg := afxdpBaseConfig(pair)
			cfg.XDPMode = mode
			a := openAFXDP(t, cfg)
			if x, b := a.Modes(); x != mode || b != source.AFXDPBindCopy {
				t.Fatalf("Modes %v %v, want %v copy", x, b, mode)
			}

			const rounds, feedPerRound, otherPerRound = 6, 30, 10
			var feedBytes uint64
			for r := range rounds {
				feed := payloads(fmt.Sprintf("feed r%d", r), feedPerRound, 97)
				rest := payloads(fmt.Sprintf("other r%d", r), otherPerRound, 31)
				if err := pair.SendUDP(afxdpOtherPort, rest[:otherPerRound/2]); err != nil {
					t.Fatal(err)
				}
				if err := pair.SendUDP(afxdpFeedPort, feed); err != nil {
					t.Fatal(err)
				}
				if err := pair.SendUDP(afxdpOtherPort, rest[otherPerRound/2:]); err != nil {
					t.Fatal(err)
				}
				readN(t, a, pair, feed)
				for _, p := range feed {
					feedBytes += uint64(len(p))
				}
				buf := make([]byte, 2048)
				for i, want := range rest {
					other.SetReadDeadline(time.Now().Add(5 * time.Second))
					n, err := other.Read(buf)
					if err != nil {
						t.Fatalf("round %d: kernel stack got %d of %d: %v", r, i, len(rest), err)
					}
					if !bytes.Equal(buf[:n], want) {
						t.Fatalf("round %d: kernel stack datagram %d = %q, want %q", r, i, buf[:n], want)
					}
				}
			}
			// Nothing more is pending: a read times out empty.
			if n, err := a.ReadBatch(make([]source.Packet, 4)); n != 0 || err != nil {
				t.Fatalf("idle ReadBatch: %d %v", n, err)
			}

			st := a.Stats()
			want := source.Stats{Packets: rounds * feedPerRound, Bytes: feedBytes}
			if st != want {
				t.Errorf("Stats %+v, want %+v", st, want)
			}
			x, err := a.XDPStats()
			if err != nil {
				t.Fatal(err)
			}
			if x.XDPMode != mode || x.ZeroCopy || x.Redirected != rounds*feedPerRound || x.NoSocket != 0 ||
				x.Passed < rounds*otherPerRound || x.RxDropped != 0 || x.RxRingFull != 0 || x.RxInvalidDescs != 0 {
				t.Errorf("XDPStats %+v", x)
			}

			if err := a.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := a.Close(); !errors.Is(err, source.ErrClosed) {
				t.Errorf("second Close: %v", err)
			}
			if _, err := a.ReadBatch(make([]source.Packet, 1)); !errors.Is(err, source.ErrClosed) {
				t.Errorf("ReadBatch after Close: %v", err)
			}
			if x2, err := a.XDPStats(); !errors.Is(err, source.ErrClosed) || x2.Redirected != x.Redirected {
				t.Errorf("XDPStats after Close: %+v %v", x2, err)
			}
			if a.Stats() != st {
				t.Errorf("Stats after Close %+v, want %+v", a.Stats(), st)
			}
			// The program is gone: the feed port reaches the stack.
			feedConn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: pair.HostIP, Port: afxdpFeedPort})
			if err != nil {
				t.Fatal(err)
			}
			defer feedConn.Close()
			if err := pair.SendUDP(afxdpFeedPort, [][]byte{[]byte("after close")}); err != nil {
				t.Fatal(err)
			}
			feedConn.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 64)
			if n, err := feedConn.Read(buf); err != nil || string(buf[:n]) != "after close" {
				t.Fatalf("feed after Close: %q %v", buf[:n], err)
			}
		})
	}
}

// TestAFXDPDataValidUntilNextRead checks the zero-copy contract: a batch's
// Data stays intact while later datagrams arrive, until the next ReadBatch.
// The UMEM has 16 frames: 8 held by the batch, 8 in the fill ring. A second
// burst of 16 fills the 8 free frames and the rest is dropped; if held
// frames were handed back early, it would overwrite them.
func TestAFXDPDataValidUntilNextRead(t *testing.T) {
	pair := netnstest.New(t)
	cfg := afxdpBaseConfig(pair)
	cfg.FrameCount, cfg.RingSize = 16, 16
	a := openAFXDP(t, cfg)
	waitRedirected := func(n uint64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			x, err := a.XDPStats()
			if err != nil {
				t.Fatal(err)
			}
			if x.Redirected >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("XDP program redirected %d of %d", x.Redirected, n)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	first := payloads("first", 8, 50)
	if err := pair.SendUDP(afxdpFeedPort, first); err != nil {
		t.Fatal(err)
	}
	waitRedirected(8)
	pkts := make([]source.Packet, 16)
	n, err := a.ReadBatch(pkts)
	if err != nil || n != 8 {
		t.Fatalf("ReadBatch: %d %v, want all 8 queued datagrams", n, err)
	}
	second := payloads("second", 16, 70)
	if err := pair.SendUDP(afxdpFeedPort, second); err != nil {
		t.Fatal(err)
	}
	waitRedirected(8 + 16)
	for i, p := range pkts[:n] {
		if !bytes.Equal(p.Data, first[i]) {
			t.Fatalf("held datagram %d changed to %q", i, p.Data)
		}
	}
	if d := a.Stats().Dropped; d != 8 {
		t.Fatalf("Dropped %d, want 8", d)
	}
	readN(t, a, pair, second[:8])
}

// TestAFXDPDropsCounted overruns the rings without reading: what does not
// fit is dropped by the kernel and reported in Stats.Dropped.
func TestAFXDPDropsCounted(t *testing.T) {
	pair := netnstest.New(t)
	cfg := afxdpBaseConfig(pair)
	cfg.FrameCount, cfg.RingSize = 16, 16
	a := openAFXDP(t, cfg)
	const sent = 40
	if err := pair.SendUDP(afxdpFeedPort, payloads("burst", sent, 10)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.Stats().Dropped < sent-16 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if d := a.Stats().Dropped; d != sent-16 {
		x, _ := a.XDPStats()
		t.Fatalf("Dropped %d, want %d (kernel %+v)", d, sent-16, x)
	}
	pkts := make([]source.Packet, 64)
	got := 0
	for got < 16 {
		n, err := a.ReadBatch(pkts)
		if err != nil || n == 0 {
			t.Fatalf("ReadBatch after %d: %d %v", got, n, err)
		}
		got += n
	}
	if st := a.Stats(); st.Packets != 16 {
		t.Fatalf("Stats %+v", st)
	}
}

// TestAFXDPCloseWakesReader closes the source under a ReadBatch that waits
// without a timeout.
func TestAFXDPCloseWakesReader(t *testing.T) {
	pair := netnstest.New(t)
	cfg := afxdpBaseConfig(pair)
	cfg.ReadTimeout = 0
	a := openAFXDP(t, cfg)
	done := make(chan error, 1)
	go func() {
		_, err := a.ReadBatch(make([]source.Packet, 4))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, source.ErrClosed) {
			t.Fatalf("ReadBatch returned %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake ReadBatch")
	}
}

func TestAFXDPReadBatchAllocs(t *testing.T) {
	pair := netnstest.New(t)
	cfg := afxdpBaseConfig(pair)
	cfg.BusyPoll = true
	a := openAFXDP(t, cfg)
	if err := pair.SendUDP(afxdpFeedPort, payloads("alloc", 30, 3)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	pkts := make([]source.Packet, 2)
	total := 0
	allocs := testing.AllocsPerRun(20, func() {
		n, err := a.ReadBatch(pkts)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per ReadBatch", allocs)
	}
	if total < 30 {
		t.Fatalf("only %d datagrams read", total)
	}
}

func TestAFXDPConfigErrors(t *testing.T) {
	pair := netnstest.New(t)
	for _, tc := range []struct {
		name string
		edit func(*source.AFXDPConfig)
	}{
		{"no interface", func(c *source.AFXDPConfig) { c.Interface = "" }},
		{"missing interface", func(c *source.AFXDPConfig) { c.Interface = "blnosuch0" }},
		{"no port", func(c *source.AFXDPConfig) { c.DstPort = 0 }},
		{"queue beyond the NIC", func(c *source.AFXDPConfig) { c.QueueID = 1 }},
		{"negative queue", func(c *source.AFXDPConfig) { c.QueueID = -1 }},
		{"XDP mode", func(c *source.AFXDPConfig) { c.XDPMode = 7 }},
		{"bind mode", func(c *source.AFXDPConfig) { c.BindMode = 7 }},
		{"frame size", func(c *source.AFXDPConfig) { c.FrameBytes = 1500 }},
		{"frame count", func(c *source.AFXDPConfig) { c.FrameCount = 1000 }},
		{"ring size", func(c *source.AFXDPConfig) { c.RingSize = 100 }},
		{"ring too large", func(c *source.AFXDPConfig) { c.RingSize = 1 << 20 }},
		{"negative timeout", func(c *source.AFXDPConfig) { c.ReadTimeout = -time.Second }},
		{"long timeout", func(c *source.AFXDPConfig) { c.ReadTimeout = 2 * source.AFXDPReadTimeoutLimit }},
	} {
		cfg := afxdpBaseConfig(pair)
		tc.edit(&cfg)
		a, err := source.OpenAFXDP(cfg)
		if err == nil {
			a.Close()
		}
		if !errors.Is(err, source.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", tc.name, err)
		}
	}

	// An MTU that does not fit a 2048-byte frame is refused up front.
	if out, err := exec.Command("ip", "link", "set", "dev", pair.HostIf, "mtu", "1800").CombinedOutput(); err != nil {
		t.Fatalf("ip link set mtu: %v: %s", err, out)
	}
	cfg := afxdpBaseConfig(pair)
	if a, err := source.OpenAFXDP(cfg); err == nil {
		a.Close()
		t.Error("MTU 1800 accepted with 2048-byte frames")
	} else if !errors.Is(err, source.ErrConfig) {
		t.Errorf("MTU 1800: %v, want ErrConfig", err)
	}
	cfg.FrameBytes = 4096
	openAFXDP(t, cfg).Close()
	if out, err := exec.Command("ip", "link", "set", "dev", pair.HostIf, "mtu", "1500").CombinedOutput(); err != nil {
		t.Fatalf("ip link set mtu: %v: %s", err, out)
	}

	// Auto modes on veth: native XDP, copy-mode AF_XDP.
	cfg = afxdpBaseConfig(pair)
	cfg.XDPMode, cfg.BindMode = source.XDPAttachAuto, source.AFXDPBindAuto
	a := openAFXDP(t, cfg)
	if x, b := a.Modes(); x != source.XDPAttachDriver || b != source.AFXDPBindCopy {
		t.Errorf("auto modes on veth gave %v %v, want driver copy", x, b)
	}
	a.Close()

	// Zero-copy on veth: the kernel refuses, and says so.
	cfg = afxdpBaseConfig(pair)
	cfg.BindMode = source.AFXDPBindZeroCopy
	if a, err := source.OpenAFXDP(cfg); err == nil {
		a.Close()
		t.Error("zero-copy accepted on veth")
	} else if !errors.Is(err, source.ErrUnsupported) {
		t.Errorf("zero-copy on veth: %v, want ErrUnsupported", err)
	}
}
