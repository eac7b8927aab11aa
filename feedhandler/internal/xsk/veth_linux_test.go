//go:build linux

package xsk_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/internal/netnstest"
	"github.com/ballast-risk/ballast/feedhandler/internal/xdpprog"
	"github.com/ballast-risk/ballast/feedhandler/internal/xsk"
)

const testPort = 26401

// udpPayload returns the UDP payload of an untagged Ethernet/IPv4/UDP frame.
func udpPayload(t *testing.T, frame []byte) []byte {
	t.Helper()
	if len(frame) < 14+20+8 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
		t.Fatalf("not an IPv4 frame: %x", frame)
	}
	l4 := 14 + int(frame[14]&0x0f)*4
	if len(frame) < l4+8 {
		t.Fatalf("short frame: %x", frame)
	}
	return frame[l4+8 : l4+int(binary.BigEndian.Uint16(frame[l4+4:]))]
}

// attachFeed loads the XDP program for testPort, registers s for queue 0
// and attaches to ifindex in mode, skipping with the exact error where the
// kernel refuses.
func attachFeed(t *testing.T, s *xsk.Socket, ifindex int, mode xdpprog.AttachMode) *xdpprog.Program {
	t.Helper()
	p, err := xdpprog.Load(testPort)
	if errors.Is(err, xdpprog.ErrUnsupported) {
		t.Skipf("kernel refuses BPF: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Register(0, s.FD()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Attach(ifindex, mode); err != nil {
		if errors.Is(err, xdpprog.ErrUnsupported) {
			t.Skipf("kernel refuses XDP in %s mode: %v", mode, err)
		}
		t.Fatal(err)
	}
	return p
}

// receiveN waits for n packets, bounded by a deadline, checks each payload
// against want in order and recycles the frames batch by batch.
func receiveN(t *testing.T, s *xsk.Socket, want [][]byte) {
	t.Helper()
	descs := make([]xsk.Desc, 16)
	got := 0
	deadline := time.Now().Add(5 * time.Second)
	for got < len(want) {
		n := s.Receive(descs)
		if n == 0 {
			if time.Now().After(deadline) {
				st, _ := s.Statistics()
				t.Fatalf("received %d of %d; statistics %+v", got, len(want), st)
			}
			if _, err := s.Wait(50 * time.Millisecond); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for _, d := range descs[:n] {
			if got >= len(want) {
				t.Fatalf("more packets than sent: %x", s.Frame(d))
			}
			if p := udpPayload(t, s.Frame(d)); !bytes.Equal(p, want[got]) {
				t.Fatalf("packet %d payload %q, want %q", got, p, want[got])
			}
			got++
		}
		if s.HeldFrames() != n {
			t.Fatalf("held %d frames after receiving %d", s.HeldFrames(), n)
		}
		s.Recycle(descs[:n])
	}
}

// TestReceiveVeth sends rounds of datagrams through the XDP program into
// the socket, more in total than the UMEM has frames, so every frame is
// recycled through the fill ring several times.
func TestReceiveVeth(t *testing.T) {
	for _, tc := range []struct {
		mode       xdpprog.AttachMode
		needWakeup bool
	}{
		{xdpprog.AttachDriver, false},
		{xdpprog.AttachDriver, true},
		{xdpprog.AttachGeneric, false},
		{xdpprog.AttachGeneric, true},
	} {
		t.Run(fmt.Sprintf("%s/wakeup=%v", tc.mode, tc.needWakeup), func(t *testing.T) {
			pair := netnstest.New(t)
			ifc, err := net.InterfaceByName(pair.HostIf)
			if err != nil {
				t.Fatal(err)
			}
			cfg := xsk.Config{
				Ifindex: ifc.Index, FrameCount: 32, FrameSize: xsk.FrameSize2K,
				FillRingSize: 32, CompletionRingSize: 16, RxRingSize: 32,
				Mode: xsk.ModeCopy, NeedWakeup: tc.needWakeup,
			}
			s := openOrSkip(t, cfg)
			p := attachFeed(t, s, ifc.Index, tc.mode)
			const rounds, perRound = 8, 24
			for r := range rounds {
				want := make([][]byte, perRound)
				for i := range want {
					want[i] = fmt.Appendf(nil, "round %d packet %d %s", r, i, bytes.Repeat([]byte{'x'}, i*40))
				}
				if err := pair.SendUDP(testPort, want); err != nil {
					t.Fatal(err)
				}
				receiveN(t, s, want)
			}
			if s.HeldFrames() != 0 {
				t.Fatalf("%d frames held after recycling all", s.HeldFrames())
			}
			st, err := s.Statistics()
			if err != nil {
				t.Fatal(err)
			}
			if st != (xsk.Statistics{}) {
				t.Errorf("statistics %+v, want none dropped", st)
			}
			c, err := p.Counters()
			if err != nil {
				t.Fatal(err)
			}
			if c.Redirected != rounds*perRound || c.NoSocket != 0 {
				t.Errorf("program counters %+v, want %d redirected", c, rounds*perRound)
			}
		})
	}
}

// TestFillRingStarved holds every frame, so further packets find the fill
// ring empty and the kernel counts them dropped; recycling restores flow.
func TestFillRingStarved(t *testing.T) {
	pair := netnstest.New(t)
	ifc, err := net.InterfaceByName(pair.HostIf)
	if err != nil {
		t.Fatal(err)
	}
	s := openOrSkip(t, xsk.Config{
		Ifindex: ifc.Index, FrameCount: 16, FrameSize: xsk.FrameSize2K,
		FillRingSize: 16, CompletionRingSize: 16, RxRingSize: 16, Mode: xsk.ModeCopy,
	})
	attachFeed(t, s, ifc.Index, xdpprog.AttachGeneric)
	first := make([][]byte, 16)
	for i := range first {
		first[i] = fmt.Appendf(nil, "held %d", i)
	}
	if err := pair.SendUDP(testPort, first); err != nil {
		t.Fatal(err)
	}
	held := make([]xsk.Desc, 16)
	n := 0
	deadline := time.Now().Add(5 * time.Second)
	for n < len(held) && time.Now().Before(deadline) {
		s.Wait(50 * time.Millisecond)
		n += s.Receive(held[n:])
	}
	if n != len(held) {
		t.Fatalf("received %d of %d", n, len(held))
	}
	if err := pair.SendUDP(testPort, [][]byte{[]byte("lost 1"), []byte("lost 2"), []byte("lost 3")}); err != nil {
		t.Fatal(err)
	}
	var st xsk.Statistics
	for time.Now().Before(deadline) {
		if st, err = s.Statistics(); err != nil {
			t.Fatal(err)
		}
		if st.RxDropped >= 3 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st.RxDropped != 3 || st.RxFillRingEmptyDescs < 3 {
		t.Fatalf("statistics %+v, want 3 dropped for an empty fill ring", st)
	}
	s.Recycle(held)
	want := [][]byte{[]byte("after recycle")}
	if err := pair.SendUDP(testPort, want); err != nil {
		t.Fatal(err)
	}
	receiveN(t, s, want)
}

// TestTransmitVeth sends frames through the TX ring to a UDP socket in the
// peer namespace and reaps the completions.
func TestTransmitVeth(t *testing.T) {
	pair := netnstest.New(t)
	ifc, err := net.InterfaceByName(pair.HostIf)
	if err != nil {
		t.Fatal(err)
	}
	s := openOrSkip(t, xsk.Config{
		Ifindex: ifc.Index, FrameCount: 64, FrameSize: xsk.FrameSize2K,
		FillRingSize: 32, CompletionRingSize: 32, RxRingSize: 32, TxRingSize: 32,
		Mode: xsk.ModeCopy, NeedWakeup: true,
	})
	var peer *net.UDPConn
	if err := pair.InPeer(func() error {
		var err error
		peer, err = net.ListenUDP("udp4", &net.UDPAddr{IP: pair.PeerIP, Port: testPort})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer peer.Close()

	const n = 40 // more than the TX ring holds: two batches
	var want [][]byte
	var batch []xsk.Desc
	flush := func() {
		for len(batch) > 0 {
			sent, err := s.Transmit(batch)
			if err != nil {
				t.Fatal(err)
			}
			batch = batch[sent:]
			if len(batch) > 0 {
				s.Complete()
				time.Sleep(time.Millisecond)
			}
		}
	}
	for i := range n {
		d, ok := s.Alloc()
		if !ok {
			flush()
			s.Complete()
			if d, ok = s.Alloc(); !ok {
				t.Fatalf("no free frame for packet %d", i)
			}
		}
		payload := fmt.Appendf(nil, "tx %d", i)
		want = append(want, payload)
		f := buildUDP(s.Frame(d)[:0], pair, testPort, payload)
		d.Len = uint32(len(f))
		batch = append(batch, d)
	}
	flush()
	buf := make([]byte, 2048)
	for i := range n {
		peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, err := peer.Read(buf)
		if err != nil {
			t.Fatalf("peer received %d of %d: %v", i, n, err)
		}
		if !bytes.Equal(buf[:m], want[i]) {
			t.Fatalf("peer datagram %d = %q, want %q", i, buf[:m], want[i])
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.FreeFrames() != 64-32 && time.Now().Before(deadline) {
		s.Complete()
		time.Sleep(time.Millisecond)
	}
	if s.FreeFrames() != 32 || s.HeldFrames() != 0 {
		t.Fatalf("free %d held %d after all completions", s.FreeFrames(), s.HeldFrames())
	}
}

// buildUDP appends an Ethernet/IPv4/UDP frame from the pair's host end to
// its peer end.
func buildUDP(b []byte, pair *netnstest.Pair, port uint16, payload []byte) []byte {
	b = append(b, pair.PeerMAC...)
	b = append(b, pair.HostMAC...)
	b = binary.BigEndian.AppendUint16(b, 0x0800)
	ip := len(b)
	b = append(b, 0x45, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(20+8+len(payload)))
	b = append(b, 0, 0, 0x40, 0, 64, 17, 0, 0)
	b = append(b, pair.HostIP.To4()...)
	b = append(b, pair.PeerIP.To4()...)
	var sum uint32
	for i := ip; i < ip+20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[ip+10:], ^uint16(sum))
	b = binary.BigEndian.AppendUint16(b, 40001)
	b = binary.BigEndian.AppendUint16(b, port)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
	b = append(b, 0, 0) // no UDP checksum
	return append(b, payload...)
}
