package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
)

func TestLockGoroutines(t *testing.T) {
	s := newStore(t)
	unlock, err := s.Lock(context.Background(), time.Second, "backup (cron)")
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	holder, err := s.LockHolder()
	if err != nil || !strings.HasPrefix(holder, fmt.Sprintf("pid %d: ", os.Getpid())) {
		t.Fatalf("LockHolder = %q, %v", holder, err)
	}

	// A second locker in another goroutine (its own file descriptor, as a
	// second process would have) times out and names the holder.
	errc := make(chan error)
	go func() {
		_, err := s.Lock(context.Background(), 100*time.Millisecond, "restore")
		errc <- err
	}()
	err = <-errc
	if !errors.Is(err, ErrLockTimeout) || !strings.Contains(err.Error(), holder) {
		t.Fatalf("second Lock = %v, want ErrLockTimeout naming %q", err, holder)
	}

	if err := unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatalf("second unlock: %v", err)
	}
	if h, err := s.LockHolder(); h != "" || err != nil {
		t.Fatalf("LockHolder after unlock = %q, %v", h, err)
	}
	go func() {
		unlock2, err := s.Lock(context.Background(), time.Second, "restore")
		if err == nil {
			err = unlock2()
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
}

func TestLockZeroTimeoutAndContext(t *testing.T) {
	s := newStore(t)
	unlock, err := s.Lock(context.Background(), 0, "first")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := s.Lock(context.Background(), 0, "second"); !errors.Is(err, ErrLockTimeout) {
		t.Errorf("Lock with zero timeout = %v, want ErrLockTimeout", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Lock(ctx, time.Minute, "second"); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with a cancelled context = %v, want context.Canceled", err)
	}
}

// TestMain lets TestLockProcesses re-run this test binary as a second process
// that takes the lock, says so and holds it until stdin closes.
func TestMain(m *testing.M) {
	if dir := os.Getenv("STORE_LOCK_HELPER_DIR"); dir != "" {
		lockHelperProcess(dir)
	}
	os.Exit(m.Run())
}

func lockHelperProcess(dir string) {
	s, err := Open(dir)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	unlock, err := s.Lock(context.Background(), 10*time.Second, "child-holder")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
	if err := unlock(); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestLockProcesses(t *testing.T) {
	s := newStore(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "STORE_LOCK_HELPER_DIR="+s.Dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("child said %q, %v", line, err)
	}

	_, err = s.Lock(context.Background(), 200*time.Millisecond, "parent")
	if !errors.Is(err, ErrLockTimeout) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d: ", cmd.Process.Pid)) {
		t.Fatalf("Lock while the child holds it = %v, want ErrLockTimeout naming the child", err)
	}

	stdin.Close() // the child unlocks and exits
	unlock, err := s.Lock(context.Background(), 10*time.Second, "parent")
	if err != nil {
		t.Fatalf("Lock after the child released it: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

func TestLockState(t *testing.T) {
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lockFile := filepath.Join(st.Dir, lockName)
	if held, holder, err := st.LockState(); held || holder != "" || err != nil {
		t.Errorf("never locked: %v %q %v", held, holder, err)
	}
	if _, err := os.Stat(lockFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LockState created the lock file: %v", err)
	}
	unlock, err := st.Lock(context.Background(), 0, "backup (cron)")
	if err != nil {
		t.Fatal(err)
	}
	held, holder, err := st.LockState()
	if !held || !strings.HasPrefix(holder, fmt.Sprintf("pid %d: ", os.Getpid())) || err != nil {
		t.Errorf("while held: %v %q %v", held, holder, err)
	}
	// The holder keeps its lock.
	if _, err := st.Lock(context.Background(), 0, "other"); !errors.Is(err, ErrLockTimeout) {
		t.Errorf("lock no longer held after LockState: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if held, _, err := st.LockState(); held || err != nil {
		t.Errorf("after unlock: %v %v", held, err)
	}
}

// A run that has to wait for the lock says so at once, naming the holder;
// one that gets it at once says nothing.
func TestLockSaysItWaits(t *testing.T) {
	s := newStore(t)
	var log bytes.Buffer
	ctx := logging.WithLogger(context.Background(), slog.New(slog.NewTextHandler(&log, nil)))
	unlock, err := s.Lock(ctx, time.Second, "backup (cron)")
	if err != nil {
		t.Fatal(err)
	}
	if log.Len() != 0 {
		t.Errorf("a free lock logged: %s", log.String())
	}
	_, err = s.Lock(ctx, 10*time.Millisecond, "restore")
	if !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("second Lock = %v", err)
	}
	unlock()
	if !strings.Contains(log.String(), "waiting for the store lock") || !strings.Contains(log.String(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("log does not say it waits, naming the holder: %s", log.String())
	}
}
