package store

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testDigest = "sha256:" + strings.Repeat("c3", 32)

func TestRestoreRecord(t *testing.T) {
	s := newStore(t)
	if r, err := s.ReadRestoreRecord(); r != nil || err != nil {
		t.Fatalf("ReadRestoreRecord on a new store = %+v, %v; want nil, nil", r, err)
	}
	want := RestoreRecord{Time: baseTime, SnapshotID: "20261125T144530Z-r9", Revision: 9, Image: "registry.k8s.io/etcd:3.6.5-0"}
	for _, rec := range []RestoreRecord{{Time: baseTime, SnapshotID: "20261125T144530Z-r1", Revision: 1}, want} {
		if err := s.WriteRestoreRecord(rec); err != nil {
			t.Fatalf("WriteRestoreRecord: %v", err)
		}
	}
	got, err := s.ReadRestoreRecord()
	want.Seq = 2 // each record takes the next number in the store's history
	if err != nil || got == nil || *got != want {
		t.Fatalf("ReadRestoreRecord = %+v, %v; want %+v", got, err, want)
	}
	if err := s.WriteRestoreRecord(RestoreRecord{Time: baseTime, SnapshotID: "../x", Revision: 1}); err == nil {
		t.Error("WriteRestoreRecord accepted an invalid snapshot id")
	}
	if err := os.WriteFile(filepath.Join(s.Dir, restoreRecordName), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadRestoreRecord(); err == nil {
		t.Error("ReadRestoreRecord accepted garbage")
	}
}

func TestImageArchive(t *testing.T) {
	s := newStore(t)
	for _, bad := range []string{"", "sha256:abc", "sha512:" + strings.Repeat("a", 128), "sha256:../" + strings.Repeat("a", 61)} {
		if p := s.ImageArchivePath(bad); p != "" {
			t.Errorf("ImageArchivePath(%q) = %q, want \"\"", bad, p)
		}
		if err := s.WriteImageArchive(bad, func(io.Writer) error { return nil }); err == nil {
			t.Errorf("WriteImageArchive(%q) accepted an invalid digest", bad)
		}
	}

	want := filepath.Join(s.Dir, "images", "sha256-"+strings.Repeat("c3", 32)+".oci.tar")
	if p := s.ImageArchivePath(testDigest); p != want {
		t.Fatalf("ImageArchivePath = %s, want %s", p, want)
	}
	if s.HasImageArchive(testDigest) {
		t.Fatal("HasImageArchive true before writing")
	}
	errExport := errors.New("export failed")
	err := s.WriteImageArchive(testDigest, func(w io.Writer) error {
		w.Write([]byte("half a tar"))
		return errExport
	})
	if !errors.Is(err, errExport) {
		t.Fatalf("WriteImageArchive = %v, want %v", err, errExport)
	}
	if names := dirNames(t, filepath.Join(s.Dir, "images")); len(names) != 0 {
		t.Fatalf("failed WriteImageArchive left %v", names)
	}
	if err := s.WriteImageArchive(testDigest, func(w io.Writer) error { _, err := io.WriteString(w, "tar"); return err }); err != nil {
		t.Fatalf("WriteImageArchive: %v", err)
	}
	if !s.HasImageArchive(testDigest) {
		t.Fatal("HasImageArchive false after writing")
	}
	if data, err := os.ReadFile(want); err != nil || string(data) != "tar" {
		t.Fatalf("archive = %q, %v", data, err)
	}
}
