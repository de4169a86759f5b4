package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// ErrLockTimeout is returned (wrapped, naming the holder) when the store
// lock could not be taken in time.
var ErrLockTimeout = errors.New("timed out waiting for the store lock")

// lockRetryDelay is how often a waiting Lock retries.
const lockRetryDelay = 50 * time.Millisecond

// maxHolderSize bounds how much of a holder's command line is shown.
const maxHolderSize = 4 << 10

// Lock takes the store's exclusive lock, waiting up to timeout (one try when
// timeout <= 0). The lock is an flock(2) on <dir>/lock: it is released when the
// process dies, however it dies. Taking it writes nothing (once the lock file
// exists), so an idle cluster's backup leaves the disk alone; who holds it is
// read from the kernel (/proc/locks) instead. unlock is safe to call more than once.
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
	var once sync.Once
	var unlockErr error
	return func() error {
		once.Do(func() {
			if err := fl.Unlock(); err != nil {
				unlockErr = fmt.Errorf("unlock %s (%s): %w", path, holder, err)
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
		return "an unknown process"
	}
	return h
}

// LockHolder describes the process holding the store lock ("pid 123:
// etcd-ramdisk backup --reason cron"), or "" when the lock is free. It asks
// the kernel which process holds an flock on the lock file's inode.
func (s *Store) LockHolder() (string, error) {
	return lockHolder(filepath.Join(s.Dir, lockName), "/proc/locks")
}

func lockHolder(path, procLocks string) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("stat %s: no inode", path)
	}
	data, err := os.ReadFile(procLocks)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", procLocks, err)
	}
	want := fmt.Sprintf(":%d", st.Ino)
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		// 1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF
		if len(f) < 6 || f[1] != "FLOCK" || !strings.HasSuffix(f[5], want) {
			continue
		}
		return describePID(f[4]), nil
	}
	return "", nil
}

func describePID(pid string) string {
	cmd, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil || len(cmd) == 0 {
		return "pid " + pid
	}
	if len(cmd) > maxHolderSize {
		cmd = cmd[:maxHolderSize]
	}
	return "pid " + pid + ": " + strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
}

// LockState says whether another process holds the store lock, and who,
// without taking it: a shared, non-blocking flock on the existing lock file
// conflicts with Lock's exclusive one but, unlike Lock, neither creates the
// file nor disturbs the holder. A lock file that does not exist was never
// taken. held can be true with an error that says why the holder is unknown.
func (s *Store) LockState() (held bool, holder string, err error) {
	path := filepath.Join(s.Dir, lockName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false, "", nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return false, "", fmt.Errorf("flock %s: %w", path, err)
	}
	holder, err = s.LockHolder()
	return true, holder, err
}
