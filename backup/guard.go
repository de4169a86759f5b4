package backup

import (
	"context"
	"fmt"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// unchanged reports whether etcd is still at the newest stored revision, good or
// suspect: an idle cluster then writes nothing. A cluster still sitting at a
// suspect revision keeps failing, so the alarm does not go quiet.
// "Newest" is the store's order, not the clock; a suspect snapshot older than
// the newest good one was answered by an accepted reset and no longer counts.
func unchanged(ctx context.Context, st *store.Store, rev int64) (bool, error) {
	newest, err := st.Newest()
	if err == nil && newest.Meta.Etcd.Revision == rev {
		logging.G(ctx).Info("etcd unchanged since the newest snapshot; nothing written", "revision", rev, "snapshot", newest.Meta.ID)
		return true, nil
	}
	sus, _, serr := st.ListSuspect()
	if serr == nil && len(sus) > 0 && (err != nil || store.Compare(&sus[0].Meta, &newest.Meta) > 0) && sus[0].Meta.Etcd.Revision == rev {
		return true, fmt.Errorf("%w: etcd is still at revision %d of suspect snapshot %s (%s); pass --accept-reset if the reset was deliberate", ErrSuspect, rev, sus[0].Meta.ID, sus[0].Meta.Suspect)
	}
	return false, nil
}

// resetGuard explains why a snapshot at rev must be kept aside, or returns "".
// The baseline is the newest good snapshot, unless a restore since then started
// etcd from an older one. "Newest" and "since" are the store's order, which no
// clock can scramble.
func resetGuard(st *store.Store, rev int64, accept bool) string {
	newest, err := st.Newest()
	if err != nil || accept {
		return ""
	}
	base, from := newest.Meta.Etcd.Revision, "newest good snapshot "+newest.Meta.ID
	if rec, err := st.ReadRestoreRecord(); err == nil && rec != nil && rec.After(&newest.Meta) {
		base, from = rec.Revision, "restore of "+rec.SnapshotID
	}
	if rev >= base {
		return ""
	}
	return fmt.Sprintf("revision %d is below %d of the %s: etcd was reset or re-initialised", rev, base, from)
}
