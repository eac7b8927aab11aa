package journal

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Replay calls fn, in sequence order, for every durable record with
// sequence number >= from (from 0 means from the first record), up to the
// last record durable when Replay started. rec is valid only during the
// call. An error from fn stops the replay and is returned as is. Records
// are re-verified; damage found now is an error wrapping ErrCorrupt. If
// records >= from were compacted away, Replay returns ErrCompacted.
// Appends may run concurrently; compaction waits for Replay.
func (j *Journal) Replay(from uint64, fn func(seq uint64, rec []byte) error) error {
	j.compactMu.RLock()
	defer j.compactMu.RUnlock()
	j.mu.Lock()
	closing := j.closing
	j.mu.Unlock()
	if closing {
		return ErrClosed
	}
	j.segMu.Lock()
	segs := append([]segment(nil), j.segs...)
	durableSeq, durableEnd := j.durableSeq, j.durableEnd
	j.segMu.Unlock()

	from = max(from, 1)
	if from < segs[0].firstSeq {
		return fmt.Errorf("%w: asked from %d, log starts at %d", ErrCompacted, from, segs[0].firstSeq)
	}
	if from > durableSeq {
		return nil
	}
	var buf []byte
	r := bufio.NewReaderSize(nil, readBufBytes)
	for i, s := range segs {
		isLast := i == len(segs)-1
		if !isLast && segs[i+1].firstSeq <= from {
			continue
		}
		limit := int64(-1)
		if isLast {
			limit = durableEnd - segHeaderBytes
		}
		var err error
		buf, err = replaySegment(s, r, limit, buf, from, durableSeq, fn)
		if err != nil {
			return err
		}
	}
	return nil
}

func replaySegment(s segment, r *bufio.Reader, limit int64, buf []byte, from, lastSeq uint64,
	fn func(seq uint64, rec []byte) error) ([]byte, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return buf, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	r.Reset(f)
	name := filepath.Base(s.path)
	var hb [segHeaderBytes]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return buf, fmt.Errorf("%w: segment %s: header: %v", ErrCorrupt, name, err)
	}
	h, err := decodeSegHeader(hb[:])
	if err != nil {
		return buf, fmt.Errorf("%w: segment %s: %v", ErrCorrupt, name, err)
	}
	if h.firstSeq != s.firstSeq {
		return buf, fmt.Errorf("%w: segment %s header says first seq %d", ErrCorrupt, name, h.firstSeq)
	}
	res, buf, err := scanRecords(r, h, limit, buf, func(seq uint64, rec []byte) error {
		if seq < from || seq > lastSeq {
			return nil
		}
		return fn(seq, rec)
	})
	if err != nil {
		return buf, err
	}
	if res.damage != "" {
		return buf, fmt.Errorf("%w: segment %s offset %d: %s", ErrCorrupt, name, res.end, res.damage)
	}
	return buf, nil
}
