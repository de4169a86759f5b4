package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
)

// SegmentSize is a segment's preallocated size, written as zeros when the
// segment is created (see WriterOptions.Fallocate): each chain starts one,
// so it is also what a rotation costs the disk. With compressed commits a
// busy cluster fills one in tens of minutes.
const SegmentSize = 4 << 20

// FirstSegmentSize is a new chain's first segment's size by default: a
// chain follows one snapshot (20 minutes apart while the journal follows),
// and at 10 writes/s its compressed commits fill well under 1 MiB.
const FirstSegmentSize = 1 << 20

const (
	fileMode  = 0o600
	dirMode   = 0o700
	segSuffix = ".seg"
	tmpPrefix = ".tmp-"
)

// segment is one file of a chain, named for the first revision it holds.
type segment struct {
	path     string
	firstRev int64
}

func segmentName(firstRev int64) string { return fmt.Sprintf("%016x%s", firstRev, segSuffix) }

// listSegments returns a chain's segments in revision order. Files of
// other names (a temporary file that a crash left) are not segments, nor
// are segments of another chain copied in (ForeignSegments).
func listSegments(dir string) ([]segment, error) {
	all, err := segmentFiles(dir)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, s := range all {
		if foreignHeader(s.path, filepath.Base(dir)) == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// segmentFiles returns the files of dir named as segments, in revision order.
func segmentFiles(dir string) ([]segment, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []segment
	for _, e := range entries {
		name := e.Name()
		hex, ok := strings.CutSuffix(name, segSuffix)
		if !ok || len(hex) != 16 || !e.Type().IsRegular() {
			continue
		}
		rev, err := strconv.ParseInt(hex, 16, 64)
		if err != nil {
			continue
		}
		out = append(out, segment{path: filepath.Join(dir, name), firstRev: rev})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].firstRev < out[j].firstRev })
	return out, nil
}

// createSegment writes a new segment that starts with hdr, preallocated to
// size, under a temporary name, then renames it into place and syncs the
// directory: a segment either exists whole with its header or not at all.
// The full fsync here makes the file's size durable once, so that every
// later commit into the preallocated space is a data-only fdatasync.
func createSegment(dir string, hdr *Header, firstRev, size int64, zeroFill bool) (*os.File, int64, error) {
	first := appendRecord(nil, hdr)
	if size < int64(len(first)) {
		size = int64(len(first))
	}
	path := filepath.Join(dir, segmentName(firstRev))
	f, err := os.CreateTemp(dir, tmpPrefix)
	if err != nil {
		return nil, 0, err
	}
	fail := func(err error) (*os.File, int64, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, fmt.Errorf("create segment %s: %w", path, err)
	}
	if err := f.Chmod(fileMode); err != nil {
		return fail(err)
	}
	if err := preallocate(f, 0, size, zeroFill); err != nil {
		return fail(err)
	}
	if _, err := f.WriteAt(first, 0); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := hostfs.RenameNoReplace(f.Name(), path); err != nil {
		return fail(err)
	}
	if err := hostfs.SyncDir(dir); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, int64(len(first)), nil
}

// preallocate reserves the bytes from from to size. fallocate is what etcd's WAL does; a
// filesystem without it gets a sparse file. zeroFill writes the zeros
// instead, so that no commit later converts an unwritten extent (a
// metadata change that costs ext4 a journal commit), at the price of
// writing the segment twice.
func preallocate(f *os.File, from, size int64, zeroFill bool) error {
	if zeroFill {
		zeros := make([]byte, min(1<<20, max(size-from, 0)))
		for off := from; off < size; off += int64(len(zeros)) {
			n := min(int64(len(zeros)), size-off)
			if _, err := f.WriteAt(zeros[:n], off); err != nil {
				return err
			}
		}
		return nil
	}
	err := unix.Fallocate(int(f.Fd()), 0, from, size-from)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		err = f.Truncate(size)
	}
	return err
}

