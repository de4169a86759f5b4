package journal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
)

var (
	// ErrGap means that a chain does not continue where it should: a
	// revision or a segment is missing, or etcd's history is not the
	// chain's (compacted past it, restored, another cluster). The caller
	// starts a new chain from a fresh snapshot.
	ErrGap = errors.New("journal gap")
	// ErrCorrupt means that a record is damaged before the chain's end.
	ErrCorrupt = errors.New("journal corrupt")
)

var chainIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func checkChainID(id string) error {
	if !chainIDPattern.MatchString(id) {
		return fmt.Errorf("bad chain id %q", id)
	}
	return nil
}

// Reader returns a chain's records in order, verifying as it goes.
type Reader struct {
	dir     string
	hdr     Header
	segs    []segment
	seg     int // index of the next segment to load
	recs    []Record
	nextRev int64
	torn    Torn
	lastEnd int64 // end of the good records in the last segment
	err     error
}

// OpenChain opens the chain chainID under root and reads its header.
func OpenChain(root, chainID string) (*Reader, error) {
	if err := checkChainID(chainID); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, chainID)
	segs, err := listSegments(dir)
	if err != nil {
		return nil, fmt.Errorf("open chain %s: %w", chainID, err)
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("open chain %s: %w: no segments", chainID, ErrGap)
	}
	h, err := readHeader(segs[0].path)
	if err != nil {
		return nil, fmt.Errorf("open chain %s: %w", chainID, err)
	}
	if h.ChainID != chainID {
		return nil, fmt.Errorf("open chain %s: %w: its segment %s belongs to chain %s",
			chainID, ErrCorrupt, filepath.Base(segs[0].path), h.ChainID)
	}
	return &Reader{dir: dir, hdr: *h, segs: segs, nextRev: h.StartRev + 1}, nil
}

// Header returns the chain's header.
func (r *Reader) Header() Header { return r.hdr }

// Next returns the next *Revision or *Lease record, io.EOF after the last
// one, or an error wrapping ErrGap or ErrCorrupt. Errors are sticky.
func (r *Reader) Next() (Record, error) {
	for len(r.recs) == 0 {
		if r.err != nil {
			return nil, r.err
		}
		if r.seg == len(r.segs) {
			r.err = io.EOF
			return nil, io.EOF
		}
		if err := r.load(); err != nil {
			r.err = fmt.Errorf("read chain %s: %w", r.hdr.ChainID, err)
		}
	}
	rec := r.recs[0]
	r.recs = r.recs[1:]
	if rev, ok := rec.(*Revision); ok {
		if err := r.checkRevision(rev); err != nil {
			r.err = fmt.Errorf("read chain %s: %w", r.hdr.ChainID, err)
			return nil, r.err
		}
	}
	return rec, nil
}

// Torn returns the torn tail that the last segment ended with, if any;
// meaningful once Next has returned io.EOF.
func (r *Reader) Torn() Torn { return r.torn }

// LastRev returns the last revision that Next returned, or the chain's
// start revision before the first.
func (r *Reader) LastRev() int64 { return r.nextRev - 1 }

// load reads the next segment's records and checks that it belongs to the
// chain and starts where the previous one ended.
func (r *Reader) load() error {
	s := r.segs[r.seg]
	name := filepath.Base(s.path)
	last := r.seg == len(r.segs)-1
	r.seg++
	if s.firstRev != r.nextRev {
		return fmt.Errorf("%w: segment %s starts at revision %d, the chain continues at %d",
			ErrGap, name, s.firstRev, r.nextRev)
	}
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	sc, err := scanSegment(name, f, fi.Size(), last)
	if err != nil {
		return err
	}
	if len(sc.records) == 0 {
		return fmt.Errorf("segment %s: %w: no chain header", name, ErrCorrupt)
	}
	h, ok := sc.records[0].(*Header)
	if !ok || !sameHeader(h, &r.hdr) {
		return fmt.Errorf("segment %s: %w: its header is not the chain's", name, ErrCorrupt)
	}
	r.recs = sc.records[1:]
	if last {
		r.torn, r.lastEnd = sc.torn, sc.end
	}
	return nil
}

func (r *Reader) checkRevision(rev *Revision) error {
	if rev.Rev != r.nextRev {
		return fmt.Errorf("%w: revision %d where %d was due", ErrGap, rev.Rev, r.nextRev)
	}
	for _, e := range rev.Events {
		if e.ModRev != rev.Rev {
			return fmt.Errorf("%w: revision %d holds an event of mod revision %d", ErrCorrupt, rev.Rev, e.ModRev)
		}
	}
	r.nextRev++
	return nil
}

func sameHeader(a, b *Header) bool {
	return a.ChainID == b.ChainID && a.ClusterID == b.ClusterID && a.MemberID == b.MemberID &&
		a.StartRev == b.StartRev && a.SnapshotID == b.SnapshotID && a.Created.Equal(b.Created)
}

