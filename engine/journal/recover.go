package journal

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// readBufBytes is the read buffer used when scanning segments.
const readBufBytes = 256 << 10

// listDir returns the segments and snapshot sequence numbers in dir, sorted
// ascending, and deletes leftover temporary files.
func (j *Journal) listDir(info *RecoveryInfo) ([]segment, []uint64, error) {
	ents, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	var segs []segment
	var snaps []uint64
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, tmpSuffix):
			if err := os.Remove(filepath.Join(j.dir, name)); err != nil {
				return nil, nil, fmt.Errorf("journal: removing leftover %s: %w", name, err)
			}
			info.RemovedFiles = append(info.RemovedFiles, name)
			j.log.Warn("journal: removed leftover temporary file", "dir", j.dir, "file", name)
		case strings.HasSuffix(name, segSuffix) && isDigits(strings.TrimSuffix(name, segSuffix)):
			seq, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
			if err != nil || seq == 0 {
				return nil, nil, fmt.Errorf("%w: segment name %s", ErrCorrupt, name)
			}
			segs = append(segs, segment{firstSeq: seq, path: filepath.Join(j.dir, name)})
		case strings.HasSuffix(name, snapSuffix) && isDigits(strings.TrimSuffix(name, snapSuffix)):
			seq, err := strconv.ParseUint(strings.TrimSuffix(name, snapSuffix), 10, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: snapshot name %s", ErrCorrupt, name)
			}
			snaps = append(snaps, seq)
		}
	}
	sort.Slice(segs, func(a, b int) bool { return segs[a].firstSeq < segs[b].firstSeq })
	sort.Slice(snaps, func(a, b int) bool { return snaps[a] < snaps[b] })
	return segs, snaps, nil
}

