package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	s := newStore(t)
	data := testData(4<<20, 1)
	meta := testMeta(baseTime.In(time.FixedZone("CET", 3600)), 123)
	meta.FormatVersion = 0 // filled by Write
	snap := writeSnap(t, s, meta, data, Good)
	if meta.FormatVersion != FormatVersion {
		t.Errorf("FormatVersion = %d, want %d", meta.FormatVersion, FormatVersion)
	}

	if want := "20261125T144530Z-r123"; meta.ID != want || snap.Meta.ID != want {
		t.Fatalf("id = %q / %q, want %q", meta.ID, snap.Meta.ID, want)
	}
	if meta.Time.Location() != time.UTC {
		t.Errorf("time not stored in UTC: %v", meta.Time)
	}
	if meta.RawSize != int64(len(data)) || meta.StoredSize <= 0 || meta.StoredSize >= meta.RawSize {
		t.Errorf("sizes raw %d stored %d for %d bytes of compressible data", meta.RawSize, meta.StoredSize, len(data))
	}
	if meta.File != meta.ID+".db.zst" || meta.Compression != "zstd" || len(meta.SHA256) != 64 {
		t.Errorf("filled fields: file %q compression %q sha256 %q", meta.File, meta.Compression, meta.SHA256)
	}

	snaps, problems, err := s.List()
	if err != nil || len(problems) != 0 || len(snaps) != 1 {
		t.Fatalf("List = %v, problems %v, err %v", ids(snaps), problems, err)
	}
	got, err := s.Get(meta.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	newest, err := s.Newest()
	if err != nil {
		t.Fatalf("Newest: %v", err)
	}
	for _, sn := range []*Snapshot{&snaps[0], got, newest} {
		if sn.Path != snap.Path || sn.MetaPath != snap.MetaPath || sn.Kind != Good || sn.Meta.SHA256 != meta.SHA256 || !sn.Meta.Time.Equal(meta.Time) {
			t.Errorf("listed snapshot %+v differs from written %+v", sn, snap)
		}
	}
	if err := s.VerifyChecksum(got); err != nil {
		t.Errorf("VerifyChecksum: %v", err)
	}
	raw, err := readRaw(t, s, got)
	if err != nil {
		t.Fatalf("read raw: %v", err)
	}
	if !bytes.Equal(raw, data) {
		t.Fatalf("round trip differs: got %d bytes, want %d", len(raw), len(data))
	}
}

func TestNewestEmpty(t *testing.T) {
	s := newStore(t)
	if _, err := s.Newest(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Newest on empty store = %v, want ErrNoSnapshot", err)
	}
}

// A store written before sequence numbers keeps the order it always had.
func TestListOrderLegacy(t *testing.T) {
	s := newStore(t)
	for i, off := range []time.Duration{time.Hour, 0, 3 * time.Hour, 2 * time.Hour} {
		makeLegacy(t, writeSnap(t, s, testMeta(baseTime.Add(off), int64(i+1)), []byte("x"), Good))
	}
	// Same second and revision as another: ordered by id.
	makeLegacy(t, writeSnap(t, s, testMeta(baseTime.Add(3*time.Hour), 3), []byte("x"), Good))
	snaps, _, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"20261125T174530Z-r3-2", "20261125T174530Z-r3", "20261125T164530Z-r4", "20261125T154530Z-r1", "20261125T144530Z-r2"}
	if got := ids(snaps); !slices.Equal(got, want) {
		t.Fatalf("List order = %v, want %v", got, want)
	}
}

func TestWriteIDCollision(t *testing.T) {
	s := newStore(t)
	var got []string
	for range 3 {
		got = append(got, writeSnap(t, s, testMeta(baseTime, 7), []byte("data"), Good).Meta.ID)
	}
	// A suspect snapshot never reuses a good one's id either.
	got = append(got, writeSnap(t, s, withSuspect(testMeta(baseTime, 7)), []byte("data"), Suspect).Meta.ID)
	want := []string{"20261125T144530Z-r7", "20261125T144530Z-r7-2", "20261125T144530Z-r7-3", "20261125T144530Z-r7-4"}
	if !slices.Equal(got, want) {
		t.Fatalf("ids = %v, want %v", got, want)
	}

	explicit := testMeta(baseTime, 7)
	explicit.ID = want[0]
	if _, err := s.Write(context.Background(), explicit, strings.NewReader("new"), Good); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Write with a taken explicit id = %v, want an 'already exists' error", err)
	}
}

