package journal

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestGroupCommitOneSyncPerInterval(t *testing.T) {
	tick := make(chan time.Time)
	var syncs syncCounter
	w := newTestChain(t, t.TempDir(), WriterOptions{Sync: syncs.sync, tick: tick})
	appendRevs(t, w, 101, 150, 10)
	tick <- time.Now()
	tick <- time.Now() // returns once the first commit is done
	if got := syncs.n.Load(); got != 1 {
		t.Fatalf("50 appends in one interval: %d syncs, want 1", got)
	}
	st := w.Stats()
	if st.DurableRev != 150 || st.LastSync.IsZero() || st.BytesWritten == 0 || !st.PendingSince.IsZero() {
		t.Errorf("stats after the commit: %+v", st)
	}
	for range 5 {
		tick <- time.Now()
	}
	if got := syncs.n.Load(); got != 1 {
		t.Errorf("idle intervals: %d syncs, want still 1", got)
	}
	appendRevs(t, w, 151, 151, 10)
	if st := w.Stats(); st.PendingSince.IsZero() || st.DurableRev != 150 {
		t.Errorf("stats with a pending append: %+v", st)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := syncs.n.Load(); got != 2 {
		t.Errorf("close with one pending append: %d syncs in all, want 2", got)
	}
}

func TestIdleWriterNeverSyncs(t *testing.T) {
	var syncs syncCounter
	w := newTestChain(t, t.TempDir(), WriterOptions{Sync: syncs.sync, Interval: time.Millisecond})
	time.Sleep(50 * time.Millisecond)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := syncs.n.Load(); got != 0 {
		t.Errorf("idle writer: %d syncs, want 0", got)
	}
	if st := w.Stats(); st.Segments != 1 || st.DurableRev != 100 {
		t.Errorf("stats: %+v", st)
	}
}

func TestFlushMakesDurable(t *testing.T) {
	var syncs syncCounter
	root := t.TempDir()
	w := newTestChain(t, root, WriterOptions{Sync: syncs.sync, Interval: time.Hour})
	appendRevs(t, w, 101, 103, 10)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if syncs.n.Load() != 1 || w.Stats().DurableRev != 103 {
		t.Fatalf("after flush: %d syncs, %+v", syncs.n.Load(), w.Stats())
	}
	sum, err := Verify(root, w.Header().ChainID) // while the writer still runs
	if err != nil || sum.LastRev != 103 {
		t.Fatalf("verify: %+v %v", sum, err)
	}
	w.Close()
	if err := w.Append(putRev(104, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("append after close: %v", err)
	}
}

func TestAppendRefusesGaps(t *testing.T) {
	w := newTestChain(t, t.TempDir(), WriterOptions{})
	defer w.Close()
	if err := w.Append(putRev(102, 1)); !errors.Is(err, ErrGap) {
		t.Errorf("first revision 102 after start 100: %v", err)
	}
	appendRevs(t, w, 101, 101, 1)
	if err := w.Append(putRev(101, 1)); !errors.Is(err, ErrGap) {
		t.Errorf("revision 101 twice: %v", err)
	}
	r := putRev(102, 1)
	r.Events[0].ModRev = 99
	if err := w.Append(r); err == nil {
		t.Error("event with another mod revision accepted")
	}
	if err := w.Append(&Header{}); err == nil {
		t.Error("second header accepted")
	}
}

func TestWriterStopsOnSyncError(t *testing.T) {
	w := newTestChain(t, t.TempDir(), WriterOptions{Interval: time.Hour,
		Sync: func(*os.File) error { return errors.New("EIO") }})
	appendRevs(t, w, 101, 101, 1)
	if err := w.Flush(); err == nil {
		t.Fatal("flush with a failing sync succeeded")
	}
	select {
	case <-w.Failed():
	default:
		t.Fatal("Failed not closed")
	}
	if err := w.Append(putRev(102, 1)); err == nil {
		t.Error("append after a failed sync accepted")
	}
	if err := w.Close(); err == nil {
		t.Error("close hides the failure")
	}
}

// TestSegmentRollover: plain records go to the next segment at a record
// boundary (a batch is one record: see TestBatchLargerThanSegment).
func TestSegmentRollover(t *testing.T) {
	root := t.TempDir()
	var syncs syncCounter
	w := newTestChain(t, root, WriterOptions{SegmentSize: 1024, Sync: syncs.sync, Interval: time.Hour, Uncompressed: true})
	appendRevs(t, w, 101, 160, 40)
	if err := w.Append(putRev(161, 5000)); err != nil { // larger than a segment
		t.Fatal(err)
	}
	appendRevs(t, w, 162, 170, 40)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	id := w.Header().ChainID
	paths := segmentPaths(t, root, id)
	if len(paths) < 4 {
		t.Fatalf("%d segments of 1 KiB for 70 records, want several", len(paths))
	}
	if filepath.Base(paths[0]) != segmentName(101) {
		t.Errorf("first segment %s", paths[0])
	}
	sum, err := Verify(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if sum.LastRev != 170 || sum.Revisions != 70 || sum.Segments != len(paths) {
		t.Errorf("summary %+v", sum)
	}
	if st := w.Stats(); st.Segments != len(paths) {
		t.Errorf("writer created %d segments, %d on disk", st.Segments, len(paths))
	}
	// One commit: a data sync per segment it filled, and the last one.
	if got := syncs.n.Load(); got != int64(len(paths)) {
		t.Errorf("%d data syncs for %d segments", got, len(paths))
	}
}

// TestBatchLargerThanSegment: a commit whose batch does not fit even an
// empty segment grows that segment instead of naming a second one after
// the same first revision; the next commit that does not fit rolls over.
func TestBatchLargerThanSegment(t *testing.T) {
	root := t.TempDir()
	w := newTestChain(t, root, WriterOptions{SegmentSize: 1024, Interval: time.Hour})
	noise := make([]byte, 5000) // incompressible
	rand.NewChaCha8([32]byte{1}).Read(noise)
	big := putRev(101, 0)
	big.Events[0].Value = noise
	for rev := int64(101); rev <= 103; rev++ {
		r := *big
		r.Rev, r.Events = rev, []Event{big.Events[0]}
		r.Events[0].ModRev, r.Events[0].CreateRev = rev, rev
		if err := w.Append(&r); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatalf("revision %d: %v", rev, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	id := w.Header().ChainID
	if paths := segmentPaths(t, root, id); len(paths) != 3 {
		t.Errorf("%d segments for 3 commits larger than a segment, want 3", len(paths))
	}
	if sum, err := Verify(root, id); err != nil || sum.LastRev != 103 {
		t.Fatalf("verify: %+v %v", sum, err)
	}
}

func TestFileModes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "journal")
	id := writeTestChain(t, root, 105, WriterOptions{})
	for path, want := range map[string]os.FileMode{
		root: 0o700 | os.ModeDir, filepath.Join(root, id): 0o700 | os.ModeDir,
		segmentPaths(t, root, id)[0]: 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	if fi, _ := os.Stat(segmentPaths(t, root, id)[0]); fi.Size() != FirstSegmentSize {
		t.Errorf("a chain's first segment: size %d, want preallocated %d", fi.Size(), FirstSegmentSize)
	}
}

// TestZeroFillByDefault: a segment's zeros are written when it is created
// (so that commits overwrite blocks: one cache flush per fdatasync), unless
// Fallocate is asked for; both with the real fdatasync.
func TestZeroFillByDefault(t *testing.T) {
	for _, fallocate := range []bool{false, true} {
		root := t.TempDir()
		w, err := Create(root, Header{StartRev: 7}, WriterOptions{SegmentSize: 1 << 16, Fallocate: fallocate})
		if err != nil {
			t.Fatal(err)
		}
		appendRevs(t, w, 8, 20, 100)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); (st.BytesWritten >= 1<<16) == fallocate {
			t.Errorf("fallocate %v: %d bytes written for a segment of %d", fallocate, st.BytesWritten, 1<<16)
		}
		if sum, err := Verify(root, w.Header().ChainID); err != nil || sum.LastRev != 20 {
			t.Errorf("fallocate %v: verify: %+v %v", fallocate, sum, err)
		}
	}
}
