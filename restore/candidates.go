package restore

import (
	"context"
	"errors"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// firstUsable tries src's candidates in order, newest first, until restore
// succeeds with one. A fault of the snapshot itself (etcdtool.ErrBadSnapshot,
// or a fetched copy that is not what it should be) passes over it, saying why
// in skipped, to the next older one; a bad fetched snapshot is discarded. Any
// other error stops at once, since the next snapshot would meet it too. snap
// is nil, with no error, when every one was bad.
func firstUsable(ctx context.Context, src Source, cands []store.Metadata, restore func(context.Context, *store.Snapshot) error) (snap *store.Snapshot, skipped []string, err error) {
	w := src.words()
	for i := range cands {
		m := &cands[i]
		s, err := src.Fetch(ctx, m)
		if err == nil {
			if err = restore(ctx, s); errors.Is(err, etcdtool.ErrBadSnapshot) {
				src.Discard(ctx, s)
			}
		}
		if err == nil {
			return s, skipped, nil
		}
		if !errors.Is(err, etcdtool.ErrBadSnapshot) && !errors.Is(err, store.ErrCorrupt) {
			return nil, skipped, err
		}
		logging.G(ctx).Warn(w.one+" unusable; trying the next older one", "id", m.ID, "err", err)
		skipped = append(skipped, m.ID+w.tag+": "+err.Error())
	}
	return nil, skipped, nil
}
