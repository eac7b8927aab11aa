package itchgen

import (
	"bytes"

	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
)

// Packets runs the rest of the session and returns it as MoldUDP64 packets
// of session, numbered from sequence 1, each at most payloadBytesMax bytes (0
// takes moldudp64.PayloadBytesDefault), with the end-of-session packet last.
// It holds the whole session in memory: it is meant for tests and small
// captures; streaming callers drive a moldudp64.Packetizer themselves.
func (g *Generator) Packets(session moldudp64.Session, payloadBytesMax int) ([][]byte, error) {
	var pkts [][]byte
	pz, err := moldudp64.NewPacketizer(moldudp64.PacketizerConfig{Session: session, PayloadBytesMax: payloadBytesMax},
		func(pkt []byte, _ moldudp64.Header) error {
			pkts = append(pkts, bytes.Clone(pkt))
			return nil
		})
	if err != nil {
		return nil, err
	}
	var m itch.Message
	var buf []byte
	for g.Next(&m) {
		buf = m.Append(buf[:0])
		if _, err := pz.Append(buf); err != nil {
			return nil, err
		}
	}
	if err := pz.Flush(); err != nil {
		return nil, err
	}
	return append(pkts, pz.AppendEndOfSession(nil)), nil
}
