package jobs

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

func putSnapshot(t *testing.T, st *store.Store, at time.Time, rev int64, kind store.Kind) {
	t.Helper()
	m := &store.Metadata{
		Time: at, Reason: store.ReasonCron, Node: "node1",
		Image:  store.Image{Reference: "registry.k8s.io/etcd:3.6.16-0", Digest: "sha256:" + strings.Repeat("a", 64)},
		Etcd:   store.EtcdStatus{Version: "3.6.0", Revision: rev, Hash: 1, TotalKeys: 1, TotalSize: 20480},
		Member: store.Member{Name: "node1", InitialCluster: "node1=https://127.0.0.2:2380", InitialAdvertisePeerURLs: []string{"https://127.0.0.2:2380"}, InitialClusterToken: "etcd-cluster", DataDir: "/var/lib/etcd"},
	}
	if kind == store.Suspect {
		m.Suspect = "test"
	}
	if _, err := st.Write(context.Background(), m, strings.NewReader(strings.Repeat("x", 1000)), kind); err != nil {
		t.Fatal(err)
	}
}

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
			putSnapshot(t, st, t0.Add(-time.Hour), 60, store.Good)
			if tt.between {
				writeRecord()
			}
			newest := tt.newest
			if newest.IsZero() {
				newest = t0
			}
			putSnapshot(t, st, newest, 100, store.Good)
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if skip, err := unchanged(st, 7, log); skip || err != nil {
		t.Fatalf("empty store: skip=%v err=%v", skip, err)
	}
	putSnapshot(t, st, time.Now().Add(-time.Minute), 7, store.Good)
	if skip, err := unchanged(st, 7, log); !skip || err != nil {
		t.Fatalf("same revision: skip=%v err=%v", skip, err)
	}
	if skip, _ := unchanged(st, 8, log); skip {
		t.Fatal("new revision skipped")
	}
	putSnapshot(t, st, time.Now(), 3, store.Suspect)
	if skip, err := unchanged(st, 3, log); !skip || err == nil {
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	putSnapshot(t, st, time.Now(), 7, store.Good)
	putSnapshot(t, st, time.Unix(0, 0), 9, store.Good)
	if skip, err := unchanged(st, 9, log); !skip || err != nil {
		t.Fatalf("at the revision of the newest (dated 1970): skip=%v err=%v", skip, err)
	}
	if skip, _ := unchanged(st, 7, log); skip {
		t.Fatal("skipped at the revision of an older snapshot dated later")
	}
	// A suspect snapshot answered by an accepted reset no longer fails.
	putSnapshot(t, st, time.Now(), 3, store.Suspect)
	putSnapshot(t, st, time.Unix(0, 0), 4, store.Good)
	if skip, err := unchanged(st, 3, log); skip || err != nil {
		t.Fatalf("at the revision of a suspect older than the newest good: skip=%v err=%v", skip, err)
	}
}
