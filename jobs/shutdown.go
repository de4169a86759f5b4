package jobs

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// recordShutdown writes how a shutdown backup ended, so that the restore at
// the next boot can say whether it brings back etcd's last state.
func recordShutdown(st *store.Store, o Options, res *Result, err error, log *slog.Logger) {
	if err == nil && res != nil && res.NoData != "" {
		// etcd never ran this boot (its restore failed): the record of the
		// previous boot still says where etcd's last state is.
		return
	}
	rec := store.ShutdownRecord{Time: time.Now(), BootID: hostfs.BootID(), SystemShutdown: o.SystemShutdown}
	if res != nil {
		rec.Source, rec.EtcdStopped = res.Source, res.EtcdStopped != ""
	}
	switch {
	case err != nil:
		rec.Error = err.Error()
	case res != nil && res.Snapshot != nil:
		rec.OK, rec.SnapshotID, rec.Revision = true, res.Snapshot.Meta.ID, res.Snapshot.Meta.Etcd.Revision
	default:
		// Unchanged since the newest snapshot, or nothing ran this boot: the
		// newest snapshot already holds etcd's last state.
		rec.OK = true
		if newest, nerr := st.Newest(); nerr == nil {
			rec.SnapshotID, rec.Revision = newest.Meta.ID, newest.Meta.Etcd.Revision
		}
	}
	if werr := st.WriteShutdownRecord(rec); werr != nil {
		log.Error("shutdown record not written; the next restore cannot tell whether this backup ran", "err", werr)
	}
}

// RecordShutdownFailure records a shutdown backup that failed before it could
// start (containerd unreachable, manifest unreadable).
func RecordShutdownFailure(st *store.Store, systemDown bool, err error, log *slog.Logger) {
	recordShutdown(st, Options{Reason: store.ReasonShutdown, SystemShutdown: systemDown}, nil, err, log)
}

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
