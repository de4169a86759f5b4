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

// SegmentSize is a segment's preallocated size: large enough that a busy
// cluster starts a new file rarely, small enough to read into memory whole.
const SegmentSize = 16 << 20

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
	if err := preallocate(f, size, zeroFill); err != nil {
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

// preallocate reserves size bytes. fallocate is what etcd's WAL does; a
// filesystem without it gets a sparse file. zeroFill writes the zeros
// instead, so that no commit later converts an unwritten extent (a
// metadata change that costs ext4 a journal commit), at the price of
// writing the segment twice.
func preallocate(f *os.File, size int64, zeroFill bool) error {
	if zeroFill {
		zeros := make([]byte, 1<<20)
		for off := int64(0); off < size; off += int64(len(zeros)) {
			n := min(int64(len(zeros)), size-off)
			if _, err := f.WriteAt(zeros[:n], off); err != nil {
				return err
			}
		}
		return nil
	}
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
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
func scanSegment(name string, b []byte, last bool) (scanned, error) {
	var s scanned
	off := 0
	for {
		payload, size, err := readFrame(b[off:])
		if err == nil && size == 0 && !allZero(b[off:]) {
			err = errFrame // a zero length with data after it
		}
		if err != nil {
			s.end = int64(off)
			return s, badFrame(&s, name, b, off, last)
		}
		if size == 0 {
			s.end = int64(off)
			return s, nil
		}
		rec, err := decodePayload(payload)
		if err != nil {
			return s, fmt.Errorf("segment %s offset %d: %w: %w", name, off, ErrCorrupt, err)
		}
		s.records = append(s.records, rec)
		off += size
	}
}

// badFrame classifies the bad frame at off: in the last segment, a frame
// that only zeros or other bad frames follow is the torn tail of the last
// commit; a good record after it proves that the bad one was once durable.
func badFrame(s *scanned, name string, b []byte, off int, last bool) error {
	if !last {
		return fmt.Errorf("segment %s offset %d: %w: bad record before the last segment", name, off, ErrCorrupt)
	}
	for pos := off; pos < len(b); {
		_, size, err := readFrame(b[pos:])
		if err == nil && size > 0 {
			return fmt.Errorf("segment %s offset %d: %w: bad record followed by a good one at %d", name, off, ErrCorrupt, pos)
		}
		if size == 0 {
			break // no length to follow: the rest is the tail
		}
		pos += size
	}
	s.torn = Torn{Segment: name, Offset: int64(off), Bytes: int64(lastNonZero(b[off:]))}
	return nil
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
