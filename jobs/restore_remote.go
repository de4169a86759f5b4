package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// RemoteSource is where restore finds snapshots when the backup dir has none:
// the off-host copies (offhost.Source).
type RemoteSource interface {
	String() string
	// Snapshots lists the copies, newest first in the store's order.
	Snapshots(ctx context.Context) ([]store.Metadata, error)
	// Import copies one into the store (under its lock). A copy that is not
	// what it should be wraps store.ErrCorrupt.
	Import(ctx context.Context, st *store.Store, m *store.Metadata) (*store.Snapshot, error)
}

// restoreRemote restores the newest good off-host copy, under the same rules
// as a local one: each is fetched into the store (checked against the node's
// own metadata), then verified and restored; a bad one is removed again and
// the next older one tried. Anything else (a wrong identity, an unreachable
// target) stops the restore with the data dir left empty.
func restoreRemote(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, dataDir string, res *RestoreResult, o RestoreOptions, start time.Time) (*RestoreResult, error) {
	log := o.Logger
	metas, err := o.Remote.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("no snapshot in %s, and the off-host copies cannot be listed: %w; the data dir %s is left empty", st.Dir, err, dataDir)
	}
	if len(metas) == 0 {
		if o.AllowEmpty {
			res.NoOp = "no snapshot in " + st.Dir + " nor on " + o.Remote.String() + "; --allow-empty lets etcd start empty"
			return res, nil
		}
		return nil, fmt.Errorf("%w in %s nor on %s and the data dir %s is empty; refusing to let etcd start empty (pass --allow-empty for a brand-new cluster)", store.ErrNoSnapshot, st.Dir, o.Remote, dataDir)
	}
	log.Info("no snapshot in the backup dir; restoring from the off-host copies", "target", o.Remote.String(), "copies", len(metas))
	for i := range metas {
		meta := &metas[i]
		snap, err := o.Remote.Import(ctx, st, meta)
		if err == nil {
			if err = restoreOne(ctx, rt, st, m, dataDir, snap, o, log); errors.Is(err, errBadSnapshot) {
				// Kept, it would be the newest local snapshot and hide the older copies.
				if rmErr := st.Remove(snap); rmErr != nil {
					log.Warn("remove the bad fetched snapshot", "id", snap.Meta.ID, "err", rmErr)
				}
			}
		}
		if err == nil {
			res.Snapshot, res.Duration, res.FromOffhost = snap, time.Since(start), o.Remote.String()
			recordRestore(st, res, o, log)
			return res, nil
		}
		if !errors.Is(err, errBadSnapshot) && !errors.Is(err, store.ErrCorrupt) {
			return nil, fmt.Errorf("restore from %s: %w; the data dir %s is left empty", o.Remote, err, dataDir)
		}
		log.Warn("off-host copy unusable; trying the next older one", "id", meta.ID, "err", err)
		res.Skipped = append(res.Skipped, meta.ID+" (off-host): "+err.Error())
	}
	return nil, fmt.Errorf("%w usable: all %d off-host copies on %s failed verification (%s); the data dir %s is left empty", store.ErrNoSnapshot, len(metas), o.Remote, strings.Join(res.Skipped, "; "), dataDir)
}
