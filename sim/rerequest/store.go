// Package rerequest is the simulator's MoldUDP64 re-request server: a
// bounded Store of a session's most recent messages, filled by the sender as
// it transmits, and a UDP Server that answers request packets with ordinary
// downstream packets sent back to the requester's address.
package rerequest

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
)

// Store bounds.
const (
	// MessagesDefault is the default number of messages a Store holds.
	MessagesDefault = 1 << 16
	// MessagesLimit bounds StoreConfig.MessagesMax.
	MessagesLimit = 1 << 24
	// BytesDefault is the default number of message bytes a Store holds.
	BytesDefault = 16 << 20
	// BytesLimit bounds StoreConfig.BytesMax.
	BytesLimit = 1 << 30
)

// Store errors.
var (
	// ErrSequence reports an Append whose sequence number does not follow
	// the previous one.
	ErrSequence = errors.New("rerequest: sequence number does not follow the last stored")
	// ErrMessageTooLarge reports a message larger than the store or than a
	// MoldUDP64 packet can carry.
	ErrMessageTooLarge = errors.New("rerequest: message too large")
)

// StoreConfig configures a Store.
type StoreConfig struct {
	// Session is the session whose messages are stored.
	Session moldudp64.Session
	// MessagesMax bounds the messages held: a ring of the most recent ones.
	// 0 means MessagesDefault.
	MessagesMax int
	// BytesMax bounds the message bytes held; the oldest messages are
	// evicted to make room. 0 means BytesDefault.
	BytesMax int
}

// entry locates a stored message in the byte ring.
type entry struct {
	off, n uint32
}

// Store holds the most recent messages of one session, keyed by sequence
// number: a ring of at most MessagesMax entries over a byte ring of BytesMax.
// Append (the sender) and reads (the server) may run concurrently. Append
// does not allocate.
//
// The byte ring is logical: a message starting near the end of the ring is
// written contiguously into a spill area past it, while it occupies the
// ring's first bytes for accounting. Messages are therefore always
// contiguous and eviction is exact: the oldest messages go while the live
// bytes plus the new message exceed BytesMax.
type Store struct {
	mu       sync.RWMutex
	session  moldudp64.Session
	entries  []entry
	data     []byte // bytesMax + spill area
	bytesMax int
	used     int    // live message bytes
	tail     int    // ring offset where the next message goes, < bytesMax
	first    uint64 // oldest held sequence number
	next     uint64 // sequence number after the newest; 0 before any Append
}

// NewStore returns an empty Store for cfg.
func NewStore(cfg StoreConfig) (*Store, error) {
	if cfg.MessagesMax == 0 {
		cfg.MessagesMax = MessagesDefault
	}
	if cfg.BytesMax == 0 {
		cfg.BytesMax = BytesDefault
	}
	if cfg.MessagesMax < 1 || cfg.MessagesMax > MessagesLimit {
		return nil, fmt.Errorf("rerequest: MessagesMax %d outside 1..%d", cfg.MessagesMax, MessagesLimit)
	}
	if cfg.BytesMax < 1 || cfg.BytesMax > BytesLimit {
		return nil, fmt.Errorf("rerequest: BytesMax %d outside 1..%d", cfg.BytesMax, BytesLimit)
	}
	spill := min(cfg.BytesMax, moldudp64.MessageBytesMax)
	return &Store{
		session:  cfg.Session,
		entries:  make([]entry, cfg.MessagesMax),
		data:     make([]byte, cfg.BytesMax+spill),
		bytesMax: cfg.BytesMax,
	}, nil
}

// Session returns the stored session.
func (s *Store) Session() moldudp64.Session { return s.session }

// Append stores msg as message seq, evicting the oldest messages as needed.
// The first Append fixes the start; each later one must be the next
// sequence number (ErrSequence otherwise).
func (s *Store) Append(seq uint64, msg []byte) error {
	n := len(msg)
	if n > s.bytesMax || n > moldudp64.MessageBytesMax {
		return ErrMessageTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == 0 {
		if seq == 0 {
			return ErrSequence
		}
		s.first, s.next = seq, seq
	} else if seq != s.next {
		return ErrSequence
	}
	m := uint64(len(s.entries))
	if s.next-s.first == m {
		s.evict() // the ring of entries is full
	}
	for s.used+n > s.bytesMax {
		s.evict()
	}
	copy(s.data[s.tail:], msg)
	s.entries[seq%m] = entry{off: uint32(s.tail), n: uint32(n)}
	s.used += n
	s.tail += n
	if s.tail >= s.bytesMax {
		s.tail -= s.bytesMax
	}
	s.next = seq + 1
	return nil
}

// evict drops the oldest message.
func (s *Store) evict() {
	s.used -= int(s.entries[s.first%uint64(len(s.entries))].n)
	s.first++
}

// Len returns the number of messages and bytes held.
func (s *Store) Len() (messages, bytes int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return int(s.next - s.first), s.used
}

// Range returns the held sequence numbers [first, next); first == next when
// empty.
func (s *Store) Range() (first, next uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.first, s.next
}

// View calls fn with each held message of [seq, seq+count) in order, under
// the store's read lock (fn must not call Append), until fn returns false.
// msg aliases the store and is valid only during the call. It returns the
// number of messages visited.
func (s *Store) View(seq, count uint64, fn func(seq uint64, msg []byte) bool) int {
	if count == 0 {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	lo := max(seq, s.first)
	hi := s.next
	if seq+count > seq && seq+count < hi {
		hi = seq + count
	}
	m := uint64(len(s.entries))
	visited := 0
	for q := lo; q < hi; q++ {
		e := s.entries[q%m]
		visited++
		if !fn(q, s.data[e.off:e.off+e.n:e.off+e.n]) {
			break
		}
	}
	return visited
}
