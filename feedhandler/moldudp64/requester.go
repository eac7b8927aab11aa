package moldudp64

import (
	"net"
	"net/netip"
)

// UDPRequester sends request packets to a re-request server over UDP. The
// server answers to the request's source address, so send from the socket
// that receives the feed (or one read by the same loop) and feed the answers
// to the same Sequencer. Request does not allocate. Not safe for concurrent
// use (it is called from the Sequencer's goroutine).
type UDPRequester struct {
	conn   *net.UDPConn
	server netip.AddrPort
	buf    [RequestLen]byte
}

// NewUDPRequester returns a Requester that writes to server through conn.
// conn must be unconnected (net.ListenUDP), since requests go to server with
// WriteToUDPAddrPort.
func NewUDPRequester(conn *net.UDPConn, server netip.AddrPort) *UDPRequester {
	return &UDPRequester{conn: conn, server: server}
}

// Request sends one request packet for count messages from seq.
func (r *UDPRequester) Request(session Session, seq uint64, count uint16) error {
	b := AppendRequest(r.buf[:0], Request{Session: session, Seq: seq, Count: count})
	_, err := r.conn.WriteToUDPAddrPort(b, r.server)
	return err
}
