package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
	"io/fs"
)

// ErrLocked is flock(2)'s own answer when another holder has the lock
// (EWOULDBLOCK): Lock and LockDir return it, wrapped with the path, when the
// lock was not free within their wait.
var ErrLocked error = syscall.EWOULDBLOCK

// retryDelay is how often a waiting Lock tries again.
const retryDelay = 50 * time.Millisecond

// Lock takes an exclusive lock on the file at path, created (mode 0600) when
// missing. It waits up to timeout (one try when timeout <= 0) and no longer
// than ctx: then the error is ctx's. Other errors are the file's own (open,
// flock), which name it. unlock releases the lock and is safe to call more
// than once.
func Lock(ctx context.Context, path string, timeout time.Duration) (unlock func() error, err error) {
	return lock(ctx, flock.New(path, flock.SetPermissions(0o600)), timeout)
}

// LockDir is Lock on the existing directory dir itself, which it never
// creates: a lock without a lock file among the files that others read.
func LockDir(ctx context.Context, dir string, timeout time.Duration) (unlock func() error, err error) {
	return lock(ctx, flock.New(dir, flock.SetFlag(os.O_RDONLY)), timeout)
}

func lock(ctx context.Context, fl *flock.Flock, timeout time.Duration) (func() error, error) {
	ok, err := try(ctx, fl, timeout)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: %w", fl.Path(), ErrLocked)
	}
	var once sync.Once
	var unlockErr error
	return func() error {
		once.Do(func() { unlockErr = fl.Unlock() })
		return unlockErr
	}, nil
}

// try reports whether it took the lock; running out of timeout is no error,
// but ctx ending is.
func try(ctx context.Context, fl *flock.Flock, timeout time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if timeout <= 0 {
		return fl.TryLock()
	}
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := fl.TryLockContext(waitCtx, retryDelay)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return false, nil
	}
	return ok, err
}

// Held reports whether another holder has an exclusive lock on the file at
// path, without taking it: a shared, non-blocking flock conflicts with Lock's
// exclusive one but, unlike Lock, neither creates the file nor disturbs the
// holder. A file that does not exist was never locked.
func Held(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false, nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return false, fmt.Errorf("flock %s: %w", path, err)
	}
	return true, nil
}
