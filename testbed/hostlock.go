package testbed

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gofrs/flock"
)

// HostLockPath serialises every run that brings up host test beds (the e2e
// suite, the benchmarks, the demo): their etcd members all listen on
// 127.0.0.2:2379-2381 and 127.0.0.1:2381, so two at once would answer each
// other's clients.
const HostLockPath = "/var/tmp/erd-hostbed.lock"

// LockHost waits for the host bed lock and returns its release. It tells w once
// when it has to wait.
func LockHost(ctx context.Context, w io.Writer) (func(), error) {
	l := flock.New(HostLockPath)
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", HostLockPath, err)
	}
	if !ok {
		fmt.Fprintf(w, "testbed: another run holds %s; waiting for it\n", HostLockPath)
		start := time.Now()
		if ok, err = l.TryLockContext(ctx, 500*time.Millisecond); !ok {
			return nil, fmt.Errorf("lock %s: %w", HostLockPath, err)
		}
		fmt.Fprintf(w, "testbed: got %s after %s\n", HostLockPath, time.Since(start).Round(time.Second))
	}
	return func() { _ = l.Unlock() }, nil
}
