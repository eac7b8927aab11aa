package moldudp64

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestUDPRequester(t *testing.T) {
	server, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	client, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	r := NewUDPRequester(client, server.LocalAddr().(*net.UDPAddr).AddrPort())
	if err := r.Request(testSession, 12345, 17); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := server.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseRequest(buf[:n])
	if err != nil || req != (Request{Session: testSession, Seq: 12345, Count: 17}) {
		t.Fatalf("server got %+v, %v", req, err)
	}
	if from != client.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("request came from %v, not the receiving socket %v", from, client.LocalAddr())
	}
	allocs := testing.AllocsPerRun(50, func() {
		if err := r.Request(testSession, 1, 1); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Request allocates %v times", allocs)
	}
	// A closed socket reports an error rather than panicking.
	bad := NewUDPRequester(client, netip.MustParseAddrPort("127.0.0.1:9"))
	client.Close()
	if err := bad.Request(testSession, 1, 1); err == nil {
		t.Fatal("Request on a closed socket succeeded")
	}
}
