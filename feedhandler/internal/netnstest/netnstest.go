//go:build linux

package netnstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Pair is one veth pair whose peer end lives in a private network namespace.
type Pair struct {
	// NS is the name of the peer's network namespace (see `ip netns list`).
	NS string
	// HostIf is the veth end in the test's namespace; PeerIf the end in NS.
	HostIf, PeerIf string
	// HostIP and PeerIP are the IPv4 addresses of the two ends (one /30).
	HostIP, PeerIP net.IP
	// HostMAC and PeerMAC are the Ethernet addresses of the two ends.
	HostMAC, PeerMAC net.HardwareAddr
}

const (
	// linkUpWait bounds how long New waits for the host end to report
	// carrier after both ends are brought up.
	linkUpWait = 5 * time.Second
	// nameAttemptsMax bounds retries when a random name or subnet is taken.
	nameAttemptsMax = 8
	// sendPayloadsMax bounds the number of datagrams one SendUDP call sends.
	sendPayloadsMax = 1 << 20
)

// New creates a namespace and a veth pair for t and registers their removal
// with t.Cleanup. It skips t with the exact reason when the system cannot
// create them, and fails t on any later unexpected error.
func New(t testing.TB) *Pair {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skipf("netnstest: %v", err)
	}
	var p *Pair
	var err error
	for attempt := 0; attempt < nameAttemptsMax; attempt++ {
		p, err = newNames()
		if errors.Is(err, errSubnetTaken) {
			continue
		}
		if err != nil {
			t.Fatalf("netnstest: %v", err)
		}
		err = ipCmd("netns", "add", p.NS)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "exists") {
			t.Skipf("netnstest: cannot create a network namespace: %v", err)
		}
	}
	if err != nil {
		t.Fatalf("netnstest: %v", err)
	}
	t.Cleanup(func() {
		// Deleting the namespace destroys the peer end, which destroys the
		// pair; the explicit link delete covers a pair that was never moved.
		_ = ipCmd("link", "del", p.HostIf)
		if err := ipCmd("netns", "del", p.NS); err != nil {
			t.Errorf("netnstest: cleanup: %v", err)
		}
	})
	if err := ipCmd("link", "add", p.HostIf, "type", "veth", "peer", "name", p.PeerIf, "netns", p.NS); err != nil {
		t.Skipf("netnstest: cannot create a veth pair: %v", err)
	}
	if err := p.configure(); err != nil {
		t.Fatalf("netnstest: %v", err)
	}
	return p
}

// newNames draws random names and a /30 subnet of 169.254.0.0/16 that no
// address of the host namespace falls in.
func newNames() (*Pair, error) {
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("random names: %w", err)
	}
	id := hex.EncodeToString(r[:4]) // 8 hex digits: names stay under IFNAMSIZ.
	// RFC 3927 reserves the first and last /24; 169.254.169.0/24 holds
	// cloud metadata services (169.254.169.254), which a connected /30
	// route would hijack.
	third := 1 + r[4]%253
	if third >= 169 {
		third++
	}
	fourth := (r[5] % 64) * 4
	p := &Pair{
		NS:     "bltest-" + id,
		HostIf: "blh" + id,
		PeerIf: "blp" + id,
		HostIP: net.IPv4(169, 254, third, fourth+1).To4(),
		PeerIP: net.IPv4(169, 254, third, fourth+2).To4(),
	}
	subnet := &net.IPNet{IP: net.IPv4(169, 254, third, fourth).To4(), Mask: net.CIDRMask(30, 32)}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("host addresses: %w", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && subnet.Contains(n.IP) {
			return nil, errSubnetTaken
		}
	}
	return p, nil
}

// errSubnetTaken makes New draw another subnet.
var errSubnetTaken = errors.New("netnstest: subnet overlaps a host address")

