package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// snapWriter counts, checksums and bounds a snapshot's data as it is written.
type snapWriter struct {
	w     io.Writer
	sum   hash.Hash32
	n     int64
	limit int64
}

func (s *snapWriter) Write(p []byte) (int, error) {
	if s.n+int64(len(p)) > s.limit {
		return 0, ErrSnapshotSize
	}
	n, err := s.w.Write(p)
	s.sum.Write(p[:n])
	s.n += int64(n)
	return n, err
}

// WriteSnapshot stores src as the state after record seq, atomically (temp
// file, fsync, rename, directory fsync), then deletes older snapshots and the
// segments it fully covers. seq must not exceed LastSeq nor be below the
// latest snapshot's (rewriting the same seq replaces it). Concurrent Appends
// proceed meanwhile; snapshots are serialised.
func (j *Journal) WriteSnapshot(seq uint64, src io.WriterTo) error {
	j.snapMu.Lock()
	defer j.snapMu.Unlock()
	j.mu.Lock()
	closing := j.closing
	j.mu.Unlock()
	if closing {
		return ErrClosed
	}
	if seq > j.LastSeq() {
		return fmt.Errorf("%w: %d > %d", ErrSnapshotAhead, seq, j.LastSeq())
	}
	if j.hasSnap && seq < j.snapSeq {
		return fmt.Errorf("%w: %d < %d", ErrSnapshotStale, seq, j.snapSeq)
	}
	final := filepath.Join(j.dir, snapName(seq))
	tmp := final + tmpSuffix
	if err := writeSnapshotFile(tmp, seq, src, j.opts.SnapshotBytesMax); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("journal: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.snapSeq, j.hasSnap = seq, true
	return j.compact(seq)
}

func writeSnapshotFile(path string, seq uint64, src io.WriterTo, limit int64) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("journal: %w", cerr)
		}
	}()
	bw := bufio.NewWriterSize(f, readBufBytes)
	sw := &snapWriter{w: bw, sum: crc32.New(castagnoli), limit: limit}
	var hdr [snapHeaderBytes]byte
	copy(hdr[0:8], snapMagic)
	binary.LittleEndian.PutUint64(hdr[8:16], seq)
	if _, err := bw.Write(hdr[:]); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	sw.sum.Write(hdr[:])
	if _, err := src.WriteTo(sw); err != nil {
		if errors.Is(err, ErrSnapshotSize) {
			return err
		}
		return fmt.Errorf("journal: writing snapshot: %w", err)
	}
	var tr [snapTrailerBytes]byte
	binary.LittleEndian.PutUint64(tr[0:8], uint64(sw.n))
	binary.LittleEndian.PutUint32(tr[8:12], sw.sum.Sum32())
	binary.LittleEndian.PutUint32(tr[12:16], snapTrailerMagic)
	if _, err := bw.Write(tr[:]); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// readSnapshot reads and verifies a snapshot file, returning its data.
func readSnapshot(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	name := filepath.Base(path)
	size := st.Size()
	if size < snapHeaderBytes+snapTrailerBytes || size-snapHeaderBytes-snapTrailerBytes > limit {
		return nil, fmt.Errorf("%w: snapshot %s: size %d out of range", ErrCorrupt, name, size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("%w: snapshot %s: %v", ErrCorrupt, name, err)
	}
	return decodeSnapshot(name, b)
}

// decodeSnapshot verifies a whole snapshot file image and returns its data.
func decodeSnapshot(name string, b []byte) ([]byte, error) {
	if len(b) < snapHeaderBytes+snapTrailerBytes {
		return nil, fmt.Errorf("%w: snapshot %s: %d bytes", ErrCorrupt, name, len(b))
	}
	dataEnd := len(b) - snapTrailerBytes
	tr := b[dataEnd:]
	switch {
	case string(b[0:8]) != snapMagic:
		return nil, fmt.Errorf("%w: snapshot %s: magic", ErrCorrupt, name)
	case binary.LittleEndian.Uint32(tr[12:16]) != snapTrailerMagic:
		return nil, fmt.Errorf("%w: snapshot %s: trailer magic", ErrCorrupt, name)
	case binary.LittleEndian.Uint64(tr[0:8]) != uint64(dataEnd-snapHeaderBytes):
		return nil, fmt.Errorf("%w: snapshot %s: length", ErrCorrupt, name)
	case crc32.Checksum(b[:dataEnd], castagnoli) != binary.LittleEndian.Uint32(tr[8:12]):
		return nil, fmt.Errorf("%w: snapshot %s: CRC mismatch", ErrCorrupt, name)
	}
	return b[snapHeaderBytes:dataEnd:dataEnd], nil
}

// LatestSnapshot returns the newest snapshot's sequence number and data,
// verified; ok is false when there is none.
func (j *Journal) LatestSnapshot() (seq uint64, data []byte, ok bool, err error) {
	j.snapMu.Lock()
	defer j.snapMu.Unlock()
	var info RecoveryInfo
	_, snaps, err := j.listDir(&info)
	if err != nil {
		return 0, nil, false, err
	}
	if len(snaps) == 0 {
		return 0, nil, false, nil
	}
	seq = snaps[len(snaps)-1]
	data, err = readSnapshot(filepath.Join(j.dir, snapName(seq)), j.opts.SnapshotBytesMax)
	if err != nil {
		return 0, nil, false, err
	}
	return seq, data, true, nil
}

// compact deletes snapshots older than seq and every segment whose records
// all have sequence numbers <= seq. The active segment is never deleted.
func (j *Journal) compact(seq uint64) error {
	var info RecoveryInfo
	_, snaps, err := j.listDir(&info)
	if err != nil {
		return err
	}
	var errs []error
	removed := false
	for _, s := range snaps {
		if s < seq {
			if err := os.Remove(filepath.Join(j.dir, snapName(s))); err != nil {
				errs = append(errs, err)
			}
			removed = true
		}
	}
	j.compactMu.Lock()
	j.segMu.Lock()
	drop := 0
	for drop+1 < len(j.segs) && j.segs[drop+1].firstSeq <= seq+1 {
		drop++
	}
	victims := append([]segment(nil), j.segs[:drop]...)
	j.segs = append(j.segs[:0], j.segs[drop:]...)
	j.segMu.Unlock()
	for _, s := range victims {
		if err := os.Remove(s.path); err != nil {
			errs = append(errs, err)
		}
		removed = true
	}
	j.compactMu.Unlock()
	if removed {
		if err := syncDir(j.dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("journal: compaction after snapshot %d: %w", seq, err)
	}
	return nil
}
