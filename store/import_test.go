package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// Import keeps an id and sequence from elsewhere, checks the bytes, and only
// takes a snapshot that is newer than the store's whole history.
func TestImport(t *testing.T) {
	src := newStore(t)
	ctx := context.Background()
	var snaps []*Snapshot
	for rev := int64(1); rev <= 3; rev++ {
		s, err := src.Write(ctx, testMeta(baseTime.Add(time.Duration(rev)*time.Minute), rev*10), bytes.NewReader(testData(4096, uint64(rev))), Good)
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, s)
	}
	stored := func(s *Snapshot) []byte {
		b, err := os.ReadFile(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dst := newStore(t)
	newest := snaps[2]
	bad := stored(newest)
	bad[len(bad)/2] ^= 1
	if _, err := dst.Import(ctx, &newest.Meta, bytes.NewReader(bad)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("import of changed bytes: %v, want ErrCorrupt", err)
	}
	if l, p, _ := dst.List(); len(l) != 0 || len(p) != 0 {
		t.Errorf("failed import left %d snapshots, %v", len(l), p)
	}
	got, err := dst.Import(ctx, &newest.Meta, bytes.NewReader(stored(newest)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta.Seq != newest.Meta.Seq || got.Meta.ID != newest.Meta.ID {
		t.Errorf("imported %s seq %d, want %s seq %d", got.Meta.ID, got.Meta.Seq, newest.Meta.ID, newest.Meta.Seq)
	}
	if err := dst.VerifyChecksum(context.Background(), got); err != nil {
		t.Error(err)
	}
	if _, err := dst.Import(ctx, &snaps[1].Meta, bytes.NewReader(stored(snaps[1]))); err == nil {
		t.Error("imported an older snapshot behind the newest one")
	}
	next, err := dst.Write(ctx, testMeta(baseTime, 99), bytes.NewReader(testData(100, 9)), Good)
	if err != nil || next.Meta.Seq != newest.Meta.Seq+1 {
		t.Errorf("next write seq %d (%v), want %d", next.Meta.Seq, err, newest.Meta.Seq+1)
	}
}
