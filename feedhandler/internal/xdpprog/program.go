// Package xdpprog builds, loads and attaches the feed handler's XDP
// program: it steers the market-data UDP port into AF_XDP sockets and passes
// everything else to the kernel stack.
//
// The program is assembled in Go with github.com/cilium/ebpf/asm (no C
// compiler, no generated object files). Per packet it parses Ethernet, at
// most one 802.1Q tag, IPv4 (honouring IHL, so options are skipped; fragments
// are passed) and UDP, bounds-checking every header against data_end. A
// packet whose UDP destination port equals the configured port is
// redirected with bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS):
// to the AF_XDP socket registered for the queue it arrived on, or to the
// kernel stack when that queue has none. Every other packet gets XDP_PASS.
//
// The port lives in a one-entry ARRAY map, so it can be changed on a loaded
// program (SetPort); port 0 redirects nothing. Three per-CPU counters record
// redirected packets, matching packets passed because their queue had no
// socket (the classic RSS-to-wrong-queue mistake), and packets passed.
package xdpprog

import (
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf/asm"

	"github.com/ballast-risk/ballast/feedhandler/internal/xsk"
)

// Names of the program and its maps (the kernel keeps 15 bytes), as
// bpftool shows them.
const (
	// ProgramName is the XDP program.
	ProgramName = "ballast_feed"
	// XSKMapName is the XSKMAP: rx queue id -> AF_XDP socket.
	XSKMapName = "ballast_xsks"
	// ConfigMap is the one-entry ARRAY holding the feed port (u32).
	ConfigMap = "ballast_cfg"
	// CountersMap is the per-CPU ARRAY of packet counters (u64).
	CountersMap = "ballast_cnt"
)

// labelPass marks the instructions that pass a packet to the stack.
const labelPass = "pass"

// QueuesMax is the number of XSKMAP slots: one per RX queue id.
const QueuesMax = xsk.QueueIDMax + 1

// Action is an XDP verdict.
type Action uint32

// XDP verdicts, as in enum xdp_action.
const (
	Aborted  Action = 0
	Drop     Action = 1
	Pass     Action = 2
	Tx       Action = 3
	Redirect Action = 4
)

// String returns the verdict's kernel name.
func (a Action) String() string {
	switch a {
	case Aborted:
		return "XDP_ABORTED"
	case Drop:
		return "XDP_DROP"
	case Pass:
		return "XDP_PASS"
	case Tx:
		return "XDP_TX"
	case Redirect:
		return "XDP_REDIRECT"
	}
	return fmt.Sprintf("Action(%d)", uint32(a))
}

// Counter indexes in the per-CPU counters map.
const (
	counterRedirected = 0 // redirected to an AF_XDP socket
	counterNoSocket   = 1 // port matched, but no socket on the rx queue
	counterPassed     = 2 // not the feed: passed to the stack
	countersLen       = 3
)

// Offsets in struct xdp_md.
const (
	mdData         = 0
	mdDataEnd      = 4
	mdRxQueueIndex = 16
)

// Header constants.
const (
	ethHeaderBytes  = 14
	vlanHeaderBytes = 4
	ipv4HeaderMin   = 20
	udpHeaderBytes  = 8
	ethTypeIPv4     = 0x0800
	ethTypeVLAN     = 0x8100
	ipProtoUDP      = 17
	ipFragMask      = 0x3fff // MF flag and fragment offset
)

// wire16 returns the value a native-endian 16-bit load yields for v stored
// in network byte order, so header fields compare without a byte swap.
func wire16(v uint16) int32 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return int32(binary.NativeEndian.Uint16(b[:]))
}

