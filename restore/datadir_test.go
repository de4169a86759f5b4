package restore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
)

func TestCheckDataDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{dir, true},
		{filepath.Join(dir, "new"), true}, // its parent exists: restore creates it
		{filepath.Join(dir, "typo", "etcd"), false},
		{file, false},
		{"relative/etcd", false},
	} {
		err := CheckDataDir(tc.path)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrDataDir)) {
			t.Errorf("CheckDataDir(%s) = %v, want ok %v", tc.path, err, tc.ok)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "typo")); !os.IsNotExist(err) {
		t.Errorf("CheckDataDir created something: %v", err)
	}
}

// checkRoom counts what a journal chain adds to the database, and then
// names the snapshot alone as the way out; without a chain it does not.
func TestCheckRoomCountsTheJournal(t *testing.T) {
	dir := t.TempDir()
	free, err := etcdtool.FreeBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkRoom(dir, 1<<20, 0); err != nil {
		t.Fatalf("1 MiB snapshot, no journal, %d bytes free: %v", free, err)
	}
	err = checkRoom(dir, 1<<20, free)
	if !errors.Is(err, etcdtool.ErrNoRoom) || !strings.Contains(err.Error(), "restore --no-journal") {
		t.Errorf("a journal as large as the free space: %v, want ErrNoRoom naming restore --no-journal", err)
	}
	if err := checkRoom(dir, free, 0); err == nil || strings.Contains(err.Error(), "--no-journal") {
		t.Errorf("a snapshot as large as the free space, no journal: %v, want ErrNoRoom without the journal's way out", err)
	}
}
