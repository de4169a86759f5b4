package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
)

const (
	fileMode = 0o600
	dirMode  = 0o700
)

// atomicWrite writes dir/name durably (hostfs.WriteFile), so readers see
// either the old file or the complete new one, even across a crash. With
// noReplace an existing dir/name is an error and is left untouched.
// Leftovers start with tempPrefix and are removed by CleanTemp.
func atomicWrite(dir, name string, noReplace bool, write func(io.Writer) error) error {
	return hostfs.WriteFile(filepath.Join(dir, name), hostfs.WriteOptions{
		Mode: fileMode, NoReplace: noReplace, TempPrefix: tempPrefix + name + ".",
		Failpoint: "store-before-rename" + filepath.Ext(name),
	}, write)
}

// renameNoReplace moves oldpath to newpath unless newpath exists, so that two
// writers that picked the same id never replace a committed snapshot; the
// store lock closes the race left on filesystems without hard links.
func renameNoReplace(oldpath, newpath string) error { return hostfs.RenameNoReplace(oldpath, newpath) }

// syncDir makes renames and removals in dir durable.
func syncDir(dir string) error { return hostfs.SyncDir(dir) }

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
