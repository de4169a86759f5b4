package store

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"path/filepath"
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
	if err := s.VerifyChecksum(context.Background(), got); err != nil {
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
