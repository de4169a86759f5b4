package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

var seenAt = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

// writeChain writes a chain following snap with revisions up to last, the
// last one seen at seenAt.
func writeChain(t *testing.T, e *env, snapID string, start, last int64) string {
	t.Helper()
	id, err := testbed.WriteJournalChain(e.store(t).JournalDir(), journal.Header{ClusterID: 1, MemberID: 2, StartRev: start, SnapshotID: snapID},
		last, func(rev int64) time.Time { return seenAt.Add(time.Duration(rev-last) * time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// list shows, under each snapshot a chain follows, the revisions the chain
// holds after it; chains of a snapshot no longer listed come after the table.
func TestListJournal(t *testing.T) {
	e := newEnv(t)
	older := e.writeSnapshot(t, time.Now().Add(-2*time.Hour), 100, store.Good)
	newer := e.writeSnapshot(t, time.Now().Add(-time.Hour), 200, store.Good)
	oldChain := writeChain(t, e, older.Meta.ID, 100, 120)
	newChain := writeChain(t, e, newer.Meta.ID, 200, 250)
	pruned := writeChain(t, e, "20261101T000000Z-r10", 10, 10)
	if err := runList(context.Background(), listOptions{globalOptions: e.g}, e.d); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(e.out.String(), "\n"), "\n")
	want := []string{
		"ID ",
		newer.Meta.ID + "  good  2 ",
		"  journal " + newChain + ": revisions 201..250 (50 revisions, up to 2026-11-25 14:00:00 UTC)",
		older.Meta.ID + "  good  1 ",
		"  journal " + oldChain + ": revisions 101..120 (20 revisions, up to 2026-11-25 14:00:00 UTC)",
		"snapshot 20261101T000000Z-r10, not in the store:",
		"  journal " + pruned + ": no revisions yet (follows revision 10)",
	}
	if len(lines) != len(want) {
		t.Fatalf("list:\n%s", e.out)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d %q, want %q", i, lines[i], w)
		}
	}
	// The REVISION column, found by its padded value: a bare "100" may also
	// be found in the ID's time of day (16:10:02 is "161002").
	if c := strings.Index(lines[1], " 200 "); c < 0 || c != strings.Index(lines[3], " 100 ") {
		t.Errorf("the journal lines broke the table's columns:\n%s", e.out)
	}

	e.out.Reset()
	if err := runList(context.Background(), listOptions{globalOptions: e.g, JSON: true}, e.d); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Snapshots []struct {
			ID      string         `json:"id"`
			Journal []journalRange `json:"journal"`
		} `json:"snapshots"`
		Other []journalRange `json:"journalWithoutSnapshot"`
	}
	if err := json.Unmarshal(e.out.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, e.out)
	}
	if len(got.Snapshots) != 2 || len(got.Snapshots[0].Journal) != 1 || len(got.Other) != 1 {
		t.Fatalf("json:\n%s", e.out)
	}
	j := got.Snapshots[0].Journal[0]
	if j.ChainID != newChain || j.StartRevision != 200 || j.LastRevision != 250 || j.Revisions != 50 || j.LastTime == nil || !j.LastTime.Equal(seenAt) || j.Error != "" {
		t.Errorf("journal of the newest snapshot: %+v", j)
	}
}

// A chain whose header cannot be read is listed, never hidden.
func TestListJournalUnreadable(t *testing.T) {
	e := newEnv(t)
	e.writeSnapshot(t, time.Now().Add(-time.Hour), 100, store.Good)
	bad := filepath.Join(e.store(t).JournalDir(), "0000000000000064-0000000000000001")
	if err := os.MkdirAll(bad, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := runList(context.Background(), listOptions{globalOptions: e.g}, e.d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), "chains without a readable header:\n  journal 0000000000000064-0000000000000001: unreadable: ") {
		t.Errorf("list:\n%s", e.out)
	}
}

// A chain with a segment missing in the middle shows how far it can be
// replayed and why not further.
func TestListJournalBroken(t *testing.T) {
	e := newEnv(t)
	snap := e.writeSnapshot(t, time.Now().Add(-time.Hour), 100, store.Good)
	id := writeChain(t, e, snap.Meta.ID, 100, 6100)
	segs, _ := filepath.Glob(filepath.Join(e.store(t).JournalDir(), id, "*.seg"))
	if len(segs) < 3 {
		t.Fatalf("segments %v, want 3 or more", segs)
	}
	if err := os.Remove(segs[1]); err != nil {
		t.Fatal(err)
	}
	if err := runList(context.Background(), listOptions{globalOptions: e.g}, e.d); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\n  journal ` + id + `: revisions 101\.\.\d+ \(\d+ revisions, up to [^)]*\), then broken: .*journal gap`).MatchString(e.out.String()) {
		t.Errorf("list:\n%s", e.out)
	}
}
