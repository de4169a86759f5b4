package restore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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