func withSuspect(m *Metadata) *Metadata {
	m.Suspect = "revision went backwards"
	return m
}

func TestWriteRejectsBadInput(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Metadata)
		kind   Kind
		raw    string
		want   string
	}{
		{"bad reason", func(m *Metadata) { m.Reason = "whim" }, Good, "x", "reason"},
		{"zero revision", func(m *Metadata) { m.Etcd.Revision = 0 }, Good, "x", "revision"},
		{"no time", func(m *Metadata) { m.Time = time.Time{} }, Good, "x", "time"},
		{"future format", func(m *Metadata) { m.FormatVersion = 2 }, Good, "x", "formatVersion"},
		{"relative data dir", func(m *Metadata) { m.Member.DataDir = "etcd" }, Good, "x", "dataDir"},
		{"bad explicit id", func(m *Metadata) { m.ID = "../x" }, Good, "x", "invalid snapshot id"},
		{"bad image digest", func(m *Metadata) { m.Image.Digest = "md5:00" }, Good, "x", "digest"},
		{"suspect without reason", func(m *Metadata) {}, Suspect, "x", "needs a reason"},
		{"good marked suspect", func(m *Metadata) { m.Suspect = "why" }, Good, "x", "Suspect set"},
		{"unknown kind", func(m *Metadata) {}, Kind(9), "x", "unknown snapshot kind"},
		{"empty raw", func(m *Metadata) {}, Good, "", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			meta := testMeta(baseTime, 5)
			tt.mutate(meta)
			before := *meta
			_, err := s.Write(context.Background(), meta, strings.NewReader(tt.raw), tt.kind)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write error = %v, want it to mention %q", err, tt.want)
			}
			if meta.ID != before.ID || meta.SHA256 != "" || meta.File != "" {
				t.Errorf("failed Write changed meta: %+v", meta)
			}
			assertEmptyKindDirs(t, s)
		})
	}
}

func assertEmptyKindDirs(t *testing.T, s *Store) {
	t.Helper()
	for _, sub := range []string{snapshotsDir, suspectDir} {
		if names := dirNames(t, filepath.Join(s.Dir, sub)); len(names) != 0 {
			t.Errorf("%s holds %v after a failed write", sub, names)
		}
	}
}

// failingReader returns data until after bytes, then err.
type failingReader struct {
	data  []byte
	after int
	err   error
	read  int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.read >= f.after {
		return 0, f.err
	}
	n := copy(p, f.data[f.read:min(f.after, len(f.data))])
	f.read += n
	return n, nil
}

// cancelAfter cancels its context once after bytes have been read.
type cancelAfter struct {
	r      io.Reader
	after  int
	read   int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	if c.read >= c.after {
		c.cancel()
	}
	return n, err
}

func TestWriteFailureMidway(t *testing.T) {
	data := testData(2<<20, 2)
	errDisk := errors.New("etcd connection reset")
	tests := []struct {
		name    string
		reader  func(cancel context.CancelFunc) io.Reader
		wantErr error
	}{
		{"reader error", func(context.CancelFunc) io.Reader {
			return &failingReader{data: data, after: len(data) / 2, err: errDisk}
		}, errDisk},
		{"context cancelled", func(cancel context.CancelFunc) io.Reader {
			return &cancelAfter{r: bytes.NewReader(data), after: len(data) / 2, cancel: cancel}
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			prev := writeSnap(t, s, testMeta(baseTime, 1), data, Good)
			before := dirNames(t, filepath.Join(s.Dir, snapshotsDir))

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := s.Write(ctx, testMeta(baseTime.Add(time.Hour), 2), tt.reader(cancel), Good)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Write error = %v, want %v", err, tt.wantErr)
			}
			if after := dirNames(t, filepath.Join(s.Dir, snapshotsDir)); !slices.Equal(after, before) {
				t.Fatalf("snapshots/ = %v after failed write, want %v", after, before)
			}
			snaps, problems, err := s.List()
			if err != nil || len(problems) != 0 || len(snaps) != 1 || snaps[0].Meta.ID != prev.Meta.ID {
				t.Fatalf("List = %v, %v, %v", ids(snaps), problems, err)
			}
			if err := s.VerifyChecksum(prev); err != nil {
				t.Errorf("previous snapshot damaged: %v", err)
			}
		})
	}
}

