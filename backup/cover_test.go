package backup

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/store/storetest"
)

// TestJournalCover: a scheduled backup stands aside only while the journal
// follows the newest snapshot, keeps up, and that snapshot is young enough;
// every doubt takes the snapshot.
func TestJournalCover(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, st, now.Add(-2*time.Hour), 100, store.Good)
	storetest.Put(t, st, now.Add(-20*time.Minute), 200, store.Good)
	newest, err := st.Newest()
	if err != nil {
		t.Fatal(err)
	}
	following := journal.State{PID: 42, Running: true, Interval: 5 * time.Second, Updated: now.Add(-time.Second),
		SnapshotID: newest.Meta.ID, StartRev: 200, DurableRev: 260, SeenRev: 260}
	for name, c := range map[string]struct {
		state  *journal.State // nil: none published
		alive  bool
		within time.Duration
		want   string // in the covered text, or in why not when covered is ""
		cover  bool
	}{
		"following, young snapshot": {&following, true, 45 * time.Minute, "durable at revision 260", true},
		"no state published":        {nil, true, 45 * time.Minute, "journal state", false},
		"process gone":              {&following, false, 45 * time.Minute, "process 42 is gone", false},
		"snapshot too old":          {&following, true, 15 * time.Minute, "20m0s old", false},
		"stopped": {func() *journal.State { s := following; s.Running, s.LastError = false, "etcd unreachable"; return &s }(),
			true, 45 * time.Minute, "etcd unreachable", false},
		"hung": {func() *journal.State { s := following; s.Updated = now.Add(-time.Minute); return &s }(),
			true, 45 * time.Minute, "hung", false},
		"lagging": {func() *journal.State { s := following; s.LagRevs, s.LagSeconds = 30, 12; return &s }(),
			true, 45 * time.Minute, "lags 30 revision(s)", false},
		"follows an older snapshot": {func() *journal.State { s := following; s.SnapshotID = "older"; return &s }(),
			true, 45 * time.Minute, "follows snapshot older", false},
		"clock went back": {&following, true, 45 * time.Minute, "-", false}, // now before the snapshot: see below
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.json")
			if c.state != nil {
				if err := journal.WriteState(path, *c.state); err != nil {
					t.Fatal(err)
				}
			}
			at := now
			if name == "clock went back" {
				at = now.Add(-time.Hour)
				s := following
				s.Updated = at
				if err := journal.WriteState(path, s); err != nil {
					t.Fatal(err)
				}
			}
			jc := &JournalCover{StatePath: path, Within: c.within, Now: func() time.Time { return at },
				Alive: func(pid int) bool { return c.alive && pid == 42 }}
			covered, rev, needed := jc.covered(st)
			switch {
			case c.cover && (covered == "" || rev != 260 || !strings.Contains(covered, c.want)):
				t.Errorf("covered %q rev %d (needed %q), want covered with %q", covered, rev, needed, c.want)
			case !c.cover && (covered != "" || !strings.Contains(needed, c.want)):
				t.Errorf("covered %q, needed %q: want a snapshot, because %q", covered, needed, c.want)
			}
		})
	}
}

// TestRecentEnough: cron's runs store a snapshot only once the newest good
// one is minAge old; none, a snapshot from the future (the clock went
// back) or minAge 0 takes one.
func TestRecentEnough(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got := recentEnough(st, 15*time.Minute, now); got != "" {
		t.Errorf("no snapshot: %q, want a snapshot taken", got)
	}
	storetest.Put(t, st, now.Add(-10*time.Minute), 100, store.Good)
	for _, c := range []struct {
		minAge time.Duration
		at     time.Time
		want   string // "" for a snapshot taken
	}{
		{15 * time.Minute, now, "10m0s old, a new one after 15m0s"},
		{10 * time.Minute, now, ""},
		{0, now, ""},
		{15 * time.Minute, now.Add(-time.Hour), ""},
	} {
		if got := recentEnough(st, c.minAge, c.at); (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("minAge %s at %s: %q, want %q", c.minAge, c.at.Format(time.TimeOnly), got, c.want)
		}
	}
}
