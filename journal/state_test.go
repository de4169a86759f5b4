package journal

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "journal.json")
	if _, err := ReadState(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing state: %v, want fs.ErrNotExist", err)
	}
	want := State{PID: 42, Running: true, Interval: time.Second, ChainID: "c", DurableRev: 7, LagRevs: 1, Updated: time.Unix(100, 0).UTC()}
	if err := WriteState(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("read %+v, wrote %+v", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v (%v), want 0600", fi.Mode(), err)
	}
}