// recover validates the directory, truncates a torn tail and opens the last
// segment for appending.
func (j *Journal) recover() (RecoveryInfo, error) {
	var info RecoveryInfo
	segs, snaps, err := j.listDir(&info)
	if err != nil {
		return info, err
	}
	if n := len(snaps); n > 0 {
		info.HasSnapshot, info.SnapshotSeq = true, snaps[n-1]
		// The snapshot must be intact: the log before it may be gone.
		if _, err := readSnapshot(filepath.Join(j.dir, snapName(info.SnapshotSeq)), j.opts.SnapshotBytesMax); err != nil {
			return info, err
		}
	}

	// A last segment whose header never completely reached the disk (crash
	// while creating it) holds no records: remove it.
	if n := len(segs); n > 0 {
		last := segs[n-1]
		st, err := os.Stat(last.path)
		if err != nil {
			return info, fmt.Errorf("journal: %w", err)
		}
		if st.Size() < segHeaderBytes || (st.Size() == segHeaderBytes && !validHeaderFile(last.path)) {
			if err := os.Remove(last.path); err != nil {
				return info, fmt.Errorf("journal: %w", err)
			}
			if err := syncDir(j.dir); err != nil {
				return info, fmt.Errorf("journal: %w", err)
			}
			name := filepath.Base(last.path)
			info.RemovedFiles = append(info.RemovedFiles, name)
			j.log.Warn("journal: removed segment with a torn header", "dir", j.dir, "file", name, "bytes", st.Size())
			segs = segs[:n-1]
		}
	}

	var buf []byte
	var lastSeq uint64
	var lastHdr segHeader
	var lastEnd int64
	for i, s := range segs {
		isLast := i == len(segs)-1
		if i > 0 && s.firstSeq != lastSeq+1 {
			return info, fmt.Errorf("%w: segment %s starts at %d, previous ends at %d",
				ErrCorrupt, filepath.Base(s.path), s.firstSeq, lastSeq)
		}
		h, res, size, b, err := scanSegmentFile(s.path, buf)
		buf = b
		if err != nil {
			return info, err
		}
		if h.firstSeq != s.firstSeq {
			return info, fmt.Errorf("%w: segment %s header says first seq %d", ErrCorrupt, filepath.Base(s.path), h.firstSeq)
		}
		if res.damage != "" {
			cut := size - res.end
			if !isLast || cut > int64(h.groupBytesMax) {
				return info, fmt.Errorf("%w: segment %s offset %d: %s (%d bytes follow; not a torn tail)",
					ErrCorrupt, filepath.Base(s.path), res.end, res.damage, cut)
			}
			if err := truncateFile(s.path, res.end); err != nil {
				return info, err
			}
			info.TruncatedSegment = filepath.Base(s.path)
			info.TruncatedOffset, info.TruncatedBytes, info.TruncateReason = res.end, cut, res.damage
			j.log.Warn("journal: truncated torn tail", "dir", j.dir, "segment", info.TruncatedSegment,
				"offset", res.end, "bytes", cut, "reason", res.damage, "last_seq", res.lastSeq)
		}
		lastSeq, lastHdr, lastEnd = res.lastSeq, h, res.end
	}

	if len(segs) == 0 {
		next := uint64(1)
		if info.HasSnapshot {
			next = info.SnapshotSeq + 1
		}
		f, err := j.createSegment(next)
		if err != nil {
			return info, fmt.Errorf("journal: %w", err)
		}
		segs = []segment{{firstSeq: next, path: filepath.Join(j.dir, segName(next))}}
		j.active = f
		lastSeq, lastEnd = next-1, segHeaderBytes
		lastHdr = segHeader{groupBytesMax: uint32(j.opts.GroupBytesMax), firstSeq: next}
	} else {
		if info.HasSnapshot && (segs[0].firstSeq > info.SnapshotSeq+1 || lastSeq < info.SnapshotSeq) {
			return info, fmt.Errorf("%w: log holds %d..%d, snapshot is at %d",
				ErrCorrupt, segs[0].firstSeq, lastSeq, info.SnapshotSeq)
		}
		f, err := os.OpenFile(segs[len(segs)-1].path, os.O_RDWR, 0)
		if err != nil {
			return info, fmt.Errorf("journal: %w", err)
		}
		if _, err := f.Seek(lastEnd, io.SeekStart); err != nil {
			_ = f.Close()
			return info, fmt.Errorf("journal: %w", err)
		}
		j.active = f
	}
	j.activeBytes, j.activeHdr = lastEnd, lastHdr
	j.segs = segs
	j.durableSeq, j.durableEnd = lastSeq, lastEnd
	j.nextSeq = lastSeq + 1
	j.snapSeq, j.hasSnap = info.SnapshotSeq, info.HasSnapshot
	info.FirstSeq, info.LastSeq, info.Segments = segs[0].firstSeq, lastSeq, len(segs)
	return info, nil
}

// scanSegmentFile validates a whole segment file.
func scanSegmentFile(path string, buf []byte) (segHeader, scanResult, int64, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return segHeader{}, scanResult{}, 0, buf, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return segHeader{}, scanResult{}, 0, buf, fmt.Errorf("journal: %w", err)
	}
	r := bufio.NewReaderSize(f, readBufBytes)
	var hb [segHeaderBytes]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return segHeader{}, scanResult{}, 0, buf, fmt.Errorf("%w: segment %s: header: %v", ErrCorrupt, filepath.Base(path), err)
	}
	h, err := decodeSegHeader(hb[:])
	if err != nil {
		return segHeader{}, scanResult{}, 0, buf, fmt.Errorf("%w: segment %s: %v", ErrCorrupt, filepath.Base(path), err)
	}
	res, buf, err := scanRecords(r, h, -1, buf, nil)
	if err != nil {
		return h, res, 0, buf, fmt.Errorf("journal: reading %s: %w", filepath.Base(path), err)
	}
	return h, res, st.Size(), buf, nil
}

func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := f.Truncate(size); err != nil {
		_ = f.Close()
		return fmt.Errorf("journal: truncating %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	return f.Close()
}

// validHeaderFile reports whether path starts with a valid segment header.
func validHeaderFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var hb [segHeaderBytes]byte
	if _, err := io.ReadFull(f, hb[:]); err != nil {
		return false
	}
	_, err = decodeSegHeader(hb[:])
	return err == nil
}
