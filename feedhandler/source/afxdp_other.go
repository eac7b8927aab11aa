//go:build !linux

package source

// AFXDP is the AF_XDP source; AF_XDP exists only on Linux.
type AFXDP struct{}

// OpenAFXDP returns ErrUnsupported: AF_XDP exists only on Linux.
func OpenAFXDP(AFXDPConfig) (*AFXDP, error) { return nil, ErrUnsupported }

// ReadBatch returns ErrUnsupported.
func (*AFXDP) ReadBatch([]Packet) (int, error) { return 0, ErrUnsupported }

// Stats returns zero counters.
func (*AFXDP) Stats() Stats { return Stats{} }

// XDPStats returns ErrUnsupported.
func (*AFXDP) XDPStats() (AFXDPStats, error) { return AFXDPStats{}, ErrUnsupported }

// Modes returns zero values.
func (*AFXDP) Modes() (XDPAttachMode, AFXDPBindMode) { return 0, 0 }

// Close returns ErrUnsupported.
func (*AFXDP) Close() error { return ErrUnsupported }
