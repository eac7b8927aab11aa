// Package xsk is a small AF_XDP socket library: the one place in the feed
// handler that touches the AF_XDP syscalls, mmap and unsafe.
//
// A Socket owns a UMEM (an anonymous mapping split into fixed-size frames),
// the four shared rings (fill, completion, RX and optionally TX) and the
// AF_XDP socket bound to one interface queue. Received frames are handed to
// the caller as descriptors whose bytes are read in place from the UMEM (no
// copy); the caller gives them back with Recycle, which refills the fill ring
// in one batch.
//
// Ring protocol. Each ring is a single-producer single-consumer queue shared
// with the kernel: a producer index, a consumer index, a flags word and a
// power-of-two array of entries. Indexes are free-running uint32 counters
// (entries = producer - consumer, slot = index & mask), so they wrap around
// 2^32 without special cases. Entries are written before the producer index
// is published with an atomic store (release) and read after the producer
// index is loaded with an atomic load (acquire); the consumer index is
// published the same way after the entries have been read. Local cached
// copies of the far-side index keep the shared cache lines out of the common
// path. The index arithmetic is portable and tested without a kernel.
//
// Socket is Linux-only; the ring code builds everywhere. A Socket is not
// safe for concurrent use, except that Interrupt and Statistics may be
// called from any goroutine until Close.
package xsk