// removeTemp removes what a crash in createSegment left.
func removeTemp(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// Torn describes a torn tail that was cut: the bytes of a commit that a
// power cut interrupted, which were never acknowledged as durable.
type Torn struct {
	Segment string // file name
	Offset  int64  // where the good records end
	Bytes   int64  // non-zero bytes from Offset on
}

// scanned is what scanSegment found in one segment.
type scanned struct {
	records []Record
	end     int64 // offset after the last good record
	torn    Torn
}

// scanSegment decodes a segment's records up to its end: the first zero
// length field followed only by zeros. A bad frame in the last segment is a
// torn tail when no good record follows it; anywhere else it is corruption.
// It reads b (size bytes) frame by frame: a preallocated segment's zeros
// are scanned, never held in memory.
func scanSegment(name string, b io.ReaderAt, size int64, last bool) (scanned, error) {
	sr := segReader{r: b, size: size}
	var s scanned
	var off int64
	for {
		payload, n, err := sr.frame(off)
		if err == nil && n == 0 {
			if zero, zerr := sr.zeroFrom(off); zerr != nil {
				return s, zerr
			} else if !zero {
				err = errFrame // a zero length with data after it
			}
		}
		if errors.Is(err, errFrame) {
			s.end = off
			return s, badFrame(&s, name, sr, off, last)
		}
		if err != nil {
			return s, fmt.Errorf("segment %s: %w", name, err)
		}
		if n == 0 {
			s.end = off
			return s, nil
		}
		if payload[0] == typeBatch {
			recs, err := decodeBatch(payload)
			if err != nil {
				return s, fmt.Errorf("segment %s offset %d: %w: %w", name, off, ErrCorrupt, err)
			}
			s.records = append(s.records, recs...)
			off += n
			continue
		}
		rec, err := decodePayload(payload)
		if err != nil {
			return s, fmt.Errorf("segment %s offset %d: %w: %w", name, off, ErrCorrupt, err)
		}
		s.records = append(s.records, rec)
		off += n
	}
}

// badFrame classifies the bad frame at off: in the last segment, a frame
// that only zeros or other bad frames follow is the torn tail of the last
// commit; a good record after it proves that the bad one was once durable.
func badFrame(s *scanned, name string, sr segReader, off int64, last bool) error {
	if !last {
		return fmt.Errorf("segment %s offset %d: %w: bad record before the last segment", name, off, ErrCorrupt)
	}
	for pos := off; pos < sr.size; {
		_, n, err := sr.frame(pos)
		if err != nil && !errors.Is(err, errFrame) {
			return fmt.Errorf("segment %s: %w", name, err)
		}
		if err == nil && n > 0 {
			return fmt.Errorf("segment %s offset %d: %w: bad record followed by a good one at %d", name, off, ErrCorrupt, pos)
		}
		if n == 0 {
			break // no length to follow: the rest is the tail
		}
		pos += n
	}
	tail, err := sr.lastNonZero(off)
	if err != nil {
		return fmt.Errorf("segment %s: %w", name, err)
	}
	s.torn = Torn{Segment: name, Offset: off, Bytes: tail - off}
	return nil
}

// segReader reads a segment's frames at offsets, as readFrame does on a
// whole buffer.
type segReader struct {
	r    io.ReaderAt
	size int64
}

// scanChunk is how much of a segment's zeros is read at a time.
const scanChunk = 64 << 10

// frame returns the payload of the record at off and its size, 0 for a
// zero length field (or fewer than a frame's bytes left, all zero), or
// errFrame. Other errors are I/O errors.
func (sr segReader) frame(off int64) (payload []byte, size int64, err error) {
	left := sr.size - off
	hdr := make([]byte, min(left, frameSize))
	if _, err := sr.r.ReadAt(hdr, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	if left < frameSize {
		if allZero(hdr) {
			return nil, 0, nil
		}
		return nil, 0, errFrame
	}
	n := int64(binary.LittleEndian.Uint32(hdr))
	if n == 0 {
		return nil, 0, nil
	}
	if n > maxPayload || n > left-frameSize {
		return nil, 0, errFrame
	}
	b := make([]byte, frameSize+n)
	if _, err := sr.r.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	p, sz, err := readFrame(b)
	return p, int64(sz), err
}

// zeroFrom says whether every byte from off to the end is zero.
func (sr segReader) zeroFrom(off int64) (bool, error) {
	last, err := sr.lastNonZero(off)
	return last == off, err
}

// lastNonZero returns the offset after the last non-zero byte from off on
// (off when there is none), reading backwards from the end in chunks.
func (sr segReader) lastNonZero(off int64) (int64, error) {
	buf := make([]byte, scanChunk)
	for end := sr.size; end > off; {
		start := max(off, end-scanChunk)
		b := buf[:end-start]
		if _, err := sr.r.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := lastNonZero(b); i > 0 {
			return start + int64(i), nil
		}
		end = start
	}
	return off, nil
}

// lastNonZero returns the length of b up to and including its last non-zero byte.
func lastNonZero(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0 {
			return i + 1
		}
	}
	return 0
}

// readHeader reads only a segment's first record, for listings.
func readHeader(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	frame := make([]byte, frameSize)
	if _, err := io.ReadFull(f, frame); err != nil {
		return nil, fmt.Errorf("segment %s: %w: no header: %w", path, ErrCorrupt, err)
	}
	n := binary.LittleEndian.Uint32(frame)
	if n == 0 || n > 1<<20 {
		return nil, fmt.Errorf("segment %s: %w: no header", path, ErrCorrupt)
	}
	b := append(frame, make([]byte, n)...)
	if _, err := io.ReadFull(f, b[frameSize:]); err != nil {
		return nil, fmt.Errorf("segment %s: %w: header: %w", path, ErrCorrupt, err)
	}
	return headerOf(path, b)
}

// headerOf decodes the header record that b starts with.
func headerOf(path string, b []byte) (*Header, error) {
	payload, _, err := readFrame(b)
	if err != nil || payload == nil {
		return nil, fmt.Errorf("segment %s: %w: bad header record", path, ErrCorrupt)
	}
	rec, err := decodePayload(payload)
	if err != nil {
		return nil, fmt.Errorf("segment %s: %w: %w", path, ErrCorrupt, err)
	}
	h, ok := rec.(*Header)
	if !ok {
		return nil, fmt.Errorf("segment %s: %w: starts without a chain header", path, ErrCorrupt)
	}
	return h, nil
}
