//go:build linux

package netnstest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func nsInode(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

func TestPairSendUDP(t *testing.T) {
	p := New(t)
	if len(p.HostMAC) != 6 || len(p.PeerMAC) != 6 {
		t.Fatalf("MACs: host %v peer %v", p.HostMAC, p.PeerMAC)
	}
	if p.HostIP.To4() == nil || p.PeerIP.To4() == nil || p.HostIP.Equal(p.PeerIP) {
		t.Fatalf("IPs: host %v peer %v", p.HostIP, p.PeerIP)
	}
	if _, err := net.InterfaceByName(p.PeerIf); err == nil {
		t.Fatalf("peer interface %s is visible in the host namespace", p.PeerIf)
	}

	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: p.HostIP})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := uint16(conn.LocalAddr().(*net.UDPAddr).Port)

	const count = 16
	payloads := make([][]byte, count)
	for i := range payloads {
		payloads[i] = []byte(fmt.Sprintf("datagram %02d", i))
	}
	if err := p.SendUDP(port, payloads); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < count; i++ {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if !from.IP.Equal(p.PeerIP) {
			t.Errorf("datagram %d from %v, want %v", i, from.IP, p.PeerIP)
		}
		if !bytes.Equal(buf[:n], payloads[i]) {
			t.Errorf("datagram %d = %q, want %q", i, buf[:n], payloads[i])
		}
	}
}

func TestInPeerNamespace(t *testing.T) {
	p := New(t)
	host, err := nsInode("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var inPeer uint64
	err = p.InPeer(func() error {
		var err error
		inPeer, err = nsInode("/proc/thread-self/ns/net")
		if err != nil {
			return err
		}
		if _, err := net.InterfaceByName(p.PeerIf); err != nil {
			return fmt.Errorf("peer interface not visible inside the namespace: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if inPeer == host {
		t.Fatalf("InPeer ran in the host namespace (inode %d)", host)
	}
	want := fmt.Errorf("sentinel")
	if got := p.InPeer(func() error { return want }); got != want {
		t.Fatalf("InPeer error = %v, want %v", got, want)
	}
	if err := p.InPeer(func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("InPeer of a panicking function = %v", err)
	}
	after, err := nsInode("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if after != host {
		t.Fatalf("caller's namespace changed: %d -> %d", host, after)
	}
}

func TestCleanupRemovesPair(t *testing.T) {
	var p *Pair
	t.Run("pair", func(t *testing.T) {
		p = New(t)
	})
	if p == nil {
		t.Skip("no pair was created")
	}
	if _, err := net.InterfaceByName(p.HostIf); err == nil {
		t.Errorf("host interface %s survives cleanup", p.HostIf)
	}
	if _, err := os.Stat("/var/run/netns/" + p.NS); err == nil {
		t.Errorf("namespace %s survives cleanup", p.NS)
	}
}
