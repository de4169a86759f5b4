package hostfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
)

// A directory that a run makes for itself and cannot remove when it is
// killed carries its owner in its name, <prefix><pid>-<start time>-<random>:
// a later run removes those whose owner is gone, and never one a live run
// still uses (a pid alone could have been reused; its start time says
// whether it is the same process).

// MkdirOwned creates such a directory in parent (TMPDIR when "").
func MkdirOwned(parent, prefix string) (string, error) {
	start, err := OwnStartTime()
	if err != nil {
		return "", err
	}
	return os.MkdirTemp(parent, fmt.Sprintf("%s%d-%d-", prefix, os.Getpid(), start))
}

// DirOwner reads the owner from such a directory's name; ok is false for a
// name without one.
func DirOwner(name, prefix string) (pid int, start uint64, ok bool) {
	parts := strings.Split(strings.TrimPrefix(name, prefix), "-")
	if len(parts) != 3 {
		return 0, 0, false
	}
	pid, err1 := strconv.Atoi(parts[0])
	start, err2 := strconv.ParseUint(parts[1], 10, 64)
	return pid, start, err1 == nil && err2 == nil && pid > 0
}

// OwnerAlive reports whether the process that made such a directory still
// runs. Anything but a clear "gone" counts as alive: a directory a live run
// uses must never be removed.
func OwnerAlive(pid int, start uint64) bool {
	if pid == os.Getpid() {
		// This process: its start time as read once when it named its
		// directories. Read again it would be the same on Linux, but
		// qemu-user (arm64 tests on amd64) fakes a per-thread value in a
		// process's own stat, so a second read from another thread would
		// call this live process gone and remove its directory.
		own, err := OwnStartTime()
		return err != nil || own == start
	}
	got, err := StartTime(pid)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return err != nil || got == start
}

var ownStart = sync.OnceValues(func() (uint64, error) { return StartTime(os.Getpid()) })

// OwnStartTime is this process's start time, read once.
func OwnStartTime() (uint64, error) { return ownStart() }
