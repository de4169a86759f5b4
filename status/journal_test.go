package status

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

const journalPID = 4242

// writeChain writes a chain that follows snapshot snapID at revision start
// and holds revisions start+1..last, into the store's journal dir.
func writeChain(t *testing.T, journalDir, snapID string, start, last int64) string {
	t.Helper()
	id, err := testbed.WriteJournalChain(journalDir, journal.Header{ClusterID: 1, MemberID: 2, StartRev: start, SnapshotID: snapID, Created: now.Add(-time.Hour)},
		last, func(rev int64) time.Time { return now.Add(time.Duration(rev-last) * time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// runningState is what a healthy journal publishes: up an hour, 36 MiB
// written, everything durable but the last second's 2 revisions.
func runningState(chainID string) journal.State {
	return journal.State{
		PID: journalPID, Started: now.Add(-time.Hour), Updated: now.Add(-500 * time.Millisecond), Running: true, Interval: time.Second,
		ChainID: chainID, SnapshotID: "20261125T145000Z-r100", StartRev: 100, SeenRev: 152, DurableRev: 150, LagRevs: 2, LagSeconds: 0.5,
		LastSync: now.Add(-time.Second), Bytes: 36 << 20, Syncs: 3000,
	}
}

// journalNode is a healthy node with the journal unit installed, a chain
// on disk, and state (nil: none published this boot).
func journalNode(t *testing.T, unit bool, state func(chainID string) *journal.State, alive bool) Options {
	t.Helper()
	o := healthy().build(t)
	st, err := store.Open(o.BackupDir)
	if err != nil {
		t.Fatal(err)
	}
	id := writeChain(t, st.JournalDir(), "20261125T145000Z-r100", 100, 150)
	if unit {
		writeFile(t, filepath.Join(o.Root, assets.JournalUnit.Path), "[Service]\n")
	}
	if s := state(id); s != nil {
		if err := journal.WriteState(filepath.Join(o.Root, journal.DefaultStatePath), *s); err != nil {
			t.Fatal(err)
		}
	}
	o.Alive = func(pid int) bool { return alive && pid == journalPID }
	return o
}

func reportText(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Each state of the journal gives its lines and exactly the warnings it
// should; a node without the unit says so and needs no attention.
func TestJournal(t *testing.T) {
	running := func(id string) *journal.State { s := runningState(id); return &s }
	with := func(edit func(s *journal.State)) func(string) *journal.State {
		return func(id string) *journal.State { s := runningState(id); edit(&s); return &s }
	}
	none := func(string) *journal.State { return nil }
	tests := []struct {
		name    string
		unit    bool
		state   func(string) *journal.State
		alive   bool
		running bool
		lines   []string
		warn    string // "" for none
	}{
		{"not installed", false, none, false, false, []string{"journal:     not installed\n", "chain:       newest "}, ""},
		{"installed, never ran", true, none, false, false, []string{"journal:     NOT running: it has not run since this boot\n"}, "installed but the journal is not running (it has not run since this boot)"},
		{"running", true, running, true, true, []string{
			"journal:     running, pid 4242 since 2026-11-25 14:00:00Z, interval 1s\n",
			"journal lag: 2 revision(s), 0.5s; last fsync 2026-11-25 14:59:59Z (1s ago)\n",
			"journal io:  36.0M written (36.0M/h), 3000 fsync(s)\n",
			"from snapshot 20261125T145000Z-r100 revision 100, durable up to 150; 1 chain(s) on disk, 64.0K\n",
		}, ""},
		{"process gone", true, running, false, false, []string{"NOT running: its process 4242 is gone\n"}, "its process 4242 is gone"},
		{"state stale", true, with(func(s *journal.State) { s.Updated = now.Add(-4 * time.Second) }), true, false,
			[]string{"NOT running: its state was last updated 4s ago, more than 3 intervals of 1s: hung?\n"}, "last updated 4s ago"},
		{"stopped", true, with(func(s *journal.State) { s.Running = false }), true, false, []string{"NOT running: stopped (state of pid 4242)\n"}, "stopped (state of pid 4242)"},
		{"waiting for etcd", true, with(func(s *journal.State) { s.Running, s.LastError = false, "etcd unreachable" }), true, false,
			[]string{"NOT running: etcd unreachable\n"}, "not running (etcd unreachable)"},
		{"lagging", true, with(func(s *journal.State) { s.LagSeconds, s.LagRevs = 2.5, 40 }), true, true,
			[]string{"journal lag: 40 revision(s), 2.5s;"}, "the journal lags 40 revision(s), 2.5s behind etcd"},
		{"two intervals behind is not lagging", true, with(func(s *journal.State) { s.LagSeconds = 2 }), true, true, nil, ""},
		{"error while running", true, with(func(s *journal.State) { s.LastError = "watch cancelled, resuming" }), true, true, nil, "journal: watch cancelled, resuming"},
		{"run by hand, not installed", false, running, true, true, []string{"journal:     running, pid 4242"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gather(t, journalNode(t, tt.unit, tt.state, tt.alive))
			j := r.Journal
			if j.Installed != tt.unit || j.Running != tt.running || len(j.Chains) != 1 || j.Chains[0].StartRevision != 100 || j.Error != "" {
				t.Errorf("journal %+v: want installed %v, running %v, one chain from 100", j, tt.unit, tt.running)
			}
			text := reportText(t, r)
			for _, l := range tt.lines {
				if !strings.Contains(text, l) {
					t.Errorf("status lacks %q:\n%s", l, text)
				}
			}
			if tt.warn == "" {
				if r.NeedsAttention || len(r.Warnings) != 0 {
					t.Errorf("warnings %q, want none", r.Warnings)
				}
				return
			}
			if !r.NeedsAttention || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], tt.warn) {
				t.Errorf("warnings %q, want exactly one mentioning %q", r.Warnings, tt.warn)
			}
		})
	}
}

// --json carries the same figures.
func TestJournalJSON(t *testing.T) {
	r := gather(t, journalNode(t, true, func(id string) *journal.State { s := runningState(id); return &s }, true))
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Journal map[string]any `json:"journal"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"installed": true, "running": true, "pid": float64(journalPID), "intervalSeconds": 1.0,
		"lagRevisions": 2.0, "lagSeconds": 0.5, "lastSync": "2026-11-25T14:59:59Z", "lastSyncAgeSeconds": 1.0,
		"bytes": float64(36 << 20), "syncs": 3000.0, "bytesPerHour": float64(36 << 20),
		"snapshotId": "20261125T145000Z-r100", "startRevision": 100.0, "durableRevision": 150.0,
	} {
		if got.Journal[k] != want {
			t.Errorf("journal.%s = %v (%T), want %v", k, got.Journal[k], got.Journal[k], want)
		}
	}
	if cs, _ := got.Journal["chains"].([]any); len(cs) != 1 {
		t.Errorf("chains %v, want one", got.Journal["chains"])
	}
}