// Summary describes a whole verified chain.
type Summary struct {
	Header    Header
	Segments  int
	Revisions int   // revision records
	LastRev   int64 // the last revision, the start revision when there is none
	LastSeen  time.Time
	Last      *Revision       // a copy of the last revision record, nil when none
	Leases    map[int64]Lease // the first record of each lease
	MaxEvents int             // the most events in one revision: the replay's txn size
	// EventBytes is what the revisions add to etcd's database, about: each
	// event's key and value and its entry's overhead (revision key,
	// KeyValue fields, bbolt's element header).
	EventBytes int64
	Torn       Torn
}

// Verify reads a whole chain, checking every record, and summarises it.
func Verify(root, chainID string) (Summary, error) {
	r, err := OpenChain(root, chainID)
	if err != nil {
		return Summary{}, err
	}
	return r.summarize()
}

// eventOverhead is an event's entry in etcd's database beyond its key and
// value: the 17-18 byte revision key, KeyValue's other fields and tags,
// bbolt's 16-byte element header, rounded up.
const eventOverhead = 64

// eventSize is about what e's entry takes in etcd's database: small ones
// share 4 KiB pages; one of over half a page fills pages of its own, the
// last one partly (a 4.1 KiB value takes two).
func eventSize(e *Event) int64 {
	n := int64(len(e.Key)+len(e.Value)) + eventOverhead
	if n > 2048 {
		n = (n + 4095) / 4096 * 4096
	}
	return n
}

func (r *Reader) summarize() (Summary, error) {
	s := Summary{Header: r.hdr, Segments: len(r.segs), LastRev: r.hdr.StartRev, Leases: map[int64]Lease{}}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			s.Torn = r.torn
			s.Last = copyRevision(s.Last)
			return s, nil
		}
		if err != nil {
			return s, err
		}
		switch rec := rec.(type) {
		case *Revision:
			s.Revisions++
			s.LastRev, s.LastSeen, s.Last = rec.Rev, rec.Seen, rec
			s.MaxEvents = max(s.MaxEvents, len(rec.Events))
			for _, e := range rec.Events {
				s.EventBytes += eventSize(&e)
			}
		case *Lease:
			if _, ok := s.Leases[rec.ID]; !ok {
				s.Leases[rec.ID] = *rec
			}
		}
	}
}

// copyRevision copies r out of its segment's buffer, which it would
// otherwise keep in memory.
func copyRevision(r *Revision) *Revision {
	if r == nil {
		return nil
	}
	c := *r
	c.Events = make([]Event, len(r.Events))
	for i, e := range r.Events {
		e.Key, e.Value = bytes.Clone(e.Key), bytes.Clone(e.Value)
		c.Events[i] = e
	}
	return &c
}

// ChainInfo is what a listing shows of a chain without reading it all.
type ChainInfo struct {
	ID       string
	Header   Header
	Dir      string
	Segments int
	Bytes    int64 // the segments' sizes, preallocation included
	Err      error // why the chain's header cannot be read
}

// ListChains returns the chains under root, oldest start revision first
// (then oldest creation). A chain without a readable header is listed with
// Err set, so that a listing never hides a damaged chain.
func ListChains(root string) ([]ChainInfo, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal dir: %w", err)
	}
	var out []ChainInfo
	for _, e := range entries {
		if !e.IsDir() || checkChainID(e.Name()) != nil {
			continue
		}
		out = append(out, chainInfo(root, e.Name()))
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Header, out[j].Header
		if a.StartRev != b.StartRev {
			return a.StartRev < b.StartRev
		}
		return a.Created.Before(b.Created)
	})
	return out, nil
}

func chainInfo(root, id string) ChainInfo {
	info := ChainInfo{ID: id, Dir: filepath.Join(root, id)}
	segs, err := listSegments(info.Dir)
	if err == nil && len(segs) == 0 {
		err = fmt.Errorf("%w: no segments", ErrGap)
	}
	if err != nil {
		info.Err = err
		return info
	}
	info.Segments = len(segs)
	for _, s := range segs {
		if fi, err := os.Stat(s.path); err == nil {
			info.Bytes += fi.Size()
		}
	}
	h, err := readHeader(segs[0].path)
	if err == nil && h.ChainID != id {
		err = fmt.Errorf("%w: its header names chain %s", ErrCorrupt, h.ChainID)
	}
	if err != nil {
		info.Err = err
		return info
	}
	info.Header = *h
	return info
}

// RemoveChain removes a chain durably, e.g. once a newer snapshot covers it.
func RemoveChain(root, chainID string) error {
	if err := checkChainID(chainID); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(root, chainID)); err != nil {
		return fmt.Errorf("remove chain %s: %w", chainID, err)
	}
	return hostfs.SyncDir(root)
}
