package store

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A staged and committed snapshot reads back like a written one, in either kind.
func TestStageCommit(t *testing.T) {
	for _, kind := range []Kind{Good, Suspect} {
		s := newStore(t)
		data := testData(300_000, 7)
		sg, err := s.Stage(context.Background(), bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		meta := testMeta(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), 55)
		if kind == Suspect {
			meta.Suspect = "test"
		}
		snap, err := s.Commit(context.Background(), meta, sg, kind)
		if err != nil {
			t.Fatalf("%s: Commit: %v", kind, err)
		}
		sg.Discard() // no-op after a commit
		if meta.RawSize != int64(len(data)) || meta.SHA256 == "" || meta.ID == "" {
			t.Errorf("%s: metadata not filled: %+v", kind, meta)
		}
		got, err := readRaw(t, s, snap)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: read back %d bytes, err %v; want %d", kind, len(got), err, len(data))
		}
		if err := s.VerifyChecksum(context.Background(), snap); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
		for _, sub := range []string{snapshotsDir, suspectDir} {
			for _, n := range dirNames(t, filepath.Join(s.Dir, sub)) {
				if n != meta.File && n != meta.ID+metaSuffix {
					t.Errorf("%s: unexpected file %s/%s", kind, sub, n)
				}
			}
		}
	}
}

// A discarded staged file leaves nothing, and an invalid commit leaves no snapshot.
func TestStageDiscard(t *testing.T) {
	s := newStore(t)
	sg, err := s.Stage(context.Background(), bytes.NewReader(testData(10_000, 1)))
	if err != nil {
		t.Fatal(err)
	}
	bad := testMeta(time.Now(), 0) // revision 0 is refused
	if _, err := s.Commit(context.Background(), bad, sg, Good); err == nil {
		t.Error("Commit accepted revision 0")
	}
	sg.Discard()
	if names := dirNames(t, filepath.Join(s.Dir, snapshotsDir)); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
	if _, err := s.Stage(context.Background(), bytes.NewReader(nil)); err == nil {
		t.Error("Stage accepted an empty snapshot")
	}
	if names := dirNames(t, filepath.Join(s.Dir, snapshotsDir)); !slices.Equal(names, nil) && len(names) != 0 {
		t.Errorf("empty stage left %v", names)
	}
}
