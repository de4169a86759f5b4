package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
)

// ioDirPrefix names the directories holding a task's FIFOs in TMPDIR. A run
// killed with -9 cannot remove its own, so each carries its owner's pid and
// start time: a later run removes those whose owner is gone, and never one a
// live run still uses.
const ioDirPrefix = "etcd-ramdisk-io-"

// legacyIOAge is how old a FIFO directory named the earlier way (no owner in
// the name) must be before it is removed: no run lasts that long.
const legacyIOAge = 24 * time.Hour

// makeIODir creates this process's FIFO directory:
// etcd-ramdisk-io-<pid>-<start time>-<random> in TMPDIR.
func makeIODir() (string, error) { return hostfs.MkdirOwned("", ioDirPrefix) }

// ioDirOwner reads the owner from a FIFO directory's name; ok is false for a
// name without one (made by an earlier version).
func ioDirOwner(name string) (pid int, start uint64, ok bool) {
	return hostfs.DirOwner(name, ioDirPrefix)
}

// RemoveLeftoverIO removes the FIFO directories that runs killed before they
// could clean up left in TMPDIR: only etcd-ramdisk's own, and only those whose
// owner no longer runs. It returns the paths it removed. Call it under the
// store lock, before anything else talks to containerd, as the other leftover
// sweeps.
//
// A run killed while containerd started one of its processes can leave that
// container's shim waiting in open(2) for the other end of a FIFO that nobody
// will ever open again; until it returns, the shim answers nothing, not even
// the state of the container (for an exec, that is kubelet's etcd). So each
// FIFO is opened before it is removed, and the runtime keeps it open until it
// is closed: a shim waiting on it, or about to, gets its partner at once.
func (r *Runtime) RemoveLeftoverIO() ([]string, error) {
	removed, held, err := removeLeftoverIO(os.TempDir(), hostfs.OwnerAlive, time.Now())
	if len(held) > 0 {
		r.OnClose(func() {
			for _, f := range held {
				f.Close()
			}
		})
	}
	return removed, err
}

func removeLeftoverIO(dir string, alive func(pid int, start uint64) bool, now time.Time) (removed []string, held []*os.File, _ error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), ioDirPrefix) {
			continue
		}
		if pid, start, ok := ioDirOwner(e.Name()); ok {
			if alive(pid, start) {
				continue
			}
		} else if fi, err := e.Info(); err != nil || now.Sub(fi.ModTime()) < legacyIOAge {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fifos, err := openFIFOs(p)
		held = append(held, fifos...)
		if err != nil {
			// A FIFO that could not be opened might hold a shim: keep its
			// directory for the next run rather than make the wait endless.
			errs = append(errs, err)
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, held, errors.Join(errs...)
}

// openFIFOs opens every FIFO under dir for reading and writing without
// blocking (on Linux such an open never waits), which wakes whoever waits in
// open(2) for the other end and lets anyone who opens it later in. Once the
// FIFOs are unlinked, nobody new can reach them; keeping them open a while
// covers a shim between two of its opens.
func openFIFOs(dir string) ([]*os.File, error) {
	var files []*os.File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeNamedPipe == 0 {
			return nil
		}
		f, err := os.OpenFile(p, os.O_RDWR|syscall.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("open the FIFO a shim may wait on: %w", err)
		}
		files = append(files, f)
		return nil
	})
	return files, err
}
