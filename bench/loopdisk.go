package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DiskFormat is the filesystem a setup's loop disk gets and the options it is
// mounted with. The zero value is ext4 with its defaults, what most nodes'
// root filesystems are.
type DiskFormat struct {
	FS      string `json:"fs,omitempty"`      // ext4 (empty) or xfs
	Options string `json:"options,omitempty"` // mount options, e.g. commit=30
}

// ParseDiskFormat reads "fs" or "fs:options" (ext4:commit=30, xfs).
func ParseDiskFormat(s string) (DiskFormat, error) {
	fs, opts, _ := strings.Cut(strings.TrimSpace(s), ":")
	switch fs {
	case "ext4", "xfs":
	default:
		return DiskFormat{}, fmt.Errorf("disk format %q: the filesystem must be ext4 or xfs", s)
	}
	if fs == "ext4" {
		fs = ""
	}
	return DiskFormat{FS: fs, Options: opts}, nil
}

func (f DiskFormat) fs() string {
	if f.FS == "" {
		return "ext4"
	}
	return f.FS
}

// String is "ext4", "ext4 commit=30", "xfs".
func (f DiskFormat) String() string {
	if f.Options == "" {
		return f.fs()
	}
	return f.fs() + " " + f.Options
}

// mkfs makes the filesystem with everything initialised now, so that no
// lazy-init thread writes during a window.
func (f DiskFormat) mkfs(ctx context.Context, dev string) error {
	args := []string{"-F", "-q", "-E", "lazy_itable_init=0,lazy_journal_init=0", dev}
	if f.fs() == "xfs" {
		args = []string{"-f", "-q", dev}
	}
	tool := "mkfs." + f.fs()
	if _, err := exec.LookPath(tool); err != nil {
		return fmt.Errorf("%s: %w (testbed/install-deps.sh installs it)", tool, err)
	}
	if out, err := exec.CommandContext(ctx, tool, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", tool, dev, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// loopDisk is a filesystem of its own (ext4 unless Format says otherwise)
// on a loop device over a sparse image file: what a setup persists goes
// there, so that the device's own counters (/sys/block/loopN/stat) say what
// the disk received, that setup's writes and cache flushes alone. A loop
// device over a file with buffered I/O advertises a volatile write cache, so
// the filesystem sends it flushes (each becomes an fsync of the image file);
// its stat counts the flush requests it receives.
type loopDisk struct {
	Image      string     `json:"image"`
	Dev        string     `json:"device"` // /dev/loopN
	Mount      string     `json:"mount"`
	Size       int64      `json:"sizeBytes"`
	WriteCache string     `json:"writeCache"` // queue/write_cache as found ("write back" when flushes reach it)
	Format     DiskFormat `json:"format"`
	mounted    bool
	attached   bool
}

// name is loopN, the device's directory under /sys/block.
func (l *loopDisk) name() string { return filepath.Base(l.Dev) }

// newLoopDisk creates the image, attaches it, makes the filesystem format
// names and mounts it at dir with format's options. On error whatever was
// set up is torn down.
func newLoopDisk(ctx context.Context, image string, size int64, format DiskFormat, dir string) (l *loopDisk, err error) {
	l = &loopDisk{Image: image, Mount: dir, Size: size, Format: format}
	defer func() {
		if err != nil {
			_ = l.close()
			l = nil
		}
	}()
	_ = os.Remove(image) // a run killed midway may have left it
	f, err := os.OpenFile(image, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return l, err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return l, fmt.Errorf("loop image %s: %w", image, err)
	}
	out, err := exec.CommandContext(ctx, "losetup", "--find", "--show", image).CombinedOutput()
	if err != nil {
		return l, fmt.Errorf("losetup %s: %w: %s", image, err, strings.TrimSpace(string(out)))
	}
	l.Dev, l.attached = strings.TrimSpace(string(out)), true
	if err := l.checkCounters(); err != nil {
		return l, err
	}
	if err := format.mkfs(ctx, l.Dev); err != nil {
		return l, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return l, err
	}
	if err := unix.Mount(l.Dev, dir, format.fs(), 0, format.Options); err != nil {
		return l, fmt.Errorf("mount %s (%s) on %s: %w", l.Dev, format, dir, err)
	}
	l.mounted = true
	return l, nil
}

// checkCounters makes sure the figures will mean what they say: the stat
// file has the flush fields (kernel 5.5 and later: 17 fields, flush I/Os the
// 16th) and the device takes flushes (a "write through" queue would have
// the block layer drop them before they are counted).
func (l *loopDisk) checkCounters() error {
	b, err := os.ReadFile(filepath.Join("/sys/block", l.name(), "stat"))
	if err != nil {
		return err
	}
	if n := len(strings.Fields(string(b))); n < 17 {
		return fmt.Errorf("%s/stat has %d fields: this kernel does not count flushes (5.5 or later does)", l.name(), n)
	}
	wc, err := os.ReadFile(filepath.Join("/sys/block", l.name(), "queue", "write_cache"))
	if err != nil {
		return err
	}
	l.WriteCache = strings.TrimSpace(string(wc))
	if l.WriteCache != "write back" {
		return fmt.Errorf("%s: queue/write_cache is %q: the device would receive no flushes", l.name(), l.WriteCache)
	}
	return nil
}

// stat reads the device's counters.
func (l *loopDisk) stat() (DiskStat, error) {
	d, err := readStatFile(filepath.Join("/sys/block", l.name(), "stat"))
	d.Device = l.name()
	return d, err
}

// close unmounts the filesystem (unless a bed's teardown did), detaches the
// device and removes the image. A device still busy is detached by the
// kernel when its last user goes (losetup -d sets autoclear).
func (l *loopDisk) close() error {
	if l == nil {
		return nil
	}
	var errs []error
	if l.mounted {
		if err := unix.Unmount(l.Mount, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", l.Mount, err))
		}
		l.mounted = false
	}
	if l.attached {
		if out, err := exec.Command("losetup", "-d", l.Dev).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("losetup -d %s: %w: %s", l.Dev, err, strings.TrimSpace(string(out))))
		}
		l.attached = false
	}
	if err := os.Remove(l.Image); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
