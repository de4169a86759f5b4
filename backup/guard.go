package backup

import (
	"context"
	"fmt"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// What counts as the same etcd. etcd derives its member ID from the peer URLs
// and --initial-cluster-token, and the cluster ID from the member IDs
// (membership.NewClusterFromURLsMap): nothing random, nothing from the data.
// So an etcd bootstrapped empty with the same flags gets the IDs of the lost
// one, and `etcdutl snapshot restore` gives the restored member the IDs of the
// flags it is run with, not the snapshot's. On a kubeadm node the two differ:
// kubeadm's etcd starts with the default token "etcd-cluster", the restore
// passes the manifest's empty token. An etcd that came up empty on a boot
// whose restore did not run therefore has another cluster ID than the
// restored etcd the newest snapshot was taken from; the IDs catch it where
// the revision alone cannot.
//
// An ID is compared only when both sides know it: snapshots taken before the
// IDs were recorded and cold copies (etcd had exited, nobody to ask) have none.

// differ reports whether two IDs are both known and not the same.
func differ(a, b string) bool { return a != "" && b != "" && a != b }

// sameState reports whether etcd now is where snapshot m left it: same
// revision, and no known ID of the cluster or member differs.
func sameState(m *store.Metadata, now store.EtcdStatus) bool {
	return m.Etcd.Revision == now.Revision && !differ(m.Etcd.ClusterID, now.ClusterID) && !differ(m.Etcd.MemberID, now.MemberID)
}

// unchanged reports whether etcd is still where the newest stored snapshot,
// good or suspect, left it: an idle cluster then writes nothing. A cluster
// still sitting at a suspect state keeps failing, so the alarm does not go
// quiet. "Newest" is the store's order, not the clock; a suspect snapshot
// older than the newest good one was answered by an accepted reset and no
// longer counts.
func unchanged(ctx context.Context, st *store.Store, now store.EtcdStatus) (bool, error) {
	rev := now.Revision
	newest, err := st.Newest()
	if err == nil && sameState(&newest.Meta, now) {
		logging.G(ctx).Info("etcd unchanged since the newest snapshot; nothing written", "revision", rev, "snapshot", newest.Meta.ID)
		return true, nil
	}
	sus, _, serr := st.ListSuspect()
	if serr == nil && len(sus) > 0 && (err != nil || store.Compare(&sus[0].Meta, &newest.Meta) > 0) && sameState(&sus[0].Meta, now) {
		return true, fmt.Errorf("%w: etcd is still at revision %d of suspect snapshot %s (%s); pass --accept-reset if the reset was deliberate", ErrSuspect, rev, sus[0].Meta.ID, sus[0].Meta.Suspect)
	}
	return false, nil
}

// resetGuard explains why a snapshot of etcd now must be kept aside, or
// returns "". The baseline is the newest good snapshot, unless a restore
// since then started etcd from an older one. "Newest" and "since" are the
// store's order, which no clock can scramble.
//
// Against the newest good snapshot, another cluster ID is a reset at any
// revision. Against a restore it is not compared: the restore rebuilt the
// member with the manifest's flags, so its cluster ID may rightly differ from
// the snapshot's (the first restore on a kubeadm node always changes it), and
// the revision below the restored one still catches an etcd that lost it.
func resetGuard(st *store.Store, now store.EtcdStatus, accept bool) string {
	newest, err := st.Newest()
	if err != nil || accept {
		return ""
	}
	base, from := newest.Meta.Etcd.Revision, "newest good snapshot "+newest.Meta.ID
	if rec, err := st.ReadRestoreRecord(); err == nil && rec != nil && rec.After(&newest.Meta) {
		base, from = rec.Revision, "restore of "+rec.SnapshotID
	} else if differ(newest.Meta.Etcd.ClusterID, now.ClusterID) {
		return fmt.Sprintf("cluster ID %s is not %s of the %s: etcd was reset or re-initialised as another cluster", now.ClusterID, newest.Meta.Etcd.ClusterID, from)
	}
	if now.Revision >= base {
		return ""
	}
	return fmt.Sprintf("revision %d is below %d of the %s: etcd was reset or re-initialised", now.Revision, base, from)
}
