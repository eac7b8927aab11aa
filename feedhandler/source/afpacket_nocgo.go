//go:build !cgo || !linux

package source

import "fmt"

// AFPacket is the AF_PACKET source. This build has none: the source is
// built on github.com/google/gopacket/afpacket, which needs cgo on Linux.
type AFPacket struct{}

// OpenAFPacket validates cfg and reports that AF_PACKET needs a cgo build
// on Linux (the error wraps ErrUnsupported).
func OpenAFPacket(cfg AFPacketConfig) (*AFPacket, error) {
	if err := cfg.normalize(4096); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: AF_PACKET needs a cgo build on Linux", ErrUnsupported)
}

// ReadBatch reports ErrUnsupported.
func (a *AFPacket) ReadBatch(pkts []Packet) (int, error) {
	return 0, fmt.Errorf("%w: AF_PACKET needs a cgo build on Linux", ErrUnsupported)
}

// Stats returns zero counters.
func (a *AFPacket) Stats() Stats { return Stats{} }

// Close does nothing.
func (a *AFPacket) Close() error { return nil }
