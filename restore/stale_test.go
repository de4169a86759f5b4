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
	const damaged = "20261201T110000Z-r300: data file is 1000 bytes, metadata says 5000: snapshot is corrupt"
	tests := []struct {
		name    string
		record  func(st *store.Store, newest string) // writes the shutdown record, nil: none
		skipped []string
		boot    string
		want    string // substring of the warning; "" means no warning
		also    string // another substring of it
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
		// A newer snapshot passed over loses its writes whatever the
		// shutdown record says.
		{name: "shutdown backup restored, a newer one damaged", boot: "b2", skipped: []string{damaged}, record: func(st *store.Store, newest string) {
			mustRecord(t, st, store.ShutdownRecord{Time: t0, BootID: "b1", OK: true, SystemShutdown: true, SnapshotID: newest})
		}, want: "newer snapshot was unusable (" + damaged + "): snapshot 20261201T100000Z-r100 is restored, writes after it are lost"},
		{name: "record of this very boot, a newer one damaged", boot: "b1", skipped: []string{damaged}, record: func(st *store.Store, _ string) {
			mustRecord(t, st, store.ShutdownRecord{Time: t0, BootID: "b1", SystemShutdown: false, Error: "kubelet restart"})
		}, want: "newer snapshot was unusable (" + damaged + ")"},
		{name: "never recorded, newer ones damaged", skipped: []string{damaged, "20261201T103000Z-r200: bad snapshot"},
			want: "no shutdown backup has ever been recorded", also: "; newer snapshots were unusable (" + damaged + "; 20261201T103000Z-r200: bad snapshot)"},
		{name: "shutdown backup unusable, and one newer than it", boot: "b3", skipped: []string{damaged, "20261201T103000Z-r200: bad snapshot"}, record: func(st *store.Store, _ string) {
			mustRecord(t, st, store.ShutdownRecord{Time: t0.Add(30 * time.Minute), BootID: "b1", OK: true, SystemShutdown: true, SnapshotID: "20261201T103000Z-r200"})
		}, want: "the node lost power or crashed", also: "newer snapshots were unusable (" + damaged},
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
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) || !strings.Contains(got, tc.also) {
				t.Errorf("staleness = %q, want %q and %q", got, tc.want, tc.also)
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
