package hostfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestStartTime(t *testing.T) {
	own, err := StartTime(os.Getpid())
	if err != nil || own == 0 {
		t.Fatalf("StartTime(self) = %d, %v", own, err)
	}
	if again, _ := StartTime(os.Getpid()); again != own {
		t.Errorf("StartTime(self) changed: %d, then %d", own, again)
	}
	// Beyond pid_max (2^22): no such process.
	if _, err := StartTime(1 << 23); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("StartTime of no process = %v, want fs.ErrNotExist", err)
	}
}

// The command name may hold spaces and parentheses.
func TestStartTimeParsesStat(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, stat string
		want       uint64
		ok         bool
	}{
		{"plain", "42 (etcd) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 1000 10", 12345, true},
		{"odd comm", "42 (a) b (c)) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 678 1000 10", 678, true},
		{"no comm", "42 etcd S 1", 0, false},
		{"short", "42 (etcd) S 1 42", 0, false},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name)
		if err := os.WriteFile(path, []byte(tt.stat), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := startTime(path)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: startTime = %d, %v; want %d (ok %v)", tt.name, got, err, tt.want, tt.ok)
		}
	}
}
