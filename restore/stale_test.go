package restore

import (
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/store/storetest"
)

// The restore at boot says whether the snapshot it brings back is etcd's last
// state; every way of getting there that is not a good shutdown backup of an
// earlier boot warns.
func TestStaleness(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		record  func(st *store.Store, newest string) // writes the shutdown record, nil: none
		skipped []string
		boot    string
		want    string // substring of the warning; "" means no warning
	}{
		{name: "never recorded", want: "no shutdown backup has ever been recorded"},
		{name: "good shutdown backup restored", boot: "b2", record: func(st *store.Store, newest string) {
			mustRecord(t, st, store.ShutdownRecord{Time: t0, BootID: "b1", OK: true, SystemShutdown: true, SnapshotID: newest})
		}},
		{name: "shutdown backup failed", boot: "b2", record: func(st *store.Store, _ string) {
			mustRecord(t, st, store.ShutdownRecord{Time: t0.Add(10 * time.Minute), BootID: "b1", SystemShutdown: true, Error: "etcd is not running"})
		}, want: "the last shutdown backup failed at 2026-12-01T10:10:00Z (etcd is not running)"},
		{name: "power cut after a kubelet restart's backup", boot: "b2", record: func(st *store.Store, newest string) {
			mustRecord(t, st, store.ShutdownRecord{Time: t0, BootID: "b1", OK: true, SnapshotID: newest})
		}, want: "no shutdown backup at the last shutdown: the node lost power or crashed"},
		{name: "power cut a boot later", boot: "b3", record: func(st *store.Store, _ string) {
			mustRecord(t, st, store.ShutdownRecord{Time: t0.Add(-time.Hour), BootID: "b1", OK: true, SystemShutdown: true, SnapshotID: "20261201T090000Z-r50"})
		}, want: "the node lost power or crashed"},
		{name: "shutdown backup unusable, older one restored", boot: "b2", skipped: []string{"20261201T103000Z-r200: bad snapshot"}, record: func(st *store.Store, _ string) {
			mustRecord(t, st, store.ShutdownRecord{Time: t0.Add(30 * time.Minute), BootID: "b1", OK: true, SystemShutdown: true, SnapshotID: "20261201T103000Z-r200"})
		}, want: "was unusable"},
		{name: "record of this very boot (install --now)", boot: "b1", record: func(st *store.Store, _ string) {
			mustRecord(t, st, store.ShutdownRecord{Time: t0, BootID: "b1", SystemShutdown: false, Error: "kubelet restart"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			storetest.Put(t, st, t0, 100, store.Good)
			snap, err := st.Newest()
			if err != nil {
				t.Fatal(err)
			}
			if tc.record != nil {
				tc.record(st, snap.Meta.ID)
			}
			got := staleness(st, snap, tc.skipped, tc.boot)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("staleness = %q, want %q", got, tc.want)
			}
		})
	}
}

func mustRecord(t *testing.T, st *store.Store, r store.ShutdownRecord) {
	t.Helper()
	if err := st.WriteShutdownRecord(r); err != nil {
		t.Fatal(err)
	}
}
