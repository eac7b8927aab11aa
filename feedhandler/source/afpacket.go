package source

import (
	"fmt"
	"time"

	"golang.org/x/net/bpf"

	"github.com/ballast-risk/ballast/feedhandler/frame"
)

// AF_PACKET ring bounds and defaults.
const (
	// AFPacketFrameBytesDefault is the ring's frame size. TPACKET_V3 packs
	// frames of any length into blocks, so it only has to divide the block.
	AFPacketFrameBytesDefault = 2048
	// AFPacketFrameBytesMin and AFPacketFrameBytesMax bound FrameBytes.
	AFPacketFrameBytesMin, AFPacketFrameBytesMax = 256, 1 << 16
	// AFPacketBlockBytesDefault is the size of one ring block.
	AFPacketBlockBytesDefault = 1 << 20
	// AFPacketBlockBytesMax bounds BlockBytes.
	AFPacketBlockBytesMax = 16 << 20
	// AFPacketBlocksDefault is the number of ring blocks.
	AFPacketBlocksDefault = 64
	// AFPacketBlocksMax bounds Blocks.
	AFPacketBlocksMax = 4096
	// AFPacketRingBytesMax bounds the whole ring (BlockBytes × Blocks).
	AFPacketRingBytesMax = 1 << 30
	// AFPacketBlockTimeoutDefault is how long the kernel keeps a block that
	// is not full before handing it over.
	AFPacketBlockTimeoutDefault = time.Millisecond
	// AFPacketBlockTimeoutMax bounds BlockTimeout.
	AFPacketBlockTimeoutMax = time.Second
	// AFPacketReadTimeoutMax bounds ReadTimeout.
	AFPacketReadTimeoutMax = time.Hour
	// afpacketArenaBytes holds the payloads of one ReadBatch.
	afpacketArenaBytes = 1 << 20
	// afpacketSnapBytes is how much of a frame the kernel filter keeps.
	afpacketSnapBytes = 1 << 18
)

// AFPacketConfig configures an AF_PACKET source.
type AFPacketConfig struct {
	// Interface is the network interface to capture on. Required.
	Interface string
	// FrameBytes is the ring's frame size (tp_frame_size); 0 selects
	// AFPacketFrameBytesDefault. A multiple of 16 that divides BlockBytes.
	FrameBytes int
	// BlockBytes is the size of one ring block (tp_block_size); 0 selects
	// AFPacketBlockBytesDefault. A multiple of the page size, at most
	// AFPacketBlockBytesMax; the longest frame captured must fit in one.
	BlockBytes int
	// Blocks is the number of ring blocks (tp_block_nr); 0 selects
	// AFPacketBlocksDefault. At most AFPacketBlocksMax, and BlockBytes ×
	// Blocks at most AFPacketRingBytesMax.
	Blocks int
	// BlockTimeout is how long the kernel waits for a block to fill before
	// it hands the block over anyway (tp_retire_blk_tov, millisecond
	// granularity); 0 selects AFPacketBlockTimeoutDefault. With sparse
	// traffic it is the latency TPACKET_V3 adds. In [1ms, 1s].
	BlockTimeout time.Duration
	// ReadTimeout makes ReadBatch return (0, nil) after this long without a
	// datagram; 0 waits until one arrives or the source is closed.
	ReadTimeout time.Duration
	// DstPort keeps only UDP datagrams to this destination port; 0 keeps
	// every port. The kernel filter drops other ports before they reach
	// the ring, so they are not counted as Skipped.
	DstPort uint16
}

