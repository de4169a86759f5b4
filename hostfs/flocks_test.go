package hostfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestFlockHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	if h, err := FlockHolder(path); h != "" || err != nil {
		t.Errorf("missing file: FlockHolder = %q, %v", h, err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if h, err := FlockHolder(path); h != "" || err != nil {
		t.Errorf("unlocked: FlockHolder = %q, %v", h, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if h, err := FlockHolder(path); !strings.HasPrefix(h, fmt.Sprintf("pid %d: ", os.Getpid())) || err != nil {
		t.Errorf("locked: FlockHolder = %q, %v; want this process with its command line", h, err)
	}
}

// Only an flock on the file's own inode counts, not a POSIX lock on it nor
// an flock on another inode.
func TestFlockHolderParsesProcLocks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lock")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	locks := filepath.Join(dir, "locks")
	table := fmt.Sprintf(`1: POSIX  ADVISORY  WRITE 111 fd:01:%d 0 EOF
2: FLOCK  ADVISORY  WRITE 222 fd:01:%d 0 EOF
3: FLOCK  ADVISORY  WRITE 999999999 fd:01:%d 0 EOF
`, ino, ino+1, ino)
	if err := os.WriteFile(locks, []byte(table), 0o600); err != nil {
		t.Fatal(err)
	}
	// No such process: the holder is named by its pid alone.
	if h, err := flockHolder(path, locks); h != "pid 999999999" || err != nil {
		t.Errorf("flockHolder = %q, %v; want pid 999999999", h, err)
	}
	if _, err := flockHolder(path, filepath.Join(dir, "absent")); err == nil {
		t.Error("flockHolder with an unreadable lock table: no error")
	}
}
