package backup

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/store/storetest"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// putAround writes the restore record rec, when there is one, after the
// newest snapshot putNewest stores, or before it when between.
func putAround(t *testing.T, st *store.Store, rec *store.RestoreRecord, between bool, putNewest func()) {
	t.Helper()
	write := func() {
		if rec != nil {
			if err := st.WriteRestoreRecord(*rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	if between {
		write()
	}
	putNewest()
	if !between {
		write()
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
			st := openStore(t)
			storetest.Put(t, st, t0.Add(-time.Hour), 60, store.Good)
			newest := tt.newest
			if newest.IsZero() {
				newest = t0
			}
			putAround(t, st, tt.record, tt.between, func() { storetest.Put(t, st, newest, 100, store.Good) })
			why := resetGuard(st, store.EtcdStatus{Revision: tt.rev}, tt.accept)
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
	if skip, err := unchanged(ctx, st, at(7)); skip || err != nil {
		t.Fatalf("empty store: skip=%v err=%v", skip, err)
	}
	storetest.Put(t, st, time.Now().Add(-time.Minute), 7, store.Good)
	if skip, err := unchanged(ctx, st, at(7)); !skip || err != nil {
		t.Fatalf("same revision: skip=%v err=%v", skip, err)
	}
	if skip, _ := unchanged(ctx, st, at(8)); skip {
		t.Fatal("new revision skipped")
	}
	storetest.Put(t, st, time.Now(), 3, store.Suspect)
	if skip, err := unchanged(ctx, st, at(3)); !skip || err == nil {
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
	if skip, err := unchanged(ctx, st, at(9)); !skip || err != nil {
		t.Fatalf("at the revision of the newest (dated 1970): skip=%v err=%v", skip, err)
	}
	if skip, _ := unchanged(ctx, st, at(7)); skip {
		t.Fatal("skipped at the revision of an older snapshot dated later")
	}
	// A suspect snapshot answered by an accepted reset no longer fails.
	storetest.Put(t, st, time.Now(), 3, store.Suspect)
	storetest.Put(t, st, time.Unix(0, 0), 4, store.Good)
	if skip, err := unchanged(ctx, st, at(3)); skip || err != nil {
		t.Fatalf("at the revision of a suspect older than the newest good: skip=%v err=%v", skip, err)
	}
}

// at is etcd at rev, its IDs unknown (a cold copy, or an old snapshot).
func at(rev int64) store.EtcdStatus { return store.EtcdStatus{Revision: rev} }

// IDs of real etcds: kubeadm's bootstrap (token "etcd-cluster") and the same
// member restored with the manifest's empty token, which etcd hashes into
// other IDs (see guard.go).
var (
	clusterA = store.Identity{ClusterID: "48276a8f75b6a87", MemberID: "2e1259d415f2a040"}
	clusterB = store.Identity{ClusterID: "714a8de0bf60d4c0", MemberID: "b1f701c16bc51060"}
	// another member of cluster A
	memberA2 = store.Identity{ClusterID: clusterA.ClusterID, MemberID: "1c1bd2ecd5ef8a2"}
)

func atAs(id store.Identity, rev int64) store.EtcdStatus {
	return store.EtcdStatus{Identity: id, Revision: rev}
}

// Unchanged means same cluster, same member, same revision; an ID is only
// compared when both the snapshot and etcd know it.
func TestUnchangedIdentity(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name   string
		newest store.Identity // IDs the newest snapshot recorded, at revision 100
		now    store.EtcdStatus
		skip   bool
	}{
		{"same cluster, member and revision", clusterA, atAs(clusterA, 100), true},
		{"another cluster at the same revision", clusterA, atAs(clusterB, 100), false},
		{"another member of the cluster at the same revision", clusterA, atAs(memberA2, 100), false},
		{"same cluster at a new revision", clusterA, atAs(clusterA, 101), false},
		{"etcd's IDs unknown (cold copy): revision alone", clusterA, at(100), true},
		{"newest from an older version, no IDs: revision alone", store.Identity{}, atAs(clusterB, 100), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			storetest.PutAs(t, st, t0, tc.newest, 100, store.Good)
			skip, err := unchanged(ctx, st, tc.now)
			if skip != tc.skip || err != nil {
				t.Fatalf("unchanged(%+v) = %v, %v; want %v, nil", tc.now, skip, err, tc.skip)
			}
		})
	}
}

// A suspect snapshot keeps failing only while etcd is in its state, IDs
// included.
func TestUnchangedSuspectIdentity(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	storetest.PutAs(t, st, time.Now().Add(-time.Hour), clusterA, 100, store.Good)
	storetest.PutAs(t, st, time.Now(), clusterB, 120, store.Suspect)
	if skip, err := unchanged(ctx, st, atAs(clusterB, 120)); !skip || !errors.Is(err, ErrSuspect) {
		t.Fatalf("still at the suspect's state: skip=%v err=%v; want a skip that still fails", skip, err)
	}
	if skip, err := unchanged(ctx, st, atAs(clusterA, 120)); skip || err != nil {
		t.Fatalf("the suspect's revision in another cluster: skip=%v err=%v", skip, err)
	}
}

// Another cluster ID than the newest good snapshot's is a reset at any
// revision, unless a restore since that snapshot set the baseline: a restore
// rebuilds the member with the manifest's flags, and so may rightly change
// the cluster ID (the first restore on a kubeadm node always does).
func TestResetGuardIdentity(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	restored := &store.RestoreRecord{Time: t0.Add(time.Hour), SnapshotID: "20261125T100000Z-r80", Revision: 80}
	tests := []struct {
		name    string
		newest  store.Identity // IDs the newest good snapshot recorded, at revision 100
		record  *store.RestoreRecord
		between bool // the record is older than the newest snapshot
		now     store.EtcdStatus
		accept  bool
		suspect string // a part of the reason, "" for good
	}{
		{name: "same cluster, higher revision", newest: clusterA, now: atAs(clusterA, 150)},
		{name: "another member of the same cluster", newest: clusterA, now: atAs(memberA2, 150)},
		{name: "another cluster at the same revision", newest: clusterA, now: atAs(clusterB, 100), suspect: "cluster ID 714a8de0bf60d4c0 is not 48276a8f75b6a87 of the newest good snapshot"},
		{name: "another cluster at a higher revision", newest: clusterA, now: atAs(clusterB, 150), suspect: "714a8de0bf60d4c0"},
		{name: "another cluster, accepted", newest: clusterA, now: atAs(clusterB, 150), accept: true},
		{name: "etcd's IDs unknown (cold copy)", newest: clusterA, now: at(150)},
		{name: "newest from an older version, no IDs", now: atAs(clusterB, 150)},
		{name: "newest without IDs, lower revision", now: atAs(clusterB, 50), suspect: "revision 50 is below 100"},
		{name: "restored since: the restore's cluster ID is not compared", newest: clusterA, record: restored, now: atAs(clusterB, 90)},
		{name: "restored since, below the restored revision", newest: clusterA, record: restored, now: atAs(clusterB, 50), suspect: "revision 50 is below 80 of the restore"},
		{name: "restore older than the newest snapshot", newest: clusterA, record: restored, between: true, now: atAs(clusterB, 150), suspect: "cluster ID 714a8de0bf60d4c0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			putAround(t, st, tt.record, tt.between, func() { storetest.PutAs(t, st, t0, tt.newest, 100, store.Good) })
			why := resetGuard(st, tt.now, tt.accept)
			if (why != "") != (tt.suspect != "") || !strings.Contains(why, tt.suspect) {
				t.Fatalf("resetGuard(%+v) = %q, want %q", tt.now, why, tt.suspect)
			}
		})
	}
}
