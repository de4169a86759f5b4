package hostfs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// A child process holding a file below the directory open is named; this
// process, which has it open too, is not.
func TestOpeners(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "member", "snap", "db")
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, []byte("bbolt"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if users, err := Openers(dir); len(users) != 0 || err != nil {
		t.Fatalf("Openers with only this process = %v, %v", users, err)
	}

	cmd := exec.Command("sleep", "30")
	cmd.Stdin = f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sleep to hold the file (coreutils): %v", err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	want := fmt.Sprintf("pid %d (sleep) has %s open", cmd.Process.Pid, db)
	if users, err := Openers(dir); !slices.Equal(users, []string{want}) || err != nil {
		t.Errorf("Openers = %q, %v; want [%q]", users, err, want)
	}
	if _, err := Openers(filepath.Join(dir, "absent")); err == nil {
		t.Error("Openers of a missing directory: no error")
	}
}
