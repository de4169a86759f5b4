package runtime

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"golang.org/x/sys/unix"
)

func TestRemoveLeftoverIO(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	live := map[int]uint64{100: 5000}
	alive := func(pid int, start uint64) bool { s, ok := live[pid]; return ok && s == start }
	tests := []struct {
		name   string
		file   bool          // a plain file, not a directory
		age    time.Duration // of a directory named the earlier way
		remove bool
	}{
		{name: "etcd-ramdisk-io-100-5000-123", remove: false},                // its owner runs
		{name: "etcd-ramdisk-io-100-4999-123", remove: true},                 // pid reused by another process
		{name: "etcd-ramdisk-io-200-5000-123", remove: true},                 // owner gone
		{name: "etcd-ramdisk-io-1234567", age: 25 * time.Hour, remove: true}, // earlier version, long dead
		{name: "etcd-ramdisk-io-7654321", age: time.Hour, remove: false},     // earlier version, may still run
		{name: "etcd-ramdisk-io-x-y-z", age: time.Minute, remove: false},     // not a name we make: treated as earlier
		{name: "etcd-ramdisk-io-300-1-2", file: true, remove: false},         // not a directory
		{name: "containerd-io-300-1-2", remove: false},                       // someone else's
		{name: "other", remove: false},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		p := filepath.Join(dir, tt.name)
		if tt.file {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "stdout"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		mt := now.Add(-tt.age)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	removed, held, err := removeLeftoverIO(dir, alive, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 0 {
		t.Errorf("held %d files; the directories hold no FIFOs", len(held))
	}
	for _, tt := range tests {
		p := filepath.Join(dir, tt.name)
		_, statErr := os.Stat(p)
		gone := os.IsNotExist(statErr)
		if gone != tt.remove {
			t.Errorf("%s: removed = %v, want %v", tt.name, gone, tt.remove)
		}
		if slices.Contains(removed, p) != tt.remove {
			t.Errorf("%s: reported removed = %v, want %v", tt.name, !tt.remove, tt.remove)
		}
	}
}

// A directory this process makes names it as a live owner; once its owner
// has exited, the same name reads as gone.
func TestIODirOwner(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	dir, err := makeIODir()
	if err != nil {
		t.Fatal(err)
	}
	pid, start, ok := ioDirOwner(filepath.Base(dir))
	if !ok || pid != os.Getpid() || !hostfs.OwnerAlive(pid, start) {
		t.Fatalf("%s: owner %d start %d ok %v; want this live process", dir, pid, start, ok)
	}
	if removed, err := (&Runtime{}).RemoveLeftoverIO(); err != nil || len(removed) != 0 {
		t.Fatalf("RemoveLeftoverIO removed %v, %v; want a live run's directory kept", removed, err)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if hostfs.OwnerAlive(cmd.Process.Pid, start) {
		t.Errorf("pid %d has exited but reads as alive", cmd.Process.Pid)
	}
	if hostfs.OwnerAlive(pid, start+1) {
		t.Errorf("another start time of this pid reads as alive")
	}
}

// A killed run's FIFO can hold a shim in open(2), waiting for a reader that
// will never come. Sweeping the run's directory wakes that open, and lets in
// an open that comes after the sweep (a shim between its stdout and stderr).
func TestRemoveLeftoverIOReleasesWaitingOpen(t *testing.T) {
	dir := t.TempDir()
	io := filepath.Join(dir, "etcd-ramdisk-io-999999999-1-1", "123")
	if err := os.MkdirAll(io, 0o700); err != nil {
		t.Fatal(err)
	}
	stdout, stderr := filepath.Join(io, "x-stdout"), filepath.Join(io, "x-stderr")
	for _, p := range []string{stdout, stderr} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	opened := make(chan error, 1)
	tid := make(chan int, 1)
	go func() {
		runtime.LockOSThread() // the thread stays the one blocked in open(2)
		tid <- syscall.Gettid()
		fd, err := syscall.Open(stdout, syscall.O_WRONLY, 0) // blocks: no reader
		if err == nil {
			syscall.Close(fd)
		}
		opened <- err
	}()
	waitForPartner(t, <-tid)
	// The stderr FIFO is found now, as by a shim about to open it.
	late, err := unix.Open(stderr, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(late)

	removed, held, err := removeLeftoverIO(dir, func(int, uint64) bool { return false }, time.Now())
	if err != nil || len(removed) != 1 || len(held) != 2 {
		t.Fatalf("removed %v, held %d, err %v; want the directory removed and both FIFOs held", removed, len(held), err)
	}
	defer func() {
		for _, f := range held {
			f.Close()
		}
	}()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("the waiting open failed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the open waiting on the FIFO was not released")
	}
	// Opening the other FIFO, found before the sweep, finds a reader at once:
	// without one, a non-blocking open for writing fails with ENXIO, and a
	// shim's blocking one would wait for ever.
	fd, err := syscall.Open(fmt.Sprintf("/proc/self/fd/%d", late), syscall.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatalf("a later open of the swept stderr FIFO: %v", err)
	}
	syscall.Close(fd)
}

// waitForPartner returns once thread tid of this process sleeps in a FIFO's
// open(2) waiting for the other end.
func waitForPartner(t *testing.T, tid int) {
	t.Helper()
	path := fmt.Sprintf("/proc/self/task/%d/wchan", tid)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), "wait_for_partner") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d never waited in open(2): wchan %q, %v", tid, b, err)
		}
		runtime.Gosched()
	}
}
