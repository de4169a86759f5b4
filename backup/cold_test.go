package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The data-dir copy of a large database stops when the run's context ends
// (SIGTERM, --timeout), and says so.
func TestCopyUnusedCancelled(t *testing.T) {
	dataDir := t.TempDir()
	db := filepath.Join(dataDir, "member", "snap", "db")
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := copyUnused(ctx, db, dataDir, filepath.Join(t.TempDir(), "snapshot.db"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("copyUnused after cancel = %v, want context.Canceled", err)
	}
}
