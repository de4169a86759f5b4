package filelock

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each Lock opens the file anew, as a second process would, so two in one
// test conflict like two processes.
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	ctx := context.Background()
	unlock, err := Lock(ctx, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v, %v; want mode 0600", fi, err)
	}
	if _, err := Lock(ctx, path, 0); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Errorf("second Lock without wait = %v, want ErrLocked naming %s", err, path)
	}
	start := time.Now()
	if _, err := Lock(ctx, path, 150*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("second Lock with a wait = %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("second Lock gave up after %v, before its timeout", waited)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Lock(cancelled, path, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with a cancelled context = %v, want context.Canceled", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock: %v", err)
	}
	again, err := Lock(ctx, path, time.Second)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	again()
}

// A waiting Lock takes the lock as soon as the holder releases it.
func TestLockWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := Lock(context.Background(), path, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, func() { unlock() })
	second, err := Lock(context.Background(), path, 10*time.Second)
	if err != nil {
		t.Fatalf("waiting Lock: %v", err)
	}
	second()
}

func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	unlock, err := LockDir(context.Background(), dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockDir(context.Background(), dir, 0); !errors.Is(err, ErrLocked) {
		t.Errorf("second LockDir = %v, want ErrLocked", err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("LockDir created %v in the directory", names)
	}
	unlock()

	missing := filepath.Join(dir, "missing")
	if _, err := LockDir(context.Background(), missing, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LockDir of a missing directory = %v, want not exist", err)
	}
	if _, err := os.Lstat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LockDir created %s", missing)
	}
}

func TestHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	if held, err := Held(path); held || err != nil {
		t.Errorf("missing file: Held = %v, %v", held, err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Held created the file: %v", err)
	}
	unlock, err := Lock(context.Background(), path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if held, err := Held(path); !held || err != nil {
		t.Errorf("while locked: Held = %v, %v", held, err)
	}
	// The holder keeps its lock.
	if _, err := Lock(context.Background(), path, 0); !errors.Is(err, ErrLocked) {
		t.Errorf("lock no longer held after Held: %v", err)
	}
	unlock()
	if held, err := Held(path); held || err != nil {
		t.Errorf("after unlock: Held = %v, %v", held, err)
	}
}