// Instructions returns the XDP program. Map loads refer to the maps by name
// (XSKMapName, ConfigMap, CountersMap).
func Instructions() asm.Instructions {
	const (
		ctx     = asm.R6 // struct xdp_md *
		pkt     = asm.R7 // cursor into the packet; later the verdict
		dataEnd = asm.R8
		port    = asm.R9 // UDP destination port; later the counter index
	)
	return asm.Instructions{
		asm.Mov.Reg(ctx, asm.R1),
		asm.LoadMem(pkt, ctx, mdData, asm.Word),
		asm.LoadMem(dataEnd, ctx, mdDataEnd, asm.Word),

		// Ethernet, and at most one 802.1Q tag. R3 = EtherType.
		asm.Mov.Reg(asm.R2, pkt),
		asm.Add.Imm(asm.R2, ethHeaderBytes),
		asm.JGT.Reg(asm.R2, dataEnd, labelPass),
		asm.LoadMem(asm.R3, pkt, 12, asm.Half),
		asm.JNE.Imm(asm.R3, wire16(ethTypeVLAN), "untagged"),
		asm.Mov.Reg(asm.R2, pkt),
		asm.Add.Imm(asm.R2, ethHeaderBytes+vlanHeaderBytes),
		asm.JGT.Reg(asm.R2, dataEnd, labelPass),
		asm.LoadMem(asm.R3, pkt, 16, asm.Half),
		asm.Add.Imm(pkt, ethHeaderBytes+vlanHeaderBytes),
		asm.Ja.Label("l3"),
		asm.Add.Imm(pkt, ethHeaderBytes).WithSymbol("untagged"),

		// IPv4: version 4, IHL >= 5, protocol UDP, not a fragment.
		asm.JNE.Imm(asm.R3, wire16(ethTypeIPv4), labelPass).WithSymbol("l3"),
		asm.Mov.Reg(asm.R2, pkt),
		asm.Add.Imm(asm.R2, ipv4HeaderMin),
		asm.JGT.Reg(asm.R2, dataEnd, labelPass),
		asm.LoadMem(asm.R3, pkt, 0, asm.Byte),
		asm.Mov.Reg(asm.R4, asm.R3),
		asm.RSh.Imm(asm.R4, 4),
		asm.JNE.Imm(asm.R4, 4, labelPass),
		asm.And.Imm(asm.R3, 0x0f),
		asm.JLT.Imm(asm.R3, 5, labelPass),
		asm.LoadMem(asm.R4, pkt, 9, asm.Byte),
		asm.JNE.Imm(asm.R4, ipProtoUDP, labelPass),
		asm.LoadMem(asm.R4, pkt, 6, asm.Half),
		asm.And.Imm(asm.R4, wire16(ipFragMask)),
		asm.JNE.Imm(asm.R4, 0, labelPass),
		asm.LSh.Imm(asm.R3, 2), // header length in bytes: 20..60
		asm.Add.Reg(pkt, asm.R3),

		// UDP: destination port into host order.
		asm.Mov.Reg(asm.R2, pkt),
		asm.Add.Imm(asm.R2, udpHeaderBytes),
		asm.JGT.Reg(asm.R2, dataEnd, labelPass),
		asm.LoadMem(port, pkt, 2, asm.Half),
		asm.HostTo(asm.BE, port, asm.Half),

		// Compare with the configured port (0: redirect nothing).
		asm.StoreImm(asm.R10, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, 0).WithReference(ConfigMap),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, labelPass),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.Word),
		asm.JEq.Imm(asm.R1, 0, labelPass),
		asm.JNE.Reg(asm.R1, port, labelPass),

		// Redirect to the socket of this rx queue, else pass.
		asm.LoadMapPtr(asm.R1, 0).WithReference(XSKMapName),
		asm.LoadMem(asm.R2, ctx, mdRxQueueIndex, asm.Word),
		asm.Mov.Imm(asm.R3, int32(Pass)),
		asm.FnRedirectMap.Call(),
		asm.Mov.Reg(pkt, asm.R0),
		asm.Mov.Imm(port, counterRedirected),
		asm.JEq.Imm(pkt, int32(Redirect), "count"),
		asm.Mov.Imm(port, counterNoSocket),
		asm.Ja.Label("count"),

		asm.Mov.Imm(pkt, int32(Pass)).WithSymbol(labelPass),
		asm.Mov.Imm(port, counterPassed),

		// Count the verdict and return it.
		asm.StoreMem(asm.R10, -8, port, asm.Word).WithSymbol("count"),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -8),
		asm.LoadMapPtr(asm.R1, 0).WithReference(CountersMap),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "return"),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
		asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
		asm.Mov.Reg(asm.R0, pkt).WithSymbol("return"),
		asm.Return(),
	}
}
