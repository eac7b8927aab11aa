//go:build linux

package xdpprog_test

import (
	"encoding/binary"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/internal/netnstest"
	"github.com/ballast-risk/ballast/feedhandler/internal/xdpprog"
)

// frameBytesMax bounds fuzzed frames: BPF_PROG_TEST_RUN takes at most about
// a page of XDP data.
const frameBytesMax = 1500

// refVerdict is the program's rule written plainly in Go, with a socket
// registered for rx queue 0 and port configured.
func refVerdict(b []byte, port uint16) xdpprog.Action {
	if len(b) < 14 {
		return xdpprog.Pass
	}
	et, off := binary.BigEndian.Uint16(b[12:]), 14
	if et == 0x8100 {
		if len(b) < 18 {
			return xdpprog.Pass
		}
		et, off = binary.BigEndian.Uint16(b[16:]), 18
	}
	if et != 0x0800 || len(b) < off+20 {
		return xdpprog.Pass
	}
	if b[off]>>4 != 4 || b[off]&0x0f < 5 || b[off+9] != 17 ||
		binary.BigEndian.Uint16(b[off+6:])&0x3fff != 0 {
		return xdpprog.Pass
	}
	l4 := off + int(b[off]&0x0f)*4
	if len(b) < l4+8 || port == 0 || binary.BigEndian.Uint16(b[l4+2:]) != port {
		return xdpprog.Pass
	}
	return xdpprog.Redirect
}

// FuzzVerdict runs arbitrary frames through the loaded program with
// BPF_PROG_TEST_RUN and compares its verdict with refVerdict.
func FuzzVerdict(f *testing.F) {
	for _, p := range []pkt{
		{dport: feedPort, payload: 16},
		{dport: feedPort + 1, payload: 16},
		{vlan: true, dport: feedPort, payload: 4},
		{ihl: 7, dport: feedPort},
		{ihl: 15, dport: feedPort, truncTo: 14 + 60 + 5},
		{proto: 6, dport: feedPort, payload: 3},
		{frag: 0x2000, dport: feedPort},
		{ethType: 0x0806},
	} {
		f.Add(p.bytes(), uint16(feedPort))
	}
	f.Add(pkt{dport: 0}.bytes(), uint16(0))
	p := loadOrSkip(f, feedPort)
	pair := netnstest.New(f)
	s := socketOn(f, pair)
	if err := p.Register(0, s.FD()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, frame []byte, port uint16) {
		if len(frame) < 14 || len(frame) > frameBytesMax {
			return // BPF_PROG_TEST_RUN refuses these sizes
		}
		if err := p.SetPort(port); err != nil {
			t.Fatal(err)
		}
		got, err := p.Test(frame)
		if err != nil {
			t.Fatal(err)
		}
		if want := refVerdict(frame, port); got != want {
			t.Fatalf("port %d frame %x: program says %v, reference %v", port, frame, got, want)
		}
	})
}