// configure addresses both ends, brings them up, learns their MACs and
// installs static neighbour entries.
func (p *Pair) configure() error {
	hostCIDR := p.HostIP.String() + "/30"
	peerCIDR := p.PeerIP.String() + "/30"
	// addrgenmode none: no IPv6 link-local address, hence no DAD, router
	// solicitation or MLD frames on the link. Kernels without IPv6 refuse
	// it, which is fine.
	_ = ipCmd("link", "set", "dev", p.HostIf, "addrgenmode", "none")
	_ = ipCmd("-n", p.NS, "link", "set", "dev", p.PeerIf, "addrgenmode", "none")
	steps := [][]string{
		{"addr", "add", hostCIDR, "dev", p.HostIf},
		{"-n", p.NS, "addr", "add", peerCIDR, "dev", p.PeerIf},
		{"-n", p.NS, "link", "set", "dev", "lo", "up"},
		{"-n", p.NS, "link", "set", "dev", p.PeerIf, "up"},
		{"link", "set", "dev", p.HostIf, "up"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			return err
		}
	}
	host, err := net.InterfaceByName(p.HostIf)
	if err != nil {
		return fmt.Errorf("host interface %s: %w", p.HostIf, err)
	}
	p.HostMAC = host.HardwareAddr
	err = p.InPeer(func() error {
		peer, err := net.InterfaceByName(p.PeerIf)
		if err != nil {
			return err
		}
		p.PeerMAC = peer.HardwareAddr
		return nil
	})
	if err != nil {
		return fmt.Errorf("peer interface %s: %w", p.PeerIf, err)
	}
	steps = [][]string{
		{"-n", p.NS, "neigh", "replace", p.HostIP.String(), "lladdr", p.HostMAC.String(), "dev", p.PeerIf, "nud", "permanent"},
		{"neigh", "replace", p.PeerIP.String(), "lladdr", p.PeerMAC.String(), "dev", p.HostIf, "nud", "permanent"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			return err
		}
	}
	return p.waitUp()
}

// waitUp waits, bounded by linkUpWait, for the host end to have carrier.
func (p *Pair) waitUp() error {
	path := "/sys/class/net/" + p.HostIf + "/operstate"
	deadline := time.Now().Add(linkUpWait)
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("link state of %s: %w", p.HostIf, err)
		}
		state := string(bytes.TrimSpace(b))
		if state == "up" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still %q after %v", p.HostIf, state, linkUpWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// InPeer runs fn on a goroutine locked to an OS thread that has entered the
// peer namespace, and returns fn's error. Sockets fn opens belong to the peer
// namespace for their whole life, even after InPeer returns. The thread goes
// back to its original namespace afterwards; if that fails it is retired
// rather than reused.
func (p *Pair) InPeer(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored := false
		defer func() {
			// A thread left in the wrong namespace must not run other
			// goroutines: exiting while locked makes the runtime retire it.
			if restored {
				runtime.UnlockOSThread()
			}
		}()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- fmt.Errorf("netnstest: own namespace: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open("/var/run/netns/" + p.NS)
		if err != nil {
			errc <- fmt.Errorf("netnstest: peer namespace: %w", err)
			return
		}
		err = unix.Setns(int(target.Fd()), unix.CLONE_NEWNET)
		target.Close()
		if err != nil {
			restored = true // never left
			errc <- fmt.Errorf("netnstest: setns %s: %w", p.NS, err)
			return
		}
		fnErr := runRecovered(fn)
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
			restored = true
		} else if fnErr == nil {
			fnErr = fmt.Errorf("netnstest: restore namespace: %w", err)
		}
		errc <- fnErr
	}()
	return <-errc
}

// runRecovered runs fn, turning a panic into an error so the thread still
// goes back to its namespace.
func runRecovered(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("netnstest: function run in the peer namespace panicked: %v", v)
		}
	}()
	return fn()
}

// SendUDP sends each payload as one datagram from the peer end (an
// ephemeral source port on PeerIP) to HostIP:dstPort.
func (p *Pair) SendUDP(dstPort uint16, payloads [][]byte) error {
	if len(payloads) > sendPayloadsMax {
		return fmt.Errorf("netnstest: %d payloads exceed %d", len(payloads), sendPayloadsMax)
	}
	return p.InPeer(func() error {
		// An unconnected socket: ICMP port-unreachable replies from a host
		// with no listener do not turn into errors on later sends.
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: p.PeerIP})
		if err != nil {
			return fmt.Errorf("netnstest: socket: %w", err)
		}
		defer conn.Close()
		dst := &net.UDPAddr{IP: p.HostIP, Port: int(dstPort)}
		for i, b := range payloads {
			if _, err := conn.WriteToUDP(b, dst); err != nil {
				return fmt.Errorf("netnstest: send %d of %d: %w", i+1, len(payloads), err)
			}
		}
		return nil
	})
}

// ipCmd runs ip(8) and folds its stderr into the error.
func ipCmd(args ...string) error {
	cmd := exec.Command("ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
