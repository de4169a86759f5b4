package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
)

// DefaultInterval is the group commit interval when none is given: what a
// power cut may lose. At 5 s a busy cluster costs at most 720 commits (one
// write and one fdatasync each) an hour; at 1 s, 3,600 (bench/README.md).
const DefaultInterval = 5 * time.Second

// ErrClosed is returned by a Writer after Close.
var ErrClosed = errors.New("journal writer closed")

// WriterOptions say how a Writer commits. The zero value is the default.
type WriterOptions struct {
	// Interval between group commits; DefaultInterval when 0.
	Interval time.Duration
	// SegmentSize is each new segment's preallocated size; SegmentSize when 0.
	SegmentSize int64
	// FirstSegmentSize is a new chain's first segment's: FirstSegmentSize
	// when both sizes are 0, else SegmentSize. A chain holds what follows
	// one snapshot, often less than a segment: each rotation then writes
	// the smaller size of zeros.
	FirstSegmentSize int64
	// Fallocate preallocates a segment with fallocate instead of writing
	// its zeros: half the bytes, but every commit then converts unwritten
	// extents, which costs ext4 a journal commit (a second cache flush) on
	// each fdatasync.
	Fallocate bool
	// Sync makes a commit durable; fdatasync when nil. Tests count calls.
	Sync func(*os.File) error
	// Uncompressed writes each record as it is instead of one compressed
	// batch record per commit (format version 1's layout).
	Uncompressed bool

	tick <-chan time.Time // tests drive the commits; a ticker when nil
}

// WriterStats are a writer's counters, safe to read while it runs.
type WriterStats struct {
	ChainID      string
	StartRev     int64
	BytesWritten int64     // records, segment headers and zero fill
	Syncs        int64     // fsyncs and fdatasyncs, segment creation included
	Segments     int       // segments this writer created
	LastSync     time.Time // of the last commit
	DurableRev   int64     // last revision of the last commit
	PendingSince time.Time // when the oldest record not yet durable was appended
}

// Writer appends records to a chain and group-commits them: one write and
// one fdatasync per interval, and none while nothing was appended.
type Writer struct {
	dir string
	hdr Header
	o   WriterOptions

	mu            sync.Mutex
	buf           []byte
	ends          []int   // end of each buffered record in buf
	revs          []int64 // the last revision as of each buffered record
	lastRev       int64   // last revision appended
	bufSince      time.Time
	inflightSince time.Time
	err           error
	closed        bool
	stats         WriterStats

	// Owned by the commit loop.
	f        *os.File
	off      int64 // where the next record goes
	size     int64 // the current segment's preallocated size
	fileRev  int64 // last revision written to a file
	segFirst int64 // the current segment's first revision (its name)

	flush     chan chan error
	stop      chan struct{}
	done      chan struct{}
	failed    chan struct{}
	closeOnce sync.Once
}

// NewChainID names a new chain: its start revision, then the creation time,
// so that a listing sorts chains by the history they follow.
func NewChainID(startRev int64, created time.Time) string {
	return fmt.Sprintf("%016x-%016x", startRev, created.UnixNano())
}

// Create starts a new chain under root (created 0700 when missing) and a
// Writer appending to it. An empty hdr.ChainID or hdr.Created is filled in.
func Create(root string, hdr Header, o WriterOptions) (*Writer, error) {
	if hdr.Created.IsZero() {
		hdr.Created = time.Now()
	}
	if hdr.ChainID == "" {
		hdr.ChainID = NewChainID(hdr.StartRev, hdr.Created)
	}
	if err := checkChainID(hdr.ChainID); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, dirMode); err != nil {
		return nil, fmt.Errorf("journal dir: %w", err)
	}
	dir := filepath.Join(root, hdr.ChainID)
	if err := os.Mkdir(dir, dirMode); err != nil {
		return nil, fmt.Errorf("create chain %s: %w", hdr.ChainID, err)
	}
	if err := hostfs.SyncDir(root); err != nil {
		return nil, fmt.Errorf("create chain %s: %w", hdr.ChainID, err)
	}
	w := newWriter(dir, hdr, o)
	w.lastRev, w.fileRev = hdr.StartRev, hdr.StartRev
	w.stats.DurableRev = hdr.StartRev
	if err := w.newSegment(0, w.o.FirstSegmentSize); err != nil {
		return nil, fmt.Errorf("create chain %s: %w", hdr.ChainID, err)
	}
	go w.loop()
	return w, nil
}

