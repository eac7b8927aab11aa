//go:build !linux

package source

import (
	"net"

	"golang.org/x/net/ipv4"
)

// listenUDP binds a UDP socket. Outside Linux no extra socket options are
// set: several listeners cannot share a multicast port, and the kernel's
// drop count is not reported.
func listenUDP(bind *net.UDPAddr, multicast bool) (*net.UDPConn, error) {
	return net.ListenUDP("udp4", bind)
}

// setRecvBuffer asks for a receive buffer of n bytes.
func setRecvBuffer(conn *net.UDPConn, n int) error { return conn.SetReadBuffer(n) }

// recvBuffer reports 0: the granted size is not read back outside Linux.
func recvBuffer(conn *net.UDPConn) (int, error) { return 0, nil }

func newUDPReceiver(conn *net.UDPConn, pc *ipv4.PacketConn, batchMax, datagramBytesMax int, portable bool) (udpReceiver, error) {
	return newXNetReceiver(pc, batchMax, datagramBytesMax, 0), nil
}

// parseDropCount reports no drop count outside Linux.
func parseDropCount(b []byte) (uint64, bool) { return 0, false }
