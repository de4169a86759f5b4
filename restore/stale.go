package restore

import (
	"fmt"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// staleness explains why the snapshot just restored may be older than the
// last state etcd had, or returns "" when it is the last shutdown backup of an
// earlier boot and nothing newer was passed over. skipped are the newer
// snapshots passed over as unusable ("id: why"): whatever the shutdown record
// says, their writes are lost, so they always make the restore stale.
func staleness(st *store.Store, snap *store.Snapshot, skipped []string, bootID string) string {
	why, named := sinceShutdown(st, snap, skipped, bootID)
	if len(skipped) == 0 || named {
		return why
	}
	noun := "snapshots were"
	if len(skipped) == 1 {
		noun = "snapshot was"
	}
	unusable := fmt.Sprintf("newer %s unusable (%s)", noun, strings.Join(skipped, "; "))
	if why == "" {
		return fmt.Sprintf("%s: snapshot %s is restored, writes after it are lost", unusable, snap.Meta.ID)
	}
	return why + "; " + unusable
}

// sinceShutdown is what the shutdown record says of snap; named reports that
// it already names the skipped snapshots (the newest was the last shutdown
// backup, the others are older and within "writes in between").
func sinceShutdown(st *store.Store, snap *store.Snapshot, skipped []string, bootID string) (why string, named bool) {
	rec, err := st.ReadShutdownRecord()
	age := func(since time.Time) string { return since.Sub(snap.Meta.Time).Round(time.Second).String() }
	switch {
	case err != nil:
		return fmt.Sprintf("the last shutdown backup cannot be read (%v); snapshot %s may be older than etcd's last state", err, snap.Meta.ID), false
	case rec == nil:
		return fmt.Sprintf("no shutdown backup has ever been recorded (a power cut or crash before the first clean shutdown?): snapshot %s from %s is restored and later writes are lost", snap.Meta.ID, snap.Meta.Time.Format(time.RFC3339)), false
	case rec.BootID != "" && rec.BootID == bootID:
		return "", false // kubelet restarted within this boot; its backup says nothing about the data dir's past
	case !rec.OK && rec.SystemShutdown:
		return fmt.Sprintf("the last shutdown backup failed at %s (%s): snapshot %s is restored, %s older than that shutdown; writes in between are lost", rec.Time.Format(time.RFC3339), rec.Error, snap.Meta.ID, age(rec.Time)), false
	case !rec.SystemShutdown:
		return fmt.Sprintf("no shutdown backup at the last shutdown: the node lost power or crashed (the last backup at a kubelet stop was at %s); snapshot %s from %s is restored and writes after it are lost", rec.Time.Format(time.RFC3339), snap.Meta.ID, snap.Meta.Time.Format(time.RFC3339)), false
	case rec.SnapshotID == snap.Meta.ID:
		return "", false
	}
	// Only when it is the newest passed over: a newer one skipped came after
	// that shutdown, so the node lost power or crashed since.
	if len(skipped) > 0 && skippedID(skipped[0]) == rec.SnapshotID {
		return fmt.Sprintf("the last shutdown backup %s was unusable (%s): snapshot %s is restored, %s older; writes in between are lost", rec.SnapshotID, skipped[0], snap.Meta.ID, age(rec.Time)), true
	}
	return fmt.Sprintf("no shutdown backup since the one of %s (%s): the node lost power or crashed; snapshot %s from %s is restored and writes after it are lost", rec.Time.Format(time.RFC3339), rec.SnapshotID, snap.Meta.ID, snap.Meta.Time.Format(time.RFC3339)), false
}

// skippedID is the id a line of Result.Skipped starts with ("id: why", or
// "id (off-host): why").
func skippedID(line string) string {
	id, _, _ := strings.Cut(line, ":")
	id, _, _ = strings.Cut(id, " ")
	return id
}
