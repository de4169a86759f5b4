package backup

import (
	"context"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// recordShutdown writes how a shutdown backup ended, so that the restore at
// the next boot can say whether it brings back etcd's last state.
func recordShutdown(ctx context.Context, st *store.Store, o Options, res *Result, err error) {
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
		logging.G(ctx).Error("shutdown record not written; the next restore cannot tell whether this backup ran", "err", werr)
	}
}

// RecordShutdownFailure records a shutdown backup that failed before it could
// start (containerd unreachable, manifest unreadable).
func RecordShutdownFailure(ctx context.Context, st *store.Store, systemDown bool, err error) {
	recordShutdown(ctx, st, Options{Reason: store.ReasonShutdown, SystemShutdown: systemDown}, nil, err)
}
