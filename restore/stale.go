package restore

import (
	"fmt"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// staleness explains why the snapshot just restored may be older than the
// last state etcd had, or returns "" when it is the last shutdown backup of an
// earlier boot. skipped says newer snapshots were passed over as unusable.
func staleness(st *store.Store, snap *store.Snapshot, skipped []string, bootID string) string {
	rec, err := st.ReadShutdownRecord()
	age := func(since time.Time) string { return since.Sub(snap.Meta.Time).Round(time.Second).String() }
	switch {
	case err != nil:
		return fmt.Sprintf("the last shutdown backup cannot be read (%v); snapshot %s may be older than etcd's last state", err, snap.Meta.ID)
	case rec == nil:
		return fmt.Sprintf("no shutdown backup has ever been recorded (a power cut or crash before the first clean shutdown?): snapshot %s from %s is restored and later writes are lost", snap.Meta.ID, snap.Meta.Time.Format(time.RFC3339))
	case rec.BootID != "" && rec.BootID == bootID:
		return "" // kubelet restarted within this boot; its backup says nothing about the data dir's past
	case !rec.OK && rec.SystemShutdown:
		return fmt.Sprintf("the last shutdown backup failed at %s (%s): snapshot %s is restored, %s older than that shutdown; writes in between are lost", rec.Time.Format(time.RFC3339), rec.Error, snap.Meta.ID, age(rec.Time))
	case !rec.SystemShutdown:
		return fmt.Sprintf("no shutdown backup at the last shutdown: the node lost power or crashed (the last backup at a kubelet stop was at %s); snapshot %s from %s is restored and writes after it are lost", rec.Time.Format(time.RFC3339), snap.Meta.ID, snap.Meta.Time.Format(time.RFC3339))
	case rec.SnapshotID == snap.Meta.ID:
		return ""
	case len(skipped) > 0:
		return fmt.Sprintf("the last shutdown backup %s was unusable (%s): snapshot %s is restored, %s older; writes in between are lost", rec.SnapshotID, skipped[0], snap.Meta.ID, age(rec.Time))
	default:
		return fmt.Sprintf("no shutdown backup since the one of %s (%s): the node lost power or crashed; snapshot %s from %s is restored and writes after it are lost", rec.Time.Format(time.RFC3339), rec.SnapshotID, snap.Meta.ID, snap.Meta.Time.Format(time.RFC3339))
	}
}
