package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// ErrLockTimeout is returned (wrapped, naming the holder) when the store
// lock could not be taken in time.
var ErrLockTimeout = errors.New("timed out waiting for the store lock")

// lockRetryDelay is how often a waiting Lock retries.
const lockRetryDelay = 50 * time.Millisecond

// maxHolderSize bounds what is read of lock.holder.
const maxHolderSize = 4 << 10

// Lock takes the store's exclusive lock, waiting up to timeout (one try when
// timeout <= 0). holder describes the caller (e.g. "backup (cron)") and is
// recorded with the pid and time, so that others who time out can say who
// holds the lock. The lock is an flock(2) on <dir>/lock: it is released when
// the process dies, however it dies. unlock is safe to call more than once.
func (s *Store) Lock(ctx context.Context, timeout time.Duration, holder string) (unlock func() error, err error) {
	path := filepath.Join(s.Dir, lockName)
	fl := flock.New(path, flock.SetPermissions(fileMode))
	ok, err := tryLock(ctx, fl, timeout)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: %w after %v; held by %s", path, ErrLockTimeout, timeout, s.describeHolder())
	}
	desc := fmt.Sprintf("%s (pid %d, since %s)", holder, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	err = atomicWrite(s.Dir, lockHolderName, false, func(w io.Writer) error {
		_, err := io.WriteString(w, desc+"\n")
		return err
	})
	if err != nil {
		fl.Unlock()
		return nil, fmt.Errorf("lock %s: record holder: %w", path, err)
	}
	var once sync.Once
	var unlockErr error
	return func() error {
		once.Do(func() {
			// The holder file goes first, while the lock still protects it.
			rmErr := removeIfExists(filepath.Join(s.Dir, lockHolderName))
			unlockErr = errors.Join(rmErr, fl.Unlock())
			if unlockErr != nil {
				unlockErr = fmt.Errorf("unlock %s: %w", path, unlockErr)
			}
		})
		return unlockErr
	}, nil
}

func tryLock(ctx context.Context, fl *flock.Flock, timeout time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if timeout <= 0 {
		return fl.TryLock()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return fl.TryLockContext(ctx, lockRetryDelay)
}

// describeHolder names the holder for an error message, never failing.
func (s *Store) describeHolder() string {
	h, err := s.LockHolder()
	switch {
	case err != nil:
		return fmt.Sprintf("an unknown process (%v)", err)
	case h == "":
		return "an unknown process (no holder recorded)"
	}
	return h
}

// LockHolder returns the description the current lock holder recorded, or
// "" when none is recorded. A description left by a process that died while
// holding the lock is returned too; the lock itself is free then.
func (s *Store) LockHolder() (string, error) {
	path := filepath.Join(s.Dir, lockHolderName)
	data, err := readLimited(path, maxHolderSize)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read lock holder %s: %w", path, err)
	}
	return strings.TrimSpace(string(data)), nil
}
