package backup

import (
	"fmt"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// JournalCover lets a scheduled backup stand aside while the journal
// follows etcd: the newest snapshot plus the journal's chain after it is
// what a restore uses, so a new snapshot is only needed once the chain has
// grown for Within (which bounds the replay at restore) or the journal is
// not following. Any doubt takes the snapshot.
type JournalCover struct {
	StatePath string        // the journal's published state (journal.DefaultStatePath)
	Within    time.Duration // the newest snapshot's age up to which the journal covers
	Now       func() time.Time
	Alive     func(pid int) bool
}

// covered says why no snapshot is needed now and the journal's durable
// revision, or "" when one is (and why, for the log).
func (c *JournalCover) covered(st *store.Store) (covered string, rev int64, needed string) {
	now, alive := time.Now, journal.ProcessAlive
	if c.Now != nil {
		now = c.Now
	}
	if c.Alive != nil {
		alive = c.Alive
	}
	s, err := journal.ReadState(c.StatePath)
	if err != nil {
		return "", 0, err.Error()
	}
	t := now()
	if why := s.NotRunning(t, alive); why != "" {
		return "", 0, "the journal is not following etcd: " + why
	}
	if why := s.Lagging(); why != "" {
		return "", 0, "the journal lags " + why
	}
	newest, err := st.Newest()
	if err != nil {
		return "", 0, err.Error()
	}
	if s.SnapshotID != newest.Meta.ID {
		return "", 0, fmt.Sprintf("the journal follows snapshot %s, not the newest, %s", s.SnapshotID, newest.Meta.ID)
	}
	age := t.Sub(newest.Meta.Time)
	if age < 0 || age >= c.Within {
		return "", 0, fmt.Sprintf("the newest snapshot %s is %s old (journal covers up to %s)", newest.Meta.ID, age.Round(time.Second), c.Within)
	}
	return fmt.Sprintf("the journal follows snapshot %s (%s old, a new one after %s), durable at revision %d", newest.Meta.ID, age.Round(time.Second), c.Within, s.DurableRev), s.DurableRev, ""
}

// recentEnough says why no snapshot is needed yet: the newest good one is
// younger than minAge. "" when one is: minAge is 0, there is none, or its
// time is in the future (the clock went back: any doubt takes the snapshot).
func recentEnough(st *store.Store, minAge time.Duration, now time.Time) string {
	if minAge <= 0 {
		return ""
	}
	newest, err := st.Newest()
	if err != nil {
		return ""
	}
	age := now.Sub(newest.Meta.Time)
	if age < 0 || age >= minAge {
		return ""
	}
	return fmt.Sprintf("the newest snapshot %s is %s old, a new one after %s", newest.Meta.ID, age.Round(time.Second), minAge)
}