// OpenAppend reopens a chain for appending after verifying all of it (a
// chain that is broken in the middle is never continued). A torn tail is
// zeroed, so that new records follow the last good one.
func OpenAppend(root, chainID string, o WriterOptions) (*Writer, Summary, error) {
	dir := filepath.Join(root, chainID)
	if err := removeTemp(dir); err != nil {
		return nil, Summary{}, fmt.Errorf("open chain %s: %w", chainID, err)
	}
	r, err := OpenChain(root, chainID)
	if err != nil {
		return nil, Summary{}, err
	}
	sum, err := r.summarize()
	if err != nil {
		return nil, sum, err
	}
	w := newWriter(dir, sum.Header, o)
	w.lastRev, w.fileRev = sum.LastRev, sum.LastRev
	w.stats.DurableRev = sum.LastRev
	if err := w.reopenLast(r.segs[len(r.segs)-1], r.lastEnd, sum.Torn); err != nil {
		return nil, sum, fmt.Errorf("open chain %s: %w", chainID, err)
	}
	go w.loop()
	return w, sum, nil
}

func newWriter(dir string, hdr Header, o WriterOptions) *Writer {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = SegmentSize
		if o.FirstSegmentSize <= 0 {
			o.FirstSegmentSize = FirstSegmentSize
		}
	}
	if o.FirstSegmentSize <= 0 {
		o.FirstSegmentSize = o.SegmentSize
	}
	if o.Sync == nil {
		o.Sync = func(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
	}
	return &Writer{dir: dir, hdr: hdr, o: o,
		stats: WriterStats{ChainID: hdr.ChainID, StartRev: hdr.StartRev},
		flush: make(chan chan error), stop: make(chan struct{}),
		done: make(chan struct{}), failed: make(chan struct{})}
}

// reopenLast opens the last segment for appending at end, zeroing a torn
// tail durably first.
func (w *Writer) reopenLast(seg segment, end int64, torn Torn) error {
	path := seg.path
	w.segFirst = seg.firstRev
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if torn.Bytes > 0 {
		if _, err := f.WriteAt(make([]byte, torn.Bytes), torn.Offset); err != nil {
			f.Close()
			return fmt.Errorf("zero torn tail of %s: %w", path, err)
		}
		if err := w.sync(f); err != nil {
			f.Close()
			return fmt.Errorf("zero torn tail of %s: %w", path, err)
		}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.off, w.size = f, end, fi.Size()
	return nil
}

// Header returns the chain's header.
func (w *Writer) Header() Header { return w.hdr }

// Dir returns the chain's directory.
func (w *Writer) Dir() string { return w.dir }

// Stats returns the writer's counters.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.PendingSince = w.inflightSince
	if s.PendingSince.IsZero() {
		s.PendingSince = w.bufSince
	}
	return s
}

func (w *Writer) lastAppended() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastRev
}

func (w *Writer) durableRev() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats.DurableRev
}

// Failed is closed when a write or sync has failed; Err says why. The
// writer takes nothing after that: a failed fsync may have lost pages.
func (w *Writer) Failed() <-chan struct{} { return w.failed }

// Err returns the error that stopped the writer, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Append buffers rec for the next commit. Revisions must follow each other
// (each the previous + 1, the first the chain's start + 1), and each event's
// mod revision must be its record's: a gap is never written into a chain.
func (w *Writer) Append(rec Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.err != nil:
		return w.err
	case w.closed:
		return ErrClosed
	}
	switch r := rec.(type) {
	case *Header:
		return errors.New("append: a chain has one header")
	case *Revision:
		if r.Rev != w.lastRev+1 {
			return fmt.Errorf("append revision %d after %d: %w", r.Rev, w.lastRev, ErrGap)
		}
		for _, e := range r.Events {
			if e.ModRev != r.Rev {
				return fmt.Errorf("append revision %d: event of key %q has mod revision %d", r.Rev, e.Key, e.ModRev)
			}
		}
		w.lastRev = r.Rev
	}
	if len(w.ends) == 0 {
		w.bufSince = time.Now()
	}
	w.buf = appendRecord(w.buf, rec)
	w.ends = append(w.ends, len(w.buf))
	w.revs = append(w.revs, w.lastRev)
	return nil
}

