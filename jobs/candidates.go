package jobs

import (
	"errors"
	"log/slog"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// firstUsable tries the snapshots in order, newest first, until restore
// succeeds with one. A fault of the snapshot itself (errBadSnapshot) passes
// over it, saying why in skipped, to the next older one; any other error
// stops at once, since the next snapshot would meet it too. snap is nil, with
// no error, when every one was bad.
func firstUsable(cands []store.Snapshot, restore func(*store.Snapshot) error, log *slog.Logger) (snap *store.Snapshot, skipped []string, err error) {
	for i := range cands {
		s := &cands[i]
		err := restore(s)
		if err == nil {
			return s, skipped, nil
		}
		if !errors.Is(err, errBadSnapshot) {
			return nil, skipped, err
		}
		log.Warn("snapshot unusable; trying the next older one", "id", s.Meta.ID, "err", err)
		skipped = append(skipped, s.Meta.ID+": "+err.Error())
	}
	return nil, skipped, nil
}
