package hostfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := WriteFile(path, WriteOptions{Mode: 0o640}, write("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, WriteOptions{Mode: 0o600}, write("two")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Errorf("content %q, want the second write", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode())
	}
	err := WriteFile(path, WriteOptions{Mode: 0o600, NoReplace: true}, write("three"))
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("NoReplace over an existing file: %v", err)
	}
	boom := errors.New("boom")
	if err := WriteFile(path, WriteOptions{Mode: 0o600}, func(w io.Writer) error { io.WriteString(w, "half"); return boom }); !errors.Is(err, boom) {
		t.Errorf("failed write: %v, want boom", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Errorf("content %q after refused and failed writes, want the old file", b)
	}
	if err := WriteFile(filepath.Join(dir, "new"), WriteOptions{Mode: 0o600, NoReplace: true, TempPrefix: ".tmp-x."}, write("n")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "f new" {
		t.Errorf("directory holds %q, want only f and new (no temporary file left)", names)
	}
}

func TestRenameNoReplace(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte(p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := RenameNoReplace(a, b); err == nil {
		t.Fatal("replaced an existing file")
	}
	if got, _ := os.ReadFile(b); string(got) != b {
		t.Errorf("b now holds %q", got)
	}
	c := filepath.Join(dir, "c")
	if err := RenameNoReplace(a, c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old name still there: %v", err)
	}
	if got, _ := os.ReadFile(c); string(got) != a {
		t.Errorf("c holds %q", got)
	}
}

func TestSyncDirAndTree(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a/b"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a/b/f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SyncTree(dir); err != nil {
		t.Error(err)
	}
	if err := SyncDir(dir); err != nil {
		t.Error(err)
	}
	if err := SyncDir(filepath.Join(dir, "absent")); err == nil {
		t.Error("SyncDir of a missing dir succeeded")
	}
	if err := SyncTree(filepath.Join(dir, "absent")); err == nil {
		t.Error("SyncTree of a missing dir succeeded")
	}
}