// Flush commits what was appended now, and returns when it is durable.
func (w *Writer) Flush() error {
	reply := make(chan error, 1)
	select {
	case w.flush <- reply:
		return <-reply
	case <-w.done:
		if err := w.Err(); err != nil {
			return err
		}
		return ErrClosed
	}
}

// Close commits what was appended and closes the chain's file.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.stop)
	})
	<-w.done
	return w.Err()
}

func (w *Writer) loop() {
	defer close(w.done)
	tick := w.o.tick
	if tick == nil {
		t := time.NewTicker(w.o.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			w.commit()
		case reply := <-w.flush:
			reply <- w.commit()
		case <-w.stop:
			w.commit()
			if err := w.f.Close(); err != nil {
				w.fail(err)
			}
			return
		}
	}
}

// commit writes the buffered records and syncs once; with nothing buffered
// it does nothing at all.
func (w *Writer) commit() error {
	w.mu.Lock()
	if w.err != nil {
		defer w.mu.Unlock()
		return w.err
	}
	buf, ends, revs := w.buf, w.ends, w.revs
	w.buf, w.ends, w.revs = nil, nil, nil
	w.inflightSince, w.bufSince = w.bufSince, time.Time{}
	w.mu.Unlock()
	if len(ends) == 0 {
		return nil
	}
	if !w.o.Uncompressed {
		buf = appendBatch(nil, buf)
		ends, revs = []int{len(buf)}, revs[len(revs)-1:]
	}
	n, err := w.write(buf, ends, revs)
	if err == nil {
		err = w.sync(w.f)
	}
	if err != nil {
		return w.fail(fmt.Errorf("commit to chain %s: %w", w.hdr.ChainID, err))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.BytesWritten += n
	w.stats.LastSync = time.Now()
	w.stats.DurableRev = revs[len(revs)-1]
	w.inflightSince = time.Time{}
	return nil
}

// write puts the records at the end of the current segment, starting a new
// segment at a record boundary whenever the next record does not fit.
func (w *Writer) write(buf []byte, ends []int, revs []int64) (int64, error) {
	var n int64
	for i := 0; i < len(ends); {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		j := i
		for j < len(ends) && int64(ends[j]-start) <= w.size-w.off {
			j++
		}
		if j == i {
			need := int64(ends[i] - start)
			if w.fileRev+1 == w.segFirst {
				// Nothing in this segment yet (a segment is named by its
				// first revision): grow it to hold the record.
				if err := preallocate(w.f, w.size, w.off+need, !w.o.Fallocate); err != nil {
					return n, err
				}
				w.size = w.off + need
				continue
			}
			if err := w.rollover(need); err != nil {
				return n, err
			}
			continue
		}
		if _, err := w.f.WriteAt(buf[start:ends[j-1]], w.off); err != nil {
			return n, err
		}
		w.off += int64(ends[j-1] - start)
		n += int64(ends[j-1] - start)
		w.fileRev = revs[j-1]
		i = j
	}
	return n, nil
}

// rollover makes the full segment's records durable, then starts the next
// segment, sized for a record of need bytes at least.
func (w *Writer) rollover(need int64) error {
	if err := w.sync(w.f); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	return w.newSegment(need, w.o.SegmentSize)
}

// newSegment starts a segment of base bytes, or more for a record of need.
func (w *Writer) newSegment(need, base int64) error {
	hdrLen := int64(len(appendRecord(nil, &w.hdr)))
	size := max(base, hdrLen+need)
	f, off, err := createSegment(w.dir, &w.hdr, w.fileRev+1, size, !w.o.Fallocate)
	if err != nil {
		return err
	}
	w.f, w.off, w.size, w.segFirst = f, off, size, w.fileRev+1
	written := off
	if !w.o.Fallocate {
		written += size
	}
	w.mu.Lock()
	w.stats.Segments++
	w.stats.Syncs += 2 // the file and its directory
	w.stats.BytesWritten += written
	w.mu.Unlock()
	return nil
}

func (w *Writer) sync(f *os.File) error {
	err := w.o.Sync(f)
	w.mu.Lock()
	w.stats.Syncs++
	w.mu.Unlock()
	return err
}

// fail makes err sticky and signals Failed.
func (w *Writer) fail(err error) error {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
		close(w.failed)
	}
	err = w.err
	w.mu.Unlock()
	return err
}
