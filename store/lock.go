package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/filelock"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
)

// ErrLockTimeout is returned (wrapped, naming the holder) when the store
// lock could not be taken in time.
var ErrLockTimeout = errors.New("timed out waiting for the store lock")

// Lock takes the store's exclusive lock, waiting up to timeout (one try when
// timeout <= 0). The lock is an flock(2) on <dir>/lock: it is released when the
// process dies, however it dies. Taking it writes nothing (once the lock file
// exists), so an idle cluster's backup leaves the disk alone; who holds it is
// read from the kernel (/proc/locks) instead. unlock is safe to call more than once.
func (s *Store) Lock(ctx context.Context, timeout time.Duration, holder string) (unlock func() error, err error) {
	path := filepath.Join(s.Dir, lockName)
	release, err := filelock.Lock(ctx, path, 0)
	if errors.Is(err, filelock.ErrLocked) && timeout > 0 {
		// Say at once why nothing happens, and who is in the way.
		logging.G(ctx).Info("waiting for the store lock", "holder", s.describeHolder(), "upTo", timeout.String(), "lock", path)
		release, err = filelock.Lock(ctx, path, timeout)
	}
	if errors.Is(err, filelock.ErrLocked) {
		return nil, fmt.Errorf("lock %s: %w after %v; held by %s", path, ErrLockTimeout, timeout, s.describeHolder())
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() error {
		if err := release(); err != nil {
			return fmt.Errorf("unlock %s (%s): %w", path, holder, err)
		}
		return nil
	}, nil
}

// describeHolder names the holder for an error message, never failing.
func (s *Store) describeHolder() string {
	h, err := s.LockHolder()
	switch {
	case err != nil:
		return fmt.Sprintf("an unknown process (%v)", err)
	case h == "":
		return "an unknown process"
	}
	return h
}

// LockHolder describes the process holding the store lock ("pid 123:
// etcd-ramdisk backup --reason cron"), or "" when the lock is free. It asks
// the kernel which process holds an flock on the lock file's inode.
func (s *Store) LockHolder() (string, error) {
	return hostfs.FlockHolder(filepath.Join(s.Dir, lockName))
}

// LockState says whether another process holds the store lock, and who,
// without taking it (filelock.Held): it neither creates the lock file nor
// disturbs the holder. A lock file that does not exist was never taken. held
// can be true with an error that says why the holder is unknown.
func (s *Store) LockState() (held bool, holder string, err error) {
	held, err = filelock.Held(filepath.Join(s.Dir, lockName))
	if !held || err != nil {
		return false, "", err
	}
	holder, err = s.LockHolder()
	return true, holder, err
}
