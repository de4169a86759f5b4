package store

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

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
