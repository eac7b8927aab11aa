package source

import (
	"encoding/binary"
	"fmt"
	"io"
)

// pcapng block types the guard looks into.
const (
	ngBlockSection        = 0x0a0d0d0a
	ngBlockPacketObsolete = 2
	ngBlockSimplePacket   = 3
	ngBlockEnhancedPacket = 6
	ngByteOrderMagic      = 0x1a2b3c4d
)

// ngGuard passes a pcapng stream through to pcapgo, checking every block's
// framing on the way. pcapgo's NgReader allocates a packet's capture length
// before reading it and trusts it, so a hostile length would cost gigabytes;
// the guard withholds a block whose lengths are impossible (and everything
// after it) and reports ErrPcapCorrupt instead, which pcapgo returns before
// it allocates. Because pcapgo reads through a read-ahead buffer, the guard
// always sees a block's header before pcapgo parses it.
type ngGuard struct {
	r   io.Reader
	err error // sticky: set once framing breaks

	bigEndian bool
	hdr       [28]byte // the current block's leading bytes
	fill      int      // bytes of hdr collected
	need      int      // bytes of hdr needed before the block can be checked
	left      uint64   // bytes of the current block still to pass through
}

// Read implements io.Reader.
func (g *ngGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	ok, bad := g.scan(p[:n])
	if bad != nil {
		g.err = fmt.Errorf("%w: %v", ErrPcapCorrupt, bad)
		if ok == 0 {
			return 0, g.err
		}
		return ok, nil
	}
	return n, err
}

// midBlock reports whether the stream so far ends inside a block.
func (g *ngGuard) midBlock() bool { return g.fill > 0 || g.left > 0 }

func (g *ngGuard) u32(b []byte) uint32 {
	if g.bigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// scan advances the block framing over b. On a framing error it returns
// the number of leading bytes of b that precede the broken block, and the
// error.
func (g *ngGuard) scan(b []byte) (int, error) {
	if g.need == 0 {
		g.need = 8
	}
	i := 0
	blockStart := 0 // where the current block's header began within b
	for i < len(b) {
		if g.left > 0 {
			skip := uint64(len(b) - i)
			if skip > g.left {
				skip = g.left
			}
			i += int(skip)
			g.left -= skip
			continue
		}
		if g.fill == 0 {
			blockStart = i
		}
		take := copy(g.hdr[g.fill:g.need], b[i:])
		g.fill += take
		i += take
		if g.fill < g.need {
			break
		}
		done, err := g.check()
		if err != nil {
			return blockStart, err
		}
		if done {
			g.fill, g.need = 0, 8
		}
	}
	return len(b), nil
}

// check examines the collected header bytes. It asks for more (done false,
// g.need raised) or validates the block and sets g.left to the rest of it.
func (g *ngGuard) check() (done bool, err error) {
	typ := binary.LittleEndian.Uint32(g.hdr[0:4]) // the section type is a palindrome
	if typ == ngBlockSection {
		if g.need < 12 {
			g.need = 12
			return false, nil
		}
		switch {
		case binary.BigEndian.Uint32(g.hdr[8:12]) == ngByteOrderMagic:
			g.bigEndian = true
		case binary.LittleEndian.Uint32(g.hdr[8:12]) == ngByteOrderMagic:
			g.bigEndian = false
		default:
			return false, fmt.Errorf("section header byte-order magic %x", g.hdr[8:12])
		}
	} else {
		typ = g.u32(g.hdr[0:4])
	}
	blockLen := g.u32(g.hdr[4:8])
	minLen := uint32(12)
	switch typ {
	case ngBlockSection:
		minLen = 28
	case ngBlockEnhancedPacket, ngBlockPacketObsolete:
		minLen = 32
		if g.need < 28 {
			g.need = 28
			return false, nil
		}
	case ngBlockSimplePacket:
		minLen = 16
		if g.need < 12 {
			g.need = 12
			return false, nil
		}
	}
	if blockLen < minLen || blockLen%4 != 0 || blockLen > pcapngBlockBytesMax {
		return false, fmt.Errorf("block type %#x length %d", typ, blockLen)
	}
	switch typ {
	case ngBlockEnhancedPacket, ngBlockPacketObsolete:
		capLen := g.u32(g.hdr[20:24])
		if capLen > blockLen-32 || capLen > PcapFrameBytesMax {
			return false, fmt.Errorf("packet block capture length %d in a %d-byte block", capLen, blockLen)
		}
	case ngBlockSimplePacket:
		if origLen := g.u32(g.hdr[8:12]); origLen > PcapFrameBytesMax {
			return false, fmt.Errorf("simple packet block length %d", origLen)
		}
	}
	g.left = uint64(blockLen) - uint64(g.fill)
	return true, nil
}
