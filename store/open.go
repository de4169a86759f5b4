package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// Open opens the store at dir, creating it and its subdirectories (0700) if
// missing. It refuses a directory, or the target of a symlink, that anyone
// but the current user could modify.
func Open(dir string) (*Store, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("backup dir %q is not an absolute path", dir)
	}
	dir = filepath.Clean(dir)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return nil, fmt.Errorf("create backup dir %s: %w", dir, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("backup dir %s: %w", dir, err)
	}
	real, err := checkOwnedDir("backup dir", dir)
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{snapshotsDir, suspectDir, imagesDir} {
		if err := ensureSubdir(filepath.Join(real, sub)); err != nil {
			return nil, err
		}
	}
	return &Store{Dir: real}, nil
}

func ensureSubdir(path string) error {
	if err := os.Mkdir(path, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create backup dir %s: %w", path, err)
	}
	_, err := checkOwnedDir("backup dir", path)
	return err
}

// checkOwnedDir refuses a directory that someone other than the current
// user could modify: anyone who can write into the store can plant a
// snapshot that a restore would load into the cluster. It follows symlinks
// and returns the real directory.
// label names the directory's role in errors, e.g. "backup dir".
func checkOwnedDir(label, dir string) (string, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", label, dir, err)
	}
	desc := label + " " + dir
	if real != dir {
		desc = fmt.Sprintf("%s (symlink to %s)", desc, real)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("%s: %w", desc, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", desc)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return "", fmt.Errorf("%s is writable by group or others (mode %04o); chmod 0700 it", desc, perm)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("%s: cannot read owner", desc)
	}
	if euid := os.Geteuid(); int(st.Uid) != euid {
		return "", fmt.Errorf("%s is owned by uid %d, not by the current user (uid %d); chown it", desc, st.Uid, euid)
	}
	return real, nil
}

// Writable says whether this process may write into the store, without
// writing anything (an idle backup leaves the disk alone): access(2) with W_OK
// on the store and its snapshot directories, which reports a read-only mount
// even to root.
func (s *Store) Writable() error {
	for _, dir := range Layout(s.Dir) {
		if err := unix.Access(dir, unix.W_OK); err != nil {
			return fmt.Errorf("backup dir %s is not writable: %w", dir, err)
		}
	}
	return nil
}
