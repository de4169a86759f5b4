package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string) string // returns the dir to open
		want  string                                 // error substring; "" for success
	}{
		{"creates missing dir", func(t *testing.T, root string) string {
			return filepath.Join(root, "a", "b")
		}, ""},
		{"existing 0700 dir", func(t *testing.T, root string) string {
			return mkdirMode(t, filepath.Join(root, "s"), 0o700)
		}, ""},
		{"existing 0755 dir", func(t *testing.T, root string) string {
			return mkdirMode(t, filepath.Join(root, "s"), 0o755)
		}, ""},
		{"relative path", func(t *testing.T, root string) string { return "store" }, "not an absolute path"},
		{"group-writable dir", func(t *testing.T, root string) string {
			return mkdirMode(t, filepath.Join(root, "s"), 0o770)
		}, "writable by group or others (mode 0770); chmod 0700 it"},
		{"world-writable subdir", func(t *testing.T, root string) string {
			dir := mkdirMode(t, filepath.Join(root, "s"), 0o700)
			mkdirMode(t, filepath.Join(dir, "images"), 0o777)
			return dir
		}, "images is writable by group or others"},
		{"symlink to a group-writable dir", func(t *testing.T, root string) string {
			target := mkdirMode(t, filepath.Join(root, "target"), 0o775)
			return symlink(t, target, filepath.Join(root, "link"))
		}, "(symlink to "},
		{"symlink to a safe dir", func(t *testing.T, root string) string {
			target := mkdirMode(t, filepath.Join(root, "target"), 0o700)
			return symlink(t, target, filepath.Join(root, "link"))
		}, ""},
		{"dangling symlink", func(t *testing.T, root string) string {
			return symlink(t, filepath.Join(root, "nowhere"), filepath.Join(root, "link"))
		}, "no such file"},
		{"a file", func(t *testing.T, root string) string {
			path := filepath.Join(root, "f")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}, "not a directory"},
		{"owned by someone else", func(t *testing.T, root string) string {
			if os.Geteuid() != 0 {
				t.Fatal("needs root to chown: run the unit tests as root, as make test does")
			}
			dir := mkdirMode(t, filepath.Join(root, "s"), 0o700)
			if err := os.Chown(dir, 4242, 4242); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "owned by uid 4242"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t, t.TempDir())
			s, err := Open(dir)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) || (filepath.IsAbs(dir) && !strings.Contains(err.Error(), dir)) {
					t.Fatalf("Open(%s) = %v, want an error naming the dir and %q", dir, err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%s): %v", dir, err)
			}
			real, _ := filepath.EvalSymlinks(dir)
			if s.Dir != real {
				t.Errorf("Dir = %s, want the real dir %s", s.Dir, real)
			}
			for _, sub := range []string{"snapshots", "suspect", "images"} {
				fi, err := os.Lstat(filepath.Join(s.Dir, sub))
				if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
					t.Errorf("%s: %v, %v; want a 0700 directory", sub, fi, err)
				}
			}
		})
	}
}

func mkdirMode(t *testing.T, path string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
	// Chmod, because Mkdir's mode is filtered by the umask.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func symlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}
