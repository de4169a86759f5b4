package backup

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store/storetest"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

func TestResetGuard(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	epoch := time.Unix(0, 0).UTC()
	restoredOlder := &store.RestoreRecord{Time: t0.Add(time.Hour), SnapshotID: "20261125T100000Z-r80", Revision: 80}
	tests := []struct {
		name    string
		record  *store.RestoreRecord
		between bool      // the record is written between the two snapshots, not after both
		newest  time.Time // the second snapshot's time (t0 when zero)
		rev     int64
		accept  bool
		suspect bool
	}{
		{name: "higher revision", rev: 150},
		{name: "equal revision", rev: 100},
		{name: "lower revision: reset", rev: 5, suspect: true},
		{name: "lower revision accepted", rev: 5, accept: true},
		{name: "restored from an older snapshot since", record: restoredOlder, rev: 90},
		{name: "below even the restored one", record: restoredOlder, rev: 10, suspect: true},
		{name: "restore record older than the newest snapshot", record: restoredOlder, between: true, rev: 90, suspect: true},
		// The store's order decides, not the times.
		{name: "restored with the clock set back: still after the newest", record: &store.RestoreRecord{Time: epoch, SnapshotID: "20261125T100000Z-r80", Revision: 80}, rev: 90},
		{name: "newest taken with the clock set back, after the restore", record: restoredOlder, between: true, newest: epoch, rev: 90, suspect: true},
		{name: "newest taken with the clock set back is the baseline", newest: epoch, rev: 70, suspect: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := store.Open(filepath.Join(t.TempDir(), "b"))
			if err != nil {
				t.Fatal(err)
			}
			writeRecord := func() {
				if tt.record != nil {
					if err := st.WriteRestoreRecord(*tt.record); err != nil {
						t.Fatal(err)
					}
				}
			}
			storetest.Put(t, st, t0.Add(-time.Hour), 60, store.Good)
			if tt.between {
				writeRecord()
			}
			newest := tt.newest
			if newest.IsZero() {
				newest = t0
			}
			storetest.Put(t, st, newest, 100, store.Good)
			if !tt.between {
				writeRecord()
			}
			why := resetGuard(st, tt.rev, tt.accept)
			if (why != "") != tt.suspect {
				t.Fatalf("resetGuard(%d) = %q, want suspect=%v", tt.rev, why, tt.suspect)
			}
		})
	}
}

func TestUnchanged(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if skip, err := unchanged(ctx, st, 7); skip || err != nil {
		t.Fatalf("empty store: skip=%v err=%v", skip, err)
	}
	storetest.Put(t, st, time.Now().Add(-time.Minute), 7, store.Good)
	if skip, err := unchanged(ctx, st, 7); !skip || err != nil {
		t.Fatalf("same revision: skip=%v err=%v", skip, err)
	}
	if skip, _ := unchanged(ctx, st, 8); skip {
		t.Fatal("new revision skipped")
	}
	storetest.Put(t, st, time.Now(), 3, store.Suspect)
	if skip, err := unchanged(ctx, st, 3); !skip || err == nil {
		t.Fatalf("still at the suspect revision: skip=%v err=%v; want a skip that still fails", skip, err)
	}
}

// Skip-unchanged follows the store's order: the last snapshot written, even
// when the clock was set back for it.
func TestUnchangedClockSetBack(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	storetest.Put(t, st, time.Now(), 7, store.Good)
	storetest.Put(t, st, time.Unix(0, 0), 9, store.Good)
	if skip, err := unchanged(ctx, st, 9); !skip || err != nil {
		t.Fatalf("at the revision of the newest (dated 1970): skip=%v err=%v", skip, err)
	}
	if skip, _ := unchanged(ctx, st, 7); skip {
		t.Fatal("skipped at the revision of an older snapshot dated later")
	}
	// A suspect snapshot answered by an accepted reset no longer fails.
	storetest.Put(t, st, time.Now(), 3, store.Suspect)
	storetest.Put(t, st, time.Unix(0, 0), 4, store.Good)
	if skip, err := unchanged(ctx, st, 3); skip || err != nil {
		t.Fatalf("at the revision of a suspect older than the newest good: skip=%v err=%v", skip, err)
	}
}
