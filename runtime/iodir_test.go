package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
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
	removed, err := removeLeftoverIO(dir, alive, now)
	if err != nil {
		t.Fatal(err)
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
	if !ok || pid != os.Getpid() || !ownerAlive(pid, start) {
		t.Fatalf("%s: owner %d start %d ok %v; want this live process", dir, pid, start, ok)
	}
	if removed, err := RemoveLeftoverIO(); err != nil || len(removed) != 0 {
		t.Fatalf("RemoveLeftoverIO removed %v, %v; want a live run's directory kept", removed, err)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if ownerAlive(cmd.Process.Pid, start) {
		t.Errorf("pid %d has exited but reads as alive", cmd.Process.Pid)
	}
	if ownerAlive(pid, start+1) {
		t.Errorf("another start time of this pid reads as alive")
	}
}
