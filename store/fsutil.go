package store

import (
	"errors"
	"fmt"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

const (
	fileMode = 0o600
	dirMode  = 0o700
)

// atomicWrite writes dir/name by writing a temporary file in dir, fsyncing
// it, renaming it into place and fsyncing dir, so readers see either the old
// file or the complete new one, even across a crash. With noReplace an
// existing dir/name is an error and is left untouched. The temporary name is
// unique per call, so two writers never share one; leftovers start with
// tempPrefix and are removed by CleanTemp.
func atomicWrite(dir, name string, noReplace bool, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(dir, tempPrefix+name+".")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp already uses 0600; Chmod states it rather than relying on it.
	if err := f.Chmod(fileMode); err != nil {
		return err
	}
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	failpoint.Inject("store-before-rename" + filepath.Ext(name))
	final := filepath.Join(dir, name)
	if noReplace {
		err = renameNoReplace(tmp, final)
	} else {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

// renameNoReplace moves oldpath to newpath unless newpath exists. A hard link
// fails atomically with EEXIST, unlike rename, which would silently replace a
// committed snapshot if two writers ever picked the same id.
func renameNoReplace(oldpath, newpath string) error {
	err := os.Link(oldpath, newpath)
	switch {
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s already exists", newpath)
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.ENOTSUP):
		// The filesystem has no hard links. Check, then rename: the small
		// race this leaves is closed by holding the store lock.
		if _, err := os.Lstat(newpath); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s already exists or cannot be checked: %v", newpath, err)
		}
		return os.Rename(oldpath, newpath)
	case err != nil:
		return err
	}
	// A crash before this Remove leaves a second name for a complete file;
	// CleanTemp removes it.
	return os.Remove(oldpath)
}

// syncDir makes renames and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return d.Close()
}

// removeIfExists removes path, treating an already missing file as success.
func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
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
