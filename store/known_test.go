package store

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A damaged snapshot keeps its place in the store's order: a verify or
// restore names it where it would have been, not at the end or not at all.
func TestMergeDamaged(t *testing.T) {
	s := newStore(t)
	dir := filepath.Join(s.Dir, snapshotsDir)
	old := writeSnap(t, s, testMeta(baseTime, 1), []byte("oldest"), Good)
	cut := writeSnap(t, s, testMeta(baseTime.Add(time.Hour), 2), []byte("cut short later"), Good)
	mid := writeSnap(t, s, testMeta(baseTime.Add(2*time.Hour), 3), []byte("middle"), Good)
	newest := writeSnap(t, s, testMeta(baseTime.Add(3*time.Hour), 4), []byte("newest, cut short"), Good)
	for _, snap := range []*Snapshot{cut, newest} {
		if err := os.Truncate(snap.Path, 3); err != nil {
			t.Fatal(err)
		}
	}
	// Unreadable metadata: no seq, so it sorts with the unnumbered ones, by
	// the time in its id. Neither an orphan nor a stray file is a snapshot.
	for name, data := range map[string]string{
		"20261125T000000Z-r9.json":   "{not json",
		"20261125T000000Z-r8.db.zst": "orphan",
		"notes.txt":                  "?",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	snaps, problems, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	known := Merge(snaps, problems)
	var got []string
	for _, k := range known {
		got = append(got, k.Meta.ID)
		if damaged := k.Snap == nil; damaged != (k.Err != nil) {
			t.Errorf("%s: Snap %v with Err %v, want exactly one", k.Meta.ID, k.Snap, k.Err)
		}
	}
	want := []string{newest.Meta.ID, mid.Meta.ID, cut.Meta.ID, old.Meta.ID, "20261125T000000Z-r9"}
	if !slices.Equal(got, want) {
		t.Fatalf("Merge = %v, want %v", got, want)
	}
	if k := known[0]; k.Snap != nil || !errors.Is(k.Err, ErrCorrupt) || k.Meta.Seq != newest.Meta.Seq {
		t.Errorf("newest = %+v, want damaged (corrupt) with its seq %d", k, newest.Meta.Seq)
	}
	if k := known[1]; k.Snap == nil || k.Snap.Meta.ID != mid.Meta.ID {
		t.Errorf("middle = %+v, want the whole snapshot", k)
	}
	if k := known[4]; k.Meta.Seq != 0 || !k.Meta.Time.Equal(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("unreadable metadata ordered by seq %d time %v, want 0 and the time in its id", k.Meta.Seq, k.Meta.Time)
	}
}
