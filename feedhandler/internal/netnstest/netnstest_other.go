//go:build !linux

package netnstest

import (
	"errors"
	"net"
	"runtime"
	"testing"
)

// Pair is one veth pair whose peer end lives in a private network namespace.
type Pair struct {
	// NS is the name of the peer's network namespace.
	NS string
	// HostIf is the veth end in the test's namespace; PeerIf the end in NS.
	HostIf, PeerIf string
	// HostIP and PeerIP are the IPv4 addresses of the two ends (one /30).
	HostIP, PeerIP net.IP
	// HostMAC and PeerMAC are the Ethernet addresses of the two ends.
	HostMAC, PeerMAC net.HardwareAddr
}

var errNotLinux = errors.New("netnstest: network namespaces need linux")

// New skips t: network namespaces and veth pairs exist only on Linux.
func New(t testing.TB) *Pair {
	t.Helper()
	t.Skipf("netnstest: network namespaces need linux, have %s", runtime.GOOS)
	return nil
}

// InPeer reports that there is no peer namespace on this system.
func (p *Pair) InPeer(fn func() error) error { return errNotLinux }

// SendUDP reports that there is no peer namespace on this system.
func (p *Pair) SendUDP(dstPort uint16, payloads [][]byte) error { return errNotLinux }
