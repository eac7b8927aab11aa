package srcbench

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/source"
)

func TestKindNames(t *testing.T) {
	want := []string{"udp", "afpacket", "afxdp-generic", "afxdp-driver"}
	ks := Kinds()
	if len(ks) != len(want) {
		t.Fatalf("Kinds() = %v", ks)
	}
	for i, k := range ks {
		if k.String() != want[i] {
			t.Errorf("Kinds()[%d] = %q, want %q", i, k, want[i])
		}
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k, got, err)
		}
		if got, want := k.BusyPollable(), k == AFXDPGeneric || k == AFXDPDriver; got != want {
			t.Errorf("%v.BusyPollable() = %v", k, got)
		}
	}
	if _, err := ParseKind("xdp"); !errors.Is(err, ErrConfig) {
		t.Errorf("ParseKind(xdp) = %v, want ErrConfig", err)
	}
	if s := Kind(9).String(); s != "Kind(9)" {
		t.Errorf("Kind(9) = %q", s)
	}
}

func TestOpenRejects(t *testing.T) {
	lo := Target{Interface: "lo", IP: net.IPv4(127, 0, 0, 1), Port: 9}
	for _, k := range []Kind{UDP, AFPacket} {
		if s, err := Open(k, lo, Options{BusyPoll: true}); !errors.Is(err, ErrConfig) || s != nil {
			t.Errorf("Open(%v, busy-poll) = %v, %v; want nil, ErrConfig", k, s, err)
		}
	}
	if s, err := Open(Kind(9), lo, Options{}); !errors.Is(err, ErrConfig) || s != nil {
		t.Errorf("Open(Kind(9)) = %v, %v; want nil, ErrConfig", s, err)
	}
	// A failed open is a nil interface, not a typed nil pointer.
	if s, err := Open(AFXDPDriver, Target{Interface: "no-such-if0", Port: 9}, Options{}); err == nil || s != nil {
		t.Errorf("Open on a missing interface = %v, %v", s, err)
	}
}

// TestOpenUDPLoopback runs the whole pipeline over the UDP source on
// loopback: no privileges needed.
func TestOpenUDPLoopback(t *testing.T) {
	src, err := Open(UDP, Target{IP: net.IPv4(127, 0, 0, 1)}, Options{ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	addr := src.(*source.UDP).LocalAddr()
	conn, err := net.DialUDP("udp4", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 100
	p, err := NewPipeline(PipelineConfig{Target: n, StallTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f := NewFeed()
	buf := make([]byte, 0, PacketBytesMax)
	for i := 0; i < n; i++ {
		buf = f.AppendNext(buf[:0], source.Now())
		if _, err := conn.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if r := p.Result(); !r.Clean() || r.Ticks != n || p.Latency().Count() != n {
		t.Fatalf("result %+v, %d latency samples", r, p.Latency().Count())
	}
}
