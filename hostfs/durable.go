package hostfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
)

// WriteOptions say how WriteFile writes.
type WriteOptions struct {
	Mode fs.FileMode // of the new file
	// NoReplace makes an existing file an error, left untouched.
	NoReplace bool
	// TempPrefix starts the temporary file's name in the same directory, so
	// that leftovers of a crash can be found; default "." + name + ".tmp-".
	TempPrefix string
	// Failpoint, when set, is injected between the fsync and the rename.
	Failpoint string
	// Remote: the directory may be on a network filesystem that cannot fsync
	// a directory (SyncDirRemote).
	Remote bool
}

// WriteFile replaces path with what write produces: a temporary file in the
// same directory (WriteTemp), renamed over it, then the directory fsynced, so
// readers see either the old file or the complete new one, even across a
// crash. The temporary name is unique per call, so two writers never share
// one. On an error nothing is left behind.
func WriteFile(path string, o WriteOptions, write func(io.Writer) error) (err error) {
	dir, name := filepath.Split(path)
	dir = filepath.Clean(dir)
	prefix := o.TempPrefix
	if prefix == "" {
		prefix = "." + name + ".tmp-"
	}
	tmp, err := WriteTemp(dir, prefix, o.Mode, write)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if o.Failpoint != "" {
		failpoint.Inject(o.Failpoint)
	}
	if o.NoReplace {
		err = RenameNoReplace(tmp, path)
	} else {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return err
	}
	if o.Remote {
		return SyncDirRemote(dir)
	}
	return SyncDir(dir)
}

// WriteTemp writes what write produces to a new file in dir whose name starts
// with prefix, with mode, fsynced and closed, and returns its path: a complete
// file for the caller to rename into place. On an error nothing is left behind.
func WriteTemp(dir, prefix string, mode fs.FileMode, write func(io.Writer) error) (_ string, err error) {
	f, err := os.CreateTemp(dir, prefix)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return "", err
	}
	if err := write(f); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// RenameNoReplace moves oldpath to newpath unless newpath exists. A hard link
// fails atomically with EEXIST, unlike rename, which would silently replace a
// file that is already committed.
func RenameNoReplace(oldpath, newpath string) error {
	err := os.Link(oldpath, newpath)
	switch {
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s already exists", newpath)
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.ENOTSUP):
		// The filesystem has no hard links. Check, then rename: the small
		// race this leaves is the caller's to close (the store holds its lock).
		if _, err := os.Lstat(newpath); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s already exists or cannot be checked: %v", newpath, err)
		}
		return os.Rename(oldpath, newpath)
	case err != nil:
		return err
	}
	// A crash before this Remove leaves a second name for a complete file;
	// the caller's temporary-file sweep removes it.
	return os.Remove(oldpath)
}

// SyncDir makes renames and removals in dir durable.
func SyncDir(dir string) error {
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

// SyncDirRemote is SyncDir for a directory that may be on a network
// filesystem (an off-host NAS mount): some SMB and FUSE filesystems cannot
// fsync a directory (EINVAL, ENOTSUP); their renames are as durable as the
// server makes them, so that is not an error there.
func SyncDirRemote(dir string) error {
	err := SyncDir(dir)
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	return err
}

// SyncTree fsyncs every file and directory below root, so that the rename
// that publishes it publishes durable data.
func SyncTree(root string) error {
	return filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
