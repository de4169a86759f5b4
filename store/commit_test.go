package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
)

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

// A directory fsync that fails after a rename rolls back what the commit put
// in place, the metadata before the data file it names, however the snapshot
// came in: the store is left with neither a metadata file naming a missing
// data file nor an orphan.
func TestCommitRollsBackFailedDirSync(t *testing.T) {
	ctx := context.Background()
	data := testData(64<<10, 5)
	// Each prepares a snapshot in s and returns what commits it.
	writers := map[string]func(t *testing.T, s *Store) func() error{
		"write": func(t *testing.T, s *Store) func() error {
			return func() error {
				_, err := s.Write(ctx, testMeta(baseTime, 1), bytes.NewReader(data), Good)
				return err
			}
		},
		"staged commit": func(t *testing.T, s *Store) func() error {
			sg, err := s.Stage(ctx, bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sg.Discard)
			return func() error {
				_, err := s.Commit(ctx, testMeta(baseTime, 1), sg, Good)
				return err
			}
		},
		"import": func(t *testing.T, s *Store) func() error {
			snap := writeSnap(t, newStore(t), testMeta(baseTime, 1), data, Good)
			stored, err := os.ReadFile(snap.Path)
			if err != nil {
				t.Fatal(err)
			}
			return func() error {
				_, err := s.Import(ctx, &snap.Meta, bytes.NewReader(stored))
				return err
			}
		},
	}
	injected := errors.New("injected fsync failure")
	for name, prepare := range writers {
		for failAt, after := range map[int]string{1: "data", 2: "metadata"} {
			t.Run(name+"/after the "+after+" rename", func(t *testing.T) {
				s := newStore(t)
				write := prepare(t, s)
				calls := 0
				failSyncDir(t, func(dir string) error {
					if calls++; calls == failAt {
						return injected
					}
					return hostfs.SyncDir(dir)
				})
				if err := write(); !errors.Is(err, injected) {
					t.Fatalf("commit = %v, want the injected fsync failure", err)
				}
				if snaps, problems, err := s.List(); len(snaps) != 0 || len(problems) != 0 || err != nil {
					t.Errorf("after the failed commit List = %v, problems %v, %v; want an empty store", ids(snaps), problems, err)
				}
			})
		}
	}
}

// failSyncDir makes the store's directory fsyncs call f until the test ends.
func failSyncDir(t *testing.T, f func(dir string) error) {
	t.Helper()
	orig := syncDir
	syncDir = f
	t.Cleanup(func() { syncDir = orig })
}

// A metadata file that cannot be removed keeps its data file: the rollback
// stops and says so.
func TestRollbackKeepsDataOfKeptMetadata(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "20261125T144530Z-r1.db.zst")
	meta := filepath.Join(dir, "20261125T144530Z-r1.json")
	if err := os.WriteFile(data, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A non-empty directory: os.Remove fails on it.
	if err := os.MkdirAll(filepath.Join(meta, "busy"), 0o700); err != nil {
		t.Fatal(err)
	}
	cause := errors.New("fsync failed")
	err := rollback(cause, dir, meta, data)
	if !errors.Is(err, cause) || !strings.Contains(err.Error(), "not rolled back") {
		t.Errorf("rollback = %v, want the cause and that it was not rolled back", err)
	}
	if _, err := os.Stat(data); err != nil {
		t.Errorf("data file of a kept metadata file removed: %v", err)
	}
}
