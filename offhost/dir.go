package offhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/ctxio"
)

// MarkerName is the file that marks a directory as an off-host target. A
// directory without it is refused: an NFS or SMB share that is not mounted
// leaves an empty mount point on the local disk, and copies written there
// would die with the disk they are meant to survive.
const MarkerName = "etcd-ramdisk-target"

const dirTempPrefix = ".tmp-"

// dirTarget keeps objects as files under root: temporary file, fsync,
// rename, fsync of the directory, so a file is whole or absent.
type dirTarget struct{ root string }

func openDir(root string) (*dirTarget, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("target dir %q is not an absolute path", root)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("%w: target dir %s: %w (is the NAS mounted?)", ErrUnreachable, root, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("target dir %s is not a directory", root)
	}
	if _, err := os.Stat(filepath.Join(root, MarkerName)); err != nil {
		return nil, fmt.Errorf("%w: target dir %s has no %s file: is the NAS mounted? (`etcd-ramdisk install` with the target creates it; or touch it by hand once the share is mounted)", ErrUnreachable, root, MarkerName)
	}
	return &dirTarget{root: filepath.Clean(root)}, nil
}

// initDir creates the marker in an existing directory.
func initDir(root string) error {
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("target dir %s: %w (mount the share first)", root, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("target dir %s is not a directory", root)
	}
	f, err := os.OpenFile(filepath.Join(root, MarkerName), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("target dir %s: %w", root, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return hostfs.SyncDirRemote(root)
}

func (d *dirTarget) String() string { return d.root }

func (d *dirTarget) path(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return filepath.Join(d.root, filepath.FromSlash(name)), nil
}

func (d *dirTarget) Put(ctx context.Context, name string, r io.Reader, size int64) (err error) {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return dirErr("put "+name, err)
	}
	var short error
	err = hostfs.WriteFile(p, hostfs.WriteOptions{Mode: 0o600, TempPrefix: dirTempPrefix + filepath.Base(p) + ".", Remote: true}, func(w io.Writer) error {
		n, err := io.Copy(w, ctxio.Reader(ctx, r))
		if err != nil {
			return err
		}
		if size >= 0 && n != size {
			short = fmt.Errorf("put %s: wrote %d bytes, want %d", name, n, size)
			return short
		}
		return nil
	})
	if err != nil && err == short {
		return err
	}
	return dirErr("put "+name, err)
}

func (d *dirTarget) Get(_ context.Context, name string) (io.ReadCloser, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, dirErr("get "+name, err)
	}
	return f, nil
}

func (d *dirTarget) Stat(_ context.Context, name string) (Object, error) {
	p, err := d.path(name)
	if err != nil {
		return Object{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return Object{}, dirErr("stat "+name, err)
	}
	return Object{Name: name, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// List lists the files of one directory level (the layout has no deeper
// ones), without temporary files.
func (d *dirTarget) List(_ context.Context, prefix string) ([]Object, error) {
	dirName, base := prefix, ""
	if !strings.HasSuffix(prefix, "/") {
		dirName, base = filepath.Dir(prefix)+"/", filepath.Base(prefix)
	}
	dir := filepath.Join(d.root, filepath.FromSlash(dirName))
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, dirErr("list "+prefix, err)
	}
	var out []Object
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, dirTempPrefix) || !strings.HasPrefix(n, base) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, Object{Name: strings.TrimPrefix(dirName, "./") + n, Size: fi.Size(), ModTime: fi.ModTime()})
	}
	return out, nil
}

func (d *dirTarget) Delete(_ context.Context, name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return dirErr("delete "+name, err)
	}
	return dirErr("delete "+name, hostfs.SyncDirRemote(filepath.Dir(p)))
}

// Clean removes the temporary files of interrupted Puts. Only one copy runs
// at a time per node (the off-host lock), so any seen then is a leftover.
func (d *dirTarget) Clean(context.Context) ([]string, error) {
	var removed []string
	for _, sub := range []string{snapshotsDir, imagesDir} {
		dir := filepath.Join(d.root, sub)
		ents, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, dirErr("clean", err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() && strings.HasPrefix(e.Name(), dirTempPrefix) {
				if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
					removed = append(removed, sub+"/"+e.Name())
				}
			}
		}
	}
	return removed, nil
}

// dirErr names the operation and marks errors the caller can act on.
func dirErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w: %w", op, ErrNotFound, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%s: %w: %w", op, ErrFull, err)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%s: %w: %w", op, ErrDenied, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
