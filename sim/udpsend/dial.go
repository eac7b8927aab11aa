package udpsend

import (
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

// DialConfig says where and how to send.
type DialConfig struct {
	// Addr is the destination host:port: unicast or an IPv4 multicast group.
	Addr string
	// Local is the local address to bind (host:port, either part may be
	// empty); empty lets the kernel choose.
	Local string
	// Interface names the interface multicast leaves by; empty uses the
	// routing table.
	Interface string
	// TTL is the multicast time to live; 0 means 1 (stay on the link).
	TTL int
	// Loopback delivers multicast to listeners on this host as well.
	Loopback bool
	// SendBufferBytes sets SO_SNDBUF when non-zero.
	SendBufferBytes int
}

// Dial opens a UDP socket connected to c.Addr with c's multicast options.
func Dial(c DialConfig) (*net.UDPConn, error) {
	ap, err := netip.ParseAddrPort(c.Addr)
	if err != nil {
		ua, rerr := net.ResolveUDPAddr("udp4", c.Addr)
		if rerr != nil {
			return nil, fmt.Errorf("%w: Addr %q: %v", ErrConfig, c.Addr, rerr)
		}
		ap = ua.AddrPort()
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if !ap.Addr().Is4() || ap.Port() == 0 {
		return nil, fmt.Errorf("%w: Addr %q: want an IPv4 address and a port", ErrConfig, c.Addr)
	}
	var laddr *net.UDPAddr
	if c.Local != "" {
		laddr, err = net.ResolveUDPAddr("udp4", c.Local)
		if err != nil {
			return nil, fmt.Errorf("%w: Local %q: %v", ErrConfig, c.Local, err)
		}
	}
	if c.TTL < 0 || c.TTL > 255 {
		return nil, fmt.Errorf("%w: TTL %d outside 0..255", ErrConfig, c.TTL)
	}
	conn, err := net.DialUDP("udp4", laddr, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, fmt.Errorf("udpsend: dial %s: %w", ap, err)
	}
	if err := configure(conn, ap.Addr().IsMulticast(), c); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func configure(conn *net.UDPConn, multicast bool, c DialConfig) error {
	if c.SendBufferBytes > 0 {
		if err := conn.SetWriteBuffer(c.SendBufferBytes); err != nil {
			return fmt.Errorf("udpsend: SO_SNDBUF: %w", err)
		}
	}
	if !multicast {
		return nil
	}
	pc := ipv4.NewPacketConn(conn)
	ttl := c.TTL
	if ttl == 0 {
		ttl = 1
	}
	if err := pc.SetMulticastTTL(ttl); err != nil {
		return fmt.Errorf("udpsend: multicast TTL: %w", err)
	}
	if err := pc.SetMulticastLoopback(c.Loopback); err != nil {
		return fmt.Errorf("udpsend: multicast loopback: %w", err)
	}
	if c.Interface != "" {
		ifi, err := net.InterfaceByName(c.Interface)
		if err != nil {
			return fmt.Errorf("%w: Interface %q: %v", ErrConfig, c.Interface, err)
		}
		if err := pc.SetMulticastInterface(ifi); err != nil {
			return fmt.Errorf("udpsend: multicast interface %s: %w", c.Interface, err)
		}
	}
	return nil
}
