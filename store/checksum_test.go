package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestCorruption(t *testing.T) {
	data := testData(1<<20, 3)
	tests := []struct {
		name        string
		corrupt     func(t *testing.T, snap *Snapshot)
		listProblem bool // List reports it, because the size is wrong
	}{
		{"flipped byte", func(t *testing.T, snap *Snapshot) {
			flipByte(t, snap.Path, snap.Meta.StoredSize/2)
		}, false},
		{"flipped last byte", func(t *testing.T, snap *Snapshot) {
			flipByte(t, snap.Path, snap.Meta.StoredSize-1)
		}, false},
		{"truncated", func(t *testing.T, snap *Snapshot) {
			if err := os.Truncate(snap.Path, snap.Meta.StoredSize-100); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"metadata checksum differs", func(t *testing.T, snap *Snapshot) {
			// The file still decompresses cleanly: only the sha256 check
			// can notice.
			rewriteMeta(t, snap, func(m *Metadata) { m.SHA256 = strings.Repeat("0", 64) })
			snap.Meta.SHA256 = strings.Repeat("0", 64)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			snap := writeSnap(t, s, testMeta(baseTime, 9), data, Good)
			tt.corrupt(t, snap)

			if err := s.VerifyChecksum(context.Background(), snap); !errors.Is(err, ErrCorrupt) {
				t.Errorf("VerifyChecksum = %v, want ErrCorrupt", err)
			}
			if _, err := readRaw(t, s, snap); !errors.Is(err, ErrCorrupt) {
				t.Errorf("reading OpenRaw to the end = %v, want ErrCorrupt", err)
			}
			snaps, problems, _ := s.List()
			if tt.listProblem && (len(snaps) != 0 || len(problems) != 1) {
				t.Errorf("List = %v, problems %v; want the truncated snapshot as a problem", ids(snaps), problems)
			}
		})
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func rewriteMeta(t *testing.T, snap *Snapshot, mutate func(*Metadata)) {
	t.Helper()
	m := snap.Meta
	mutate(&m)
	var buf bytes.Buffer
	if err := writeJSON(&buf, &m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(snap.MetaPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A checksum of a large snapshot stops when the run's context ends
// (SIGTERM, --timeout), saying so, rather than reading to the end.
func TestVerifyChecksumCancelled(t *testing.T) {
	s := newStore(t)
	snap, err := s.Write(context.Background(), testMeta(baseTime, 10), bytes.NewReader(testData(1<<20, 4)), Good)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.VerifyChecksum(ctx, snap); !errors.Is(err, context.Canceled) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("VerifyChecksum after cancel = %v, want context.Canceled and not corrupt", err)
	}
}
