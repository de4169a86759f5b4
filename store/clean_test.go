package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

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
	if err := s.VerifyChecksum(context.Background(), good); err != nil {
		t.Errorf("committed snapshot damaged: %v", err)
	}
}
