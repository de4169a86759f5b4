package backup

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
	tests := []struct {
		name    string
		record  *store.RestoreRecord
		rev     int64
		accept  bool
		suspect bool
	}{
		{"higher revision", nil, 150, false, false},
		{"equal revision", nil, 100, false, false},
		{"lower revision: reset", nil, 5, false, true},
		{"lower revision accepted", nil, 5, true, false},
		{"restored from an older snapshot since", &store.RestoreRecord{Time: t0.Add(time.Hour), SnapshotID: "20261125T100000Z-r80", Revision: 80}, 90, false, false},
		{"below even the restored one", &store.RestoreRecord{Time: t0.Add(time.Hour), SnapshotID: "20261125T100000Z-r80", Revision: 80}, 10, false, true},
		{"restore record older than the newest snapshot", &store.RestoreRecord{Time: t0.Add(-time.Hour), SnapshotID: "20261125T100000Z-r80", Revision: 80}, 90, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := store.Open(filepath.Join(t.TempDir(), "b"))
			if err != nil {
				t.Fatal(err)
			}
			putSnapshot(t, st, t0.Add(-time.Hour), 60, store.Good)
			putSnapshot(t, st, t0, 100, store.Good)
			if tt.record != nil {
				if err := st.WriteRestoreRecord(*tt.record); err != nil {
					t.Fatal(err)
				}
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
