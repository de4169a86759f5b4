package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// OpenExisting creates nothing: it refuses a store Open would have to complete.
func TestOpenExisting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	if _, err := OpenExisting(dir); err == nil || !strings.Contains(err.Error(), dir+" does not exist: no backup has run") {
		t.Fatalf("absent dir: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenExisting created %s: %v", dir, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenExisting(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "snapshots")+" does not exist") {
		t.Fatalf("dir without snapshots/: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("OpenExisting created %v", entries)
	}
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var made []string
	for _, sub := range Layout(dir)[1:] {
		made = append(made, filepath.Base(sub))
	}
	slices.Sort(made)
	if entries, _ := os.ReadDir(dir); !slices.EqualFunc(entries, made, func(e os.DirEntry, n string) bool { return e.Name() == n && e.IsDir() }) {
		t.Errorf("Open made %v, Layout says %v", entries, made)
	}
	got, err := OpenExisting(dir)
	if err != nil || got.Dir != st.Dir {
		t.Fatalf("complete store: %v, %v", got, err)
	}
	images := Layout(dir)[3]
	if err := os.Remove(images); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(images, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenExisting(dir); err == nil || !strings.Contains(err.Error(), images+" is not a directory") {
		t.Errorf("images/ a file: %v", err)
	}
}