func TestWriteMetadataFailureRemovesData(t *testing.T) {
	s := newStore(t)
	metaName := NewID(baseTime, 3) + ".json"
	// Taking the metadata name after the id was picked, while the data is
	// streamed, makes the commit fail after the data file is in place.
	raw := &hookReader{r: strings.NewReader("payload"), onEOF: func() {
		if err := os.Mkdir(filepath.Join(s.Dir, snapshotsDir, metaName), 0o700); err != nil {
			t.Error(err)
		}
	}}
	if _, err := s.Write(context.Background(), testMeta(baseTime, 3), raw, Good); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Write = %v, want an 'already exists' error", err)
	}
	if names := dirNames(t, filepath.Join(s.Dir, snapshotsDir)); !slices.Equal(names, []string{metaName}) {
		t.Fatalf("snapshots/ = %v, want only the planted %s", names, metaName)
	}
}

// hookReader calls onEOF once when r is exhausted.
type hookReader struct {
	r     io.Reader
	onEOF func()
	done  bool
}

func (h *hookReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if err == io.EOF && !h.done {
		h.done = true
		h.onEOF()
	}
	return n, err
}

func TestCorruption(t *testing.T) {
	data := testData(1<<20, 3)
	tests := []struct {
		name        string
		corrupt     func(t *testing.T, snap *Snapshot)
		listProblem bool // List reports it, because the size is wrong
	}{
		{"flipped byte", func(t *testing.T, snap *Snapshot) {
			flipByte(t, snap.Path, snap.Meta.StoredSize/2)
		}, false},
		{"flipped last byte", func(t *testing.T, snap *Snapshot) {
			flipByte(t, snap.Path, snap.Meta.StoredSize-1)
		}, false},
		{"truncated", func(t *testing.T, snap *Snapshot) {
			if err := os.Truncate(snap.Path, snap.Meta.StoredSize-100); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"metadata checksum differs", func(t *testing.T, snap *Snapshot) {
			// The file still decompresses cleanly: only the sha256 check
			// can notice.
			rewriteMeta(t, snap, func(m *Metadata) { m.SHA256 = strings.Repeat("0", 64) })
			snap.Meta.SHA256 = strings.Repeat("0", 64)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			snap := writeSnap(t, s, testMeta(baseTime, 9), data, Good)
			tt.corrupt(t, snap)

			if err := s.VerifyChecksum(snap); !errors.Is(err, ErrCorrupt) {
				t.Errorf("VerifyChecksum = %v, want ErrCorrupt", err)
			}
			if _, err := readRaw(t, s, snap); !errors.Is(err, ErrCorrupt) {
				t.Errorf("reading OpenRaw to the end = %v, want ErrCorrupt", err)
			}
			snaps, problems, _ := s.List()
			if tt.listProblem && (len(snaps) != 0 || len(problems) != 1) {
				t.Errorf("List = %v, problems %v; want the truncated snapshot as a problem", ids(snaps), problems)
			}
		})
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func rewriteMeta(t *testing.T, snap *Snapshot, mutate func(*Metadata)) {
	t.Helper()
	m := snap.Meta
	mutate(&m)
	var buf bytes.Buffer
	if err := writeJSON(&buf, &m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(snap.MetaPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestListProblems(t *testing.T) {
	s := newStore(t)
	dir := filepath.Join(s.Dir, snapshotsDir)
	good := writeSnap(t, s, testMeta(baseTime, 1), []byte("good"), Good)
	missing := writeSnap(t, s, testMeta(baseTime, 2), []byte("missing data"), Good)
	if err := os.Remove(missing.Path); err != nil {
		t.Fatal(err)
	}
	resized := writeSnap(t, s, testMeta(baseTime, 3), []byte("resized"), Good)
	if err := os.WriteFile(resized.Path, []byte("much longer than before"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A copy of good's metadata under another id: it names the wrong id.
	mismatched := filepath.Join(dir, "20261125T000000Z-r1.json")
	copyFile(t, good.MetaPath, mismatched)

	plant := map[string][]byte{
		"20261125T000000Z-r4.json":            []byte("{not json"),
		"20261125T000000Z-r5.json":            append(append([]byte(`{"id":"`), bytes.Repeat([]byte("a"), maxMetadataSize)...), `"}`...),
		"20261125T000000Z-r6.db.zst":          []byte("orphan"),
		".tmp-20261125T000000Z-r7.db.zst.123": []byte("partial"),
		"notes.txt":                           []byte("?"),
	}
	for name, data := range plant {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	snaps, problems, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(snaps); !slices.Equal(got, []string{good.Meta.ID}) {
		t.Errorf("List snapshots = %v, want only %s", got, good.Meta.ID)
	}
	wantProblems := map[string]string{
		missing.MetaPath: "no such file",
		resized.MetaPath: "metadata says",
		mismatched:       "does not match",
		filepath.Join(dir, "20261125T000000Z-r4.json"):            "parse metadata",
		filepath.Join(dir, "20261125T000000Z-r5.json"):            "limit",
		filepath.Join(dir, "20261125T000000Z-r6.db.zst"):          "orphan",
		filepath.Join(dir, ".tmp-20261125T000000Z-r7.db.zst.123"): "temporary",
		filepath.Join(dir, "notes.txt"):                           "unexpected",
	}
	got := map[string]string{}
	for _, p := range problems {
		got[p.Path] = p.Err.Error()
	}
	for path, want := range wantProblems {
		if msg, ok := got[path]; !ok || !strings.Contains(msg, want) {
			t.Errorf("problem for %s = %q (reported %v), want it to mention %q", filepath.Base(path), msg, ok, want)
		}
	}
	if len(problems) != len(wantProblems) {
		t.Errorf("got %d problems, want %d: %v", len(problems), len(wantProblems), problems)
	}
	if _, err := s.Get(missing.Meta.ID); err == nil || errors.Is(err, ErrNoSnapshot) {
		t.Errorf("Get of a snapshot with missing data = %v, want the problem", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCleanTemp(t *testing.T) {
	s := newStore(t)
	good := writeSnap(t, s, testMeta(baseTime, 1), []byte("good"), Good)
	snapDir := filepath.Join(s.Dir, snapshotsDir)
	plant := []struct {
		path    string
		old     bool
		removed bool
	}{
		{filepath.Join(snapDir, ".tmp-20261125T000000Z-r2.db.zst.1"), true, true},
		{filepath.Join(snapDir, "20261125T000000Z-r3.db.zst"), true, true},
		{filepath.Join(s.Dir, suspectDir, "20261125T000000Z-r4.db.zst"), true, true},
		{filepath.Join(s.Dir, imagesDir, ".tmp-sha256-00.oci.tar.1"), true, true},
		{filepath.Join(s.Dir, ".tmp-restore-record.json.1"), true, true},
		// CleanTemp runs under the lock: even a fresh leftover is a dead run's.
		{filepath.Join(snapDir, ".tmp-20261125T000000Z-r5.db.zst.1"), false, true},
		{filepath.Join(snapDir, "20261125T000000Z-r6.db.zst"), false, true},
		// Not temporary: never removed, however old.
		{filepath.Join(s.Dir, imagesDir, "sha256-00.oci.tar"), true, false},
	}
	var want []string
	for _, p := range plant {
		if err := os.WriteFile(p.path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if p.old {
			makeOld(t, p.path)
		}
		if p.removed {
			want = append(want, p.path)
		}
	}
	makeOld(t, good.Path)
	makeOld(t, good.MetaPath)

	removed, err := s.CleanTemp()
	if err != nil {
		t.Fatalf("CleanTemp: %v", err)
	}
	slices.Sort(removed)
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Fatalf("CleanTemp removed %v, want %v", removed, want)
	}
	for _, p := range plant {
		if _, err := os.Stat(p.path); errors.Is(err, fs.ErrNotExist) != p.removed {
			t.Errorf("%s: exists = %v, want %v", p.path, err == nil, !p.removed)
		}
	}
	if err := s.VerifyChecksum(good); err != nil {
		t.Errorf("committed snapshot damaged: %v", err)
	}
}

func TestSuspect(t *testing.T) {
	s := newStore(t)
	writeSnap(t, s, testMeta(baseTime, 1), []byte("good"), Good)
	sus := writeSnap(t, s, withSuspect(testMeta(baseTime.Add(time.Hour), 2)), []byte("suspect"), Suspect)
	if sus.Kind != Suspect || filepath.Dir(sus.Path) != filepath.Join(s.Dir, suspectDir) {
		t.Fatalf("suspect snapshot stored as %v at %s", sus.Kind, sus.Path)
	}
	good, _, _ := s.List()
	suspect, problems, err := s.ListSuspect()
	if err != nil || len(problems) != 0 {
		t.Fatal(err, problems)
	}
	if len(good) != 1 || good[0].Meta.ID == sus.Meta.ID {
		t.Errorf("List = %v, want the good snapshot only", ids(good))
	}
	if len(suspect) != 1 || suspect[0].Meta.ID != sus.Meta.ID || suspect[0].Meta.Suspect == "" {
		t.Errorf("ListSuspect = %+v", suspect)
	}
	got, err := s.Get(sus.Meta.ID)
	if err != nil || got.Kind != Suspect {
		t.Errorf("Get(suspect) = %+v, %v", got, err)
	}
	if n, _ := s.Newest(); n == nil || n.Meta.ID == sus.Meta.ID {
		t.Errorf("Newest returned a suspect snapshot")
	}
}

func TestGetRejectsBadIDs(t *testing.T) {
	s := newStore(t)
	for _, id := range []string{"../x", "a/b", "", "..", "20261125T144530Z-r1/../x", "20261125T144530Z-r1.json", `20261125T144530Z-r1\x`} {
		t.Run(id, func(t *testing.T) {
			_, err := s.Get(id)
			if err == nil || errors.Is(err, ErrNoSnapshot) || !strings.Contains(err.Error(), "invalid snapshot id") {
				t.Fatalf("Get(%q) = %v, want an invalid id error", id, err)
			}
		})
	}
	if _, err := s.Get("20261125T144530Z-r1"); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Get of an absent id = %v, want ErrNoSnapshot", err)
	}
}

func TestRemove(t *testing.T) {
	s := newStore(t)
	keep := writeSnap(t, s, testMeta(baseTime, 1), []byte("keep"), Good)
	gone := writeSnap(t, s, testMeta(baseTime, 2), []byte("gone"), Good)
	if err := s.Remove(gone); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if names := dirNames(t, filepath.Join(s.Dir, snapshotsDir)); !slices.Equal(names, []string{keep.Meta.File, keep.Meta.ID + ".json"}) {
		t.Fatalf("after Remove snapshots/ = %v", names)
	}

	outside := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	forged := *keep
	forged.Path = outside
	if err := s.Remove(&forged); err == nil {
		t.Fatal("Remove accepted a snapshot whose path is outside the store")
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("file outside the store touched: %v", err)
	}
}

func TestFileModes(t *testing.T) {
	s := newStore(t)
	writeSnap(t, s, testMeta(baseTime, 1), []byte("x"), Good)
	writeSnap(t, s, withSuspect(testMeta(baseTime, 2)), []byte("x"), Suspect)
	if err := s.WriteRestoreRecord(RestoreRecord{Time: baseTime, SnapshotID: "20261125T144530Z-r1", Revision: 1, Image: "etcd"}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteImageArchive(testDigest, func(w io.Writer) error { _, err := w.Write([]byte("tar")); return err }); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(context.Background(), 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	seen := 0
	err = filepath.WalkDir(s.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = fs.ModeDir | 0o700
		}
		if fi.Mode() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode(), want)
		}
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// dir, 3 subdirs, 2×2 snapshot files, record, archive, lock
	if seen != 11 {
		t.Errorf("walked %d entries, want 11", seen)
	}
}

func BenchmarkWrite(b *testing.B) {
	s := newStore(b)
	data := testData(64<<20, 4)
	b.SetBytes(int64(len(data)))
	var stored int64
	for i := 0; b.Loop(); i++ {
		snap := writeSnap(b, s, testMeta(baseTime, int64(i+1)), data, Good)
		stored = snap.Meta.StoredSize
		b.StopTimer()
		if err := s.Remove(snap); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(len(data))/float64(stored), "ratio")
}
