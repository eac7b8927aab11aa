// Package shmring is the same-host shared-memory transport of the binary
// verdict protocol (DESIGN §5.2): a matching engine on the appliance itself
// exchanges the same SOFH-framed SBE messages as on TCP (package sbe) over
// a pair of single-producer, single-consumer rings in one shared file, with
// no system call per message.
//
// # Sessions
//
// One file carries one session between one server and one client. The
// server creates the file with Listen (mode 0600; a stale file whose server
// is gone is replaced, a live one is refused with ErrInUse) and waits for
// the client with Accept; the client maps it with Dial. A server that
// serves several matching engines listens on one file per client, e.g. one
// per engine in a directory it owns. A session ends when either side calls
// Close or dies; the server then closes its Endpoint (which removes the
// file) and listens again.
//
// # File layout
//
// All integers are little-endian (Ballast runs on little-endian hosts
// only); offsets are in bytes from the start of the file. R is the data
// area of one ring, a power of two in [RingBytesMin, RingBytesMax].
//
//	header, 256 bytes, written by the server before it publishes magic:
//	  0  u64  magic "BLSTSHM1" (stored last, atomically)
//	  8  u32  version (2; 1 had no wake words)
//	 12  u32  header bytes (256)
//	 16  u32  R, the data bytes of each ring
//	 20  u32  frame bytes maximum F
//	 24  u32  ring control bytes (256)
//	 28  u32  reserved, 0
//	 32  u32  server pid
//	 36  u32  client pid (0 until a client claims the file, by CAS)
//	 40  u32  state: bit 0 server ready, bit 1 client attached,
//	          bit 2 server closed, bit 3 client closed (set by atomic CAS)
//	 44  ...  reserved, 0, up to 256
//	ring 0, requests (client produces, server consumes), at 256:
//	  +0    u64  tail: bytes published, free-running (producer writes)
//	  +8    u32  data sequence: futex word of a consumer waiting for a
//	             record (producer bumps)
//	  +12   u32  consumer sleeping: 1 while the consumer sleeps on +8
//	             (consumer sets; producer clears when it wakes it)
//	  +16   ...  padding to +128
//	  +128  u64  head: bytes released, free-running (consumer writes)
//	  +136  u32  room sequence: futex word of a producer waiting for
//	             room (consumer bumps)
//	  +140  u32  producer sleeping: 1 while the producer sleeps on +136
//	             (producer sets; consumer clears when it wakes it)
//	  +144  ...  padding to +256
//	  +256  R bytes of records
//	ring 1, responses (server produces, client consumes), at 512+R,
//	laid out like ring 0
//	end of file: 768+2R, rounded up to a page
//
// The two cursors sit 128 bytes apart, so that neither the cache line nor
// the adjacent-line prefetcher's 128-byte pair of one side is the other's.
// Each cursor shares its line with the flag its writer must look at right
// after storing it, so the look costs no extra cache miss; the other side
// writes that flag only when it goes to sleep. Close, on either side,
// also bumps all four sequences; any value is valid in the wake words.
//
// A record at position p (a multiple of 8) starts at data offset p mod R:
// a u32 length n in [1, F], then the n bytes of one SOFH frame exactly as
// on TCP (so the server runs one decoder for both transports), then zero
// to seven padding bytes up to the next multiple of 8. A record never
// crosses the end of the data area: when it would, the producer writes the
// wrap marker 0xFFFFFFFF as the length, skips to the next lap and writes
// the record at offset 0. R >= 2*(8+F) rounded, so every record fits.
//
// The producer writes records and then stores the new tail; the consumer
// loads the tail, reads records below it and then stores the new head
// (sync/atomic on the mapped words, which orders the plain byte copies as
// release/acquire do). Each side keeps private copies of both cursors and
// reads the other's only when its copy says the ring is full (producer) or
// empty (consumer). Nothing read from the file is trusted: cursors out of
// range or misaligned, lengths of 0 or above F and records crossing the
// tail or the end fail with ErrCorrupt, and a frame is copied out of the
// file before it is parsed, so a hostile peer cannot crash the other side.
//
// # Waiting
//
// A blocked read (empty ring) or write (full ring) re-checks spinAttempts
// times (tens of microseconds; the close flags are looked at every 64th
// attempt, an atomic load of the read-mostly header), then calls
// runtime.Gosched yieldAttempts times (together roughly 0.1 to 1 ms),
// then sleeps in the kernel on the ring's futex word
// (futex(2) FUTEX_WAIT, not the private variant, as the waker is another
// process): a reader on the data sequence, a writer on the room
// sequence. To sleep, a side loads the sequence, sets its sleeping flag,
// looks at the ring (and the close flags) once more and, if nothing
// changed, waits while the sequence still holds the value it loaded, for
// at most sleepDuration (10 ms). A producer, after storing its tail, and
// a consumer, after storing its head, load the other side's sleeping
// flag; only when it is set do they clear it, bump the sequence and call
// FUTEX_WAKE. All these are sequentially consistent atomics, so either
// the sleeper sees the new cursor or the waker sees the flag, and a bump
// between the sleeper's load and its wait makes FUTEX_WAIT return at
// once: no wake-up is lost. The non-waiting calls (Conn.TryWriteFrame,
// Conn.TryReadFrame) publish and release the same way, so they wake a
// sleeping server. Close stores its close bit, then bumps all four
// sequences and wakes every sleeper, on both sides. A sleeping side holds
// its OS thread, and its P until the runtime's sysmon hands the P to other
// goroutines (after 20 µs to 10 ms), as any blocking system call does.
//
// A ready ring costs no system call; a publish or release with nobody
// asleep costs one extra atomic load, and a wake-up one FUTEX_WAKE system
// call on the waker's side, plus the kernel's time to run the sleeper
// again. A sleep that times out (the sequence did not move) probes
// the peer's pid (kill(pid, 0)), so a peer that died without closing is
// noticed within about sleepDuration. A peer that closed is reported as
// ErrPeerClosed once its frames are drained, a peer process that is gone
// as ErrPeerDead; Close on this side unblocks the waiter with ErrClosed.
// Pid liveness assumes both sides share a pid namespace; a pid recycled
// after the peer's death hides the death until the new process exits, but
// the peer's close bit, set by Close, is always seen. A hostile peer can
// at worst make the other side's waits return early (by bumping its
// sequence) or make its publishes call FUTEX_WAKE (by keeping the flag
// set): both cost time, never correctness.
//
// # Concurrency
//
// On each side at most one goroutine reads (ReadFrame, Conn.TryReadFrame
// or Conn.Check) and at most one writes (WriteFrame, Conn.TryWriteFrame or
// Conn.Check) at a time; Close may be called from any goroutine. A client
// that wants no goroutine of its own per session polls with
// Conn.TryReadFrame and Conn.TryWriteFrame, which never wait.
package shmring
