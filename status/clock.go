package status

import (
	"fmt"
	"slices"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Clock says whether the snapshots' times make this machine's clock look
// wrong: a board without a battery clock boots far behind after a power cut,
// and a clock can jump ahead.
type Clock struct {
	Now time.Time `json:"now"`
	// LatestAfterNow is the latest-dated snapshot, good or suspect, when it is
	// dated after now: the clock is behind, or was ahead when it was taken.
	LatestAfterNow *DatedSnapshot `json:"latestAfterNow,omitempty"`
	// NewestDatedBefore is the older snapshot that the newest good one is
	// dated before: the clock was behind when the newest was taken.
	NewestDatedBefore *DatedSnapshot `json:"newestDatedBefore,omitempty"`
}

// DatedSnapshot names a snapshot and the time it carries.
type DatedSnapshot struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
}

// checkClock looks at every snapshot's time against the store's order and now.
// It returns whether the newest good snapshot's own time is implausible, in
// which case its age says nothing.
func checkClock(now time.Time, good, suspect []store.Snapshot) (c Clock, newestWrong bool) {
	c.Now = now
	all := append(slices.Clone(good), suspect...)
	problems := store.CheckTimes(all, now)
	for _, s := range all {
		if problems[s.Meta.ID].Ahead && (c.LatestAfterNow == nil || s.Meta.Time.After(c.LatestAfterNow.Time)) {
			c.LatestAfterNow = &DatedSnapshot{ID: s.Meta.ID, Time: s.Meta.Time}
		}
	}
	if len(good) == 0 {
		return c, false
	}
	p, wrong := problems[good[0].Meta.ID]
	if p.Before != nil {
		c.NewestDatedBefore = &DatedSnapshot{ID: p.Before.Meta.ID, Time: p.Before.Meta.Time}
	}
	return c, wrong
}

// clockWarnings names what a wrong clock puts at risk, and what does not
// depend on it.
func clockWarnings(b *Backups) []string {
	var w []string
	c := &b.Clock
	if s := c.LatestAfterNow; s != nil {
		w = append(w, fmt.Sprintf("the clock looks wrong: snapshot %s is dated %s, %s after this machine's time %s: either the clock is behind (set back by a power cut on a board without a battery clock?) or it was ahead when that snapshot was taken. Restore, `list` and --keep-last follow the store's order and are safe, but backup ages and the --keep-hourly/daily/weekly/monthly buckets follow the clock: set the time (NTP, `timedatectl`)",
			s.ID, stamp(s.Time), s.Time.Sub(c.Now).Round(time.Second), stamp(c.Now)))
	}
	if s := c.NewestDatedBefore; s != nil && b.LastGood != nil {
		w = append(w, fmt.Sprintf("the clock looks wrong: the newest snapshot %s is dated %s, before the older %s (%s): the clock was behind when it was taken. Restore still picks it (the store's order, not time, says which is newest), but its age cannot be judged, so the backup-age check waits for a backup taken with the right time: check NTP (`timedatectl`)",
			b.LastGood.ID, stamp(b.LastGood.Time), s.ID, stamp(s.Time)))
	}
	return w
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }
