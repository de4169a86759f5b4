package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/status"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// The stale-restore warning says how it clears, and ack-restore
// acknowledges it: status then shows it without warning.
func TestAckRestore(t *testing.T) {
	e := newEnv(t)
	snap := e.writeSnapshot(t, time.Now().Add(-time.Minute), 100, store.Good)
	st := e.store(t)
	rec := store.RestoreRecord{Time: time.Now(), SnapshotID: snap.Meta.ID, Revision: 100, Image: "registry.k8s.io/etcd:3.6.4-0", BootID: hostfs.BootID(), Stale: "the last shutdown backup failed"}
	if err := st.WriteRestoreRecord(rec); err != nil {
		t.Fatal(err)
	}
	o := statusOptions{globalOptions: e.g, JSON: true, MaxBackupAge: time.Hour, DataDir: e.dir, Root: e.dir}
	warned := func() (bool, status.Report) {
		t.Helper()
		e.out.Reset()
		runStatus(context.Background(), o, e.d)
		var rep status.Report
		if err := json.Unmarshal(e.out.Bytes(), &rep); err != nil {
			t.Fatalf("%v:\n%s", err, e.out)
		}
		for _, w := range rep.Warnings {
			if strings.Contains(w, "may be older than its last state") {
				if !strings.Contains(w, "until the next boot's restore") || !strings.Contains(w, "etcd-ramdisk ack-restore") {
					t.Errorf("the warning does not say how it clears: %s", w)
				}
				return true, rep
			}
		}
		return false, rep
	}
	if w, rep := warned(); !w {
		t.Fatalf("no stale-restore warning: %q", rep.Warnings)
	}
	before, err := st.ReadRestoreRecord()
	if err != nil {
		t.Fatal(err)
	}
	e.out.Reset()
	if err := runAckRestore(context.Background(), e.g, e.d); err != nil || !strings.Contains(e.out.String(), "acknowledged: restored "+snap.Meta.ID) {
		t.Fatalf("ack-restore: %v\n%s", err, e.out)
	}
	if w, rep := warned(); w || !strings.Contains(rep.Shutdown.StaleAcknowledged, "acknowledged at") {
		t.Errorf("after ack-restore: warnings %q, shutdown %+v", rep.Warnings, rep.Shutdown)
	}
	got, err := st.ReadRestoreRecord()
	if err != nil || got.Seq != before.Seq || got.SnapshotID != snap.Meta.ID {
		t.Errorf("record after ack: %+v, %v", got, err)
	}
}