func (c *AFPacketConfig) normalize(pageSize int) error {
	if c.Interface == "" {
		return fmt.Errorf("%w: AF_PACKET needs an Interface", ErrConfig)
	}
	if c.FrameBytes == 0 {
		c.FrameBytes = AFPacketFrameBytesDefault
	}
	if c.BlockBytes == 0 {
		c.BlockBytes = AFPacketBlockBytesDefault
	}
	if c.Blocks == 0 {
		c.Blocks = AFPacketBlocksDefault
	}
	if c.BlockTimeout == 0 {
		c.BlockTimeout = AFPacketBlockTimeoutDefault
	}
	switch {
	case c.FrameBytes < AFPacketFrameBytesMin || c.FrameBytes > AFPacketFrameBytesMax || c.FrameBytes%16 != 0:
		return fmt.Errorf("%w: FrameBytes %d: want a multiple of 16 in [%d, %d]", ErrConfig, c.FrameBytes, AFPacketFrameBytesMin, AFPacketFrameBytesMax)
	case c.BlockBytes < pageSize || c.BlockBytes > AFPacketBlockBytesMax || c.BlockBytes%pageSize != 0:
		return fmt.Errorf("%w: BlockBytes %d: want a multiple of the %d-byte page in [%d, %d]", ErrConfig, c.BlockBytes, pageSize, pageSize, AFPacketBlockBytesMax)
	case c.BlockBytes%c.FrameBytes != 0:
		return fmt.Errorf("%w: BlockBytes %d is not a multiple of FrameBytes %d", ErrConfig, c.BlockBytes, c.FrameBytes)
	case c.Blocks < 1 || c.Blocks > AFPacketBlocksMax:
		return fmt.Errorf("%w: Blocks %d outside [1, %d]", ErrConfig, c.Blocks, AFPacketBlocksMax)
	case c.BlockBytes*c.Blocks > AFPacketRingBytesMax:
		return fmt.Errorf("%w: ring of %d × %d bytes exceeds %d", ErrConfig, c.Blocks, c.BlockBytes, AFPacketRingBytesMax)
	case c.BlockTimeout < time.Millisecond || c.BlockTimeout > AFPacketBlockTimeoutMax:
		return fmt.Errorf("%w: BlockTimeout %v outside [1ms, %v]", ErrConfig, c.BlockTimeout, AFPacketBlockTimeoutMax)
	case c.ReadTimeout < 0 || c.ReadTimeout > AFPacketReadTimeoutMax:
		return fmt.Errorf("%w: ReadTimeout %v outside [0, %v]", ErrConfig, c.ReadTimeout, AFPacketReadTimeoutMax)
	}
	return nil
}

// packetOutgoing is the kernel's PACKET_OUTGOING packet type: a frame the
// host itself sent, which a packet socket sees too.
const packetOutgoing = 4

// afpacketFilter is the classic BPF program attached to the socket: it
// drops the host's own outgoing frames and, for a non-zero dstPort, every
// frame but unfragmented-or-first-fragment IPv4/UDP to dstPort.
func afpacketFilter(link frame.LinkType, dstPort uint16) ([]bpf.Instruction, error) {
	prog := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: packetOutgoing, SkipTrue: 1},
		bpf.Jump{Skip: 1},
		bpf.RetConstant{Val: 0},
	}
	if dstPort == 0 {
		return append(prog, bpf.RetConstant{Val: afpacketSnapBytes}), nil
	}
	body, err := udpPortFilter(link, dstPort)
	if err != nil {
		return nil, err
	}
	return append(prog, body...), nil
}

// udpPortFilter is a classic BPF program accepting IPv4/UDP frames to
// dstPort whose fragment offset is 0, for frames of the given link type.
func udpPortFilter(link frame.LinkType, dstPort uint16) ([]bpf.Instruction, error) {
	var prog []bpf.Instruction
	var ip uint32 // offset of the IPv4 header
	switch link {
	case frame.Ethernet:
		ip = 14
		prog = append(prog,
			bpf.LoadAbsolute{Off: 12, Size: 2}, // EtherType
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0x0800, SkipTrue: dropLabel},
		)
	case frame.RawIP:
		prog = append(prog,
			bpf.LoadAbsolute{Off: 0, Size: 1},
			bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0}, // IP version
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0x40, SkipTrue: dropLabel},
		)
	default:
		return nil, fmt.Errorf("%w: no kernel filter for link type %v", ErrUnsupported, link)
	}
	prog = append(prog,
		bpf.LoadAbsolute{Off: ip + 9, Size: 1}, // protocol
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 17, SkipTrue: dropLabel},
		bpf.LoadAbsolute{Off: ip + 6, Size: 2}, // flags and fragment offset
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: dropLabel},
		bpf.LoadMemShift{Off: ip},              // X = IPv4 header length
		bpf.LoadIndirect{Off: ip + 2, Size: 2}, // UDP destination port
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(dstPort), SkipTrue: dropLabel},
		bpf.RetConstant{Val: afpacketSnapBytes},
		bpf.RetConstant{Val: 0}, // the drop label
	)
	// Resolve the jumps to the final instruction.
	last := len(prog) - 1
	for i, ins := range prog {
		if j, ok := ins.(bpf.JumpIf); ok && j.SkipTrue == dropLabel {
			j.SkipTrue = uint8(last - i - 1)
			prog[i] = j
		}
	}
	return prog, nil
}

// dropLabel marks a jump to the drop return while a program is built.
const dropLabel = 0xff
