package jobs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The reader returns exactly the final file's bytes, read while a writer
// appends them to <name>.part and renames it, as etcdctl does.
func TestGrowingFileReadsWhatIsWritten(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "snap.db")
	want := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	saved := make(chan struct{})
	go func() {
		defer close(saved)
		f, err := os.Create(final + ".part")
		if err != nil {
			t.Error(err)
			return
		}
		for off := 0; off < len(want); off += 4096 {
			if _, err := f.Write(want[off:min(off+4096, len(want))]); err != nil {
				t.Error(err)
			}
		}
		f.Close()
		if err := os.Rename(final+".part", final); err != nil {
			t.Error(err)
		}
	}()
	g := &growingFile{ctx: context.Background(), part: final + ".part", final: final, saved: saved, saveErr: func() error { return nil }}
	defer g.Close()
	got, err := io.ReadAll(g)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (err %v), want %d", len(got), err, len(want))
	}
}

// A failed save never reads as a complete snapshot.
func TestGrowingFileFailedSave(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "snap.db")
	if err := os.WriteFile(final+".part", []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	saved := make(chan struct{})
	close(saved)
	g := &growingFile{ctx: context.Background(), part: final + ".part", final: final, saved: saved, saveErr: func() error { return errors.New("boom") }}
	defer g.Close()
	if _, err := io.ReadAll(g); !errors.Is(err, errSaveFailed) {
		t.Fatalf("err = %v, want errSaveFailed", err)
	}
}
