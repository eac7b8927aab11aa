// Package netnstest builds throw-away veth pairs for tests of raw packet
// sources (AF_PACKET, AF_XDP).
//
// New creates a network namespace owned by the test and a veth pair: the
// host end stays in the test's current namespace (bind packet sockets to
// Pair.HostIf), the peer end lives in the new namespace, and traffic sent
// from the peer (SendUDP, or anything run through InPeer) arrives on the host
// end as real Ethernet frames. Addresses are taken from the IPv4 link-local
// range 169.254.0.0/16 as a /30 per pair (never 169.254.169.0/24, home of
// cloud metadata services, nor one holding an address the host has), with static
// neighbour entries on both ends so no ARP exchange is needed before the
// first frame. IPv6 address generation is turned off on both ends to keep
// the link quiet.
//
// Everything is removed by t.Cleanup. The test is skipped, with the exact
// error, when the system refuses to create namespaces or veth devices (not
// root, no CAP_NET_ADMIN, no `ip` binary, no veth support).
package netnstest
