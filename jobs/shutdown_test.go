package jobs

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
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
			putSnapshot(t, st, t0, 100, store.Good)
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

// Every shutdown backup leaves a record, good or bad; one that found no etcd
// state at all (its boot's restore failed) keeps the previous boot's record.
func TestRecordShutdown(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	putSnapshot(t, st, t0, 100, store.Good)
	newest, _ := st.Newest()
	o := Options{Reason: store.ReasonShutdown, SystemShutdown: true}

	recordShutdown(st, o, &Result{Skipped: true, Revision: 100, Source: store.SourceDataDir}, nil, quiet)
	rec, err := st.ReadShutdownRecord()
	if err != nil || !rec.OK || rec.SnapshotID != newest.Meta.ID || !rec.SystemShutdown {
		t.Fatalf("unchanged: record %+v, %v; want ok naming %s", rec, err, newest.Meta.ID)
	}

	recordShutdown(st, o, nil, errors.New("etcd is not running"), quiet)
	if rec, _ = st.ReadShutdownRecord(); rec.OK || rec.Error != "etcd is not running" {
		t.Fatalf("failure: record %+v", rec)
	}

	recordShutdown(st, o, &Result{Skipped: true, NoData: "no member"}, nil, quiet)
	if rec, _ = st.ReadShutdownRecord(); rec.OK || rec.Error != "etcd is not running" {
		t.Fatalf("no data this boot overwrote the record: %+v", rec)
	}
}
