package store

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var (
	epoch    = time.Unix(0, 0).UTC() // what a board without a battery clock boots with
	nextYear = baseTime.AddDate(1, 0, 0)
)

// makeLegacy rewrites snap's metadata without a sequence number, as releases
// before it wrote them.
func makeLegacy(t *testing.T, snap *Snapshot) {
	t.Helper()
	data, err := os.ReadFile(snap.MetaPath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "seq")
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(snap.MetaPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	snap.Meta.Seq = 0
}

// writeTimeline writes one good snapshot per time, in the order given (the
// order they were taken), with rising revisions, and returns their ids.
func writeTimeline(t *testing.T, s *Store, times []time.Time) []string {
	t.Helper()
	var written []string
	for i, at := range times {
		written = append(written, writeSnap(t, s, testMeta(at, int64(100+i)), []byte("x"), Good).Meta.ID)
	}
	return written
}

// clockTimelines are the clocks a node without a battery clock lives with,
// each in the order the snapshots were taken.
var clockTimelines = []struct {
	name  string
	times []time.Time
}{
	{"clock right", []time.Time{baseTime, baseTime.Add(15 * time.Minute), baseTime.Add(30 * time.Minute)}},
	{"clock set back", []time.Time{baseTime, baseTime.Add(15 * time.Minute), epoch, epoch.Add(15 * time.Minute)}},
	{"clock set back, then NTP", []time.Time{baseTime, epoch, epoch.Add(15 * time.Minute), baseTime.Add(2 * time.Hour)}},
	{"clock jumped forward", []time.Time{baseTime, nextYear, baseTime.Add(30 * time.Minute), baseTime.Add(45 * time.Minute)}},
	{"clock stays ahead", []time.Time{baseTime, nextYear, nextYear.Add(15 * time.Minute)}},
	{"same time repeated", []time.Time{epoch, epoch, epoch}},
	{"every boot starts at 1970", []time.Time{epoch, epoch.Add(15 * time.Minute), epoch, epoch.Add(15 * time.Minute), epoch}},
	{"clock set back by an hour", []time.Time{baseTime, baseTime.Add(time.Hour), baseTime.Add(15 * time.Minute)}},
}

func TestListIsWriteOrderWhateverTheClock(t *testing.T) {
	for _, tl := range clockTimelines {
		t.Run(tl.name, func(t *testing.T) {
			s := newStore(t)
			written := writeTimeline(t, s, tl.times)
			snaps, problems, err := s.List()
			if err != nil || len(problems) != 0 {
				t.Fatalf("List: %v, problems %v", err, problems)
			}
			want := slices.Clone(written)
			slices.Reverse(want)
			if got := ids(snaps); !slices.Equal(got, want) {
				t.Fatalf("List = %v, want the reverse of the write order %v", got, want)
			}
			newest, err := s.Newest()
			if err != nil || newest.Meta.ID != written[len(written)-1] {
				t.Fatalf("Newest = %v, %v; want the last written %s", newest, err, written[len(written)-1])
			}
			for i, snap := range snaps {
				if want := uint64(len(snaps) - i); snap.Meta.Seq != want {
					t.Errorf("%s has seq %d, want %d", snap.Meta.ID, snap.Meta.Seq, want)
				}
			}
		})
	}
}

// Upgrading keeps every old snapshot in its old (time) order, and every
// snapshot taken since sorts after all of them, whatever its time.
func TestUpgradeKeepsLegacyOrder(t *testing.T) {
	s := newStore(t)
	for i, off := range []time.Duration{time.Hour, 0, 2 * time.Hour} {
		makeLegacy(t, writeSnap(t, s, testMeta(baseTime.Add(off), int64(i+1)), []byte("x"), Good))
	}
	legacy, _, _ := s.List()
	wantLegacy := []string{"20261125T164530Z-r3", "20261125T154530Z-r1", "20261125T144530Z-r2"}
	if got := ids(legacy); !slices.Equal(got, wantLegacy) {
		t.Fatalf("legacy List = %v, want %v", got, wantLegacy)
	}
	n1 := writeSnap(t, s, testMeta(epoch, 4), []byte("x"), Good)
	n2 := writeSnap(t, s, testMeta(baseTime.Add(time.Hour), 5), []byte("x"), Good)
	if n1.Meta.Seq != 1 || n2.Meta.Seq != 2 {
		t.Fatalf("seqs after upgrade = %d, %d; want 1, 2", n1.Meta.Seq, n2.Meta.Seq)
	}
	snaps, _, _ := s.List()
	want := append([]string{n2.Meta.ID, n1.Meta.ID}, wantLegacy...)
	if got := ids(snaps); !slices.Equal(got, want) {
		t.Fatalf("List after upgrade = %v, want %v", got, want)
	}
}

// One sequence runs through good and suspect snapshots and the restore record,
// and a number in a broken metadata file is never handed out again.
func TestSeqSharedAcrossStore(t *testing.T) {
	s := newStore(t)
	g1 := writeSnap(t, s, testMeta(baseTime, 10), []byte("x"), Good)
	sus := writeSnap(t, s, withSuspect(testMeta(baseTime, 2)), []byte("x"), Suspect)
	if err := s.WriteRestoreRecord(RestoreRecord{Time: epoch, SnapshotID: g1.Meta.ID, Revision: 10}); err != nil {
		t.Fatal(err)
	}
	rec, err := s.ReadRestoreRecord()
	if err != nil {
		t.Fatal(err)
	}
	g2 := writeSnap(t, s, testMeta(epoch, 11), []byte("x"), Good)
	if got := []uint64{g1.Meta.Seq, sus.Meta.Seq, rec.Seq, g2.Meta.Seq}; !slices.Equal(got, []uint64{1, 2, 3, 4}) {
		t.Fatalf("seqs good, suspect, record, good = %v; want 1 2 3 4", got)
	}
	if !rec.After(&g1.Meta) || rec.After(&g2.Meta) {
		t.Errorf("record (seq %d) After g1 = %v, After g2 = %v; want true, false", rec.Seq, rec.After(&g1.Meta), rec.After(&g2.Meta))
	}

	// Metadata whose data file is gone is a problem, not a snapshot; its
	// number still counts.
	broken := testMeta(baseTime, 12)
	broken.ID, broken.Seq = "20261125T144530Z-r12", 100
	data, _ := json.Marshal(broken)
	if err := os.WriteFile(filepath.Join(s.Dir, snapshotsDir, broken.ID+metaSuffix), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if g3 := writeSnap(t, s, testMeta(baseTime, 13), []byte("x"), Good); g3.Meta.Seq != 101 {
		t.Fatalf("seq after a broken file with 100 = %d, want 101", g3.Meta.Seq)
	}

	// Write assigns the number: a caller's is ignored.
	m := testMeta(baseTime, 14)
	m.Seq = 7
	if g4 := writeSnap(t, s, m, []byte("x"), Good); g4.Meta.Seq != 102 {
		t.Fatalf("seq = %d, want 102 whatever the caller set", g4.Meta.Seq)
	}
}

func TestRestoreRecordAfter(t *testing.T) {
	tests := []struct {
		name string
		rec  RestoreRecord
		snap Metadata
		want bool
	}{
		{"numbered, restore later", RestoreRecord{Seq: 5, Time: epoch}, Metadata{Seq: 4, Time: baseTime}, true},
		{"numbered, snapshot later", RestoreRecord{Seq: 5, Time: nextYear}, Metadata{Seq: 6, Time: baseTime}, false},
		{"numbered record, legacy snapshot", RestoreRecord{Seq: 1, Time: epoch}, Metadata{Time: baseTime}, true},
		{"legacy record, numbered snapshot", RestoreRecord{Time: nextYear}, Metadata{Seq: 1, Time: epoch}, false},
		{"both legacy: times decide, as before", RestoreRecord{Time: baseTime.Add(time.Hour)}, Metadata{Time: baseTime}, true},
		{"both legacy, snapshot later", RestoreRecord{Time: baseTime}, Metadata{Time: baseTime.Add(time.Hour)}, false},
	}
	for _, tt := range tests {
		if got := tt.rec.After(&tt.snap); got != tt.want {
			t.Errorf("%s: After = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCompareIgnoresIDs(t *testing.T) {
	// The id carries the (wrong) time; only seq decides between numbered snapshots.
	older := Metadata{Seq: 1, ID: NewID(nextYear, 1), Time: nextYear}
	newer := Metadata{Seq: 2, ID: NewID(epoch, 2), Time: epoch}
	if Compare(&older, &newer) != -1 || Compare(&newer, &older) != 1 || Compare(&newer, &newer) != 0 {
		t.Fatalf("Compare does not follow seq: %d %d", Compare(&older, &newer), Compare(&newer, &older))
	}
}

func TestCheckTimes(t *testing.T) {
	now := baseTime.Add(3 * time.Hour)
	tests := []struct {
		name   string
		times  []time.Time // in the order taken
		now    time.Time
		ahead  []int       // indexes dated after now
		behind map[int]int // index → the older index it is dated before
	}{
		{"clock right", []time.Time{baseTime, baseTime.Add(time.Hour), baseTime.Add(2 * time.Hour)}, now, nil, nil},
		{"within the slack", []time.Time{baseTime, baseTime.Add(-time.Minute), now.Add(time.Minute)}, now, nil, nil},
		{"set back after a power cut", []time.Time{baseTime, baseTime.Add(time.Hour), epoch, epoch.Add(time.Hour)}, now, nil, map[int]int{2: 1, 3: 1}},
		{"set back, then NTP", []time.Time{baseTime, epoch, baseTime.Add(2 * time.Hour)}, now, nil, map[int]int{1: 0}},
		{"clock behind now", []time.Time{baseTime, baseTime.Add(time.Hour), epoch}, epoch.Add(time.Hour), []int{0, 1}, nil},
		{"jumped forward once", []time.Time{baseTime, nextYear, baseTime.Add(time.Hour)}, now, []int{1}, nil},
		{"repeated", []time.Time{epoch, epoch, epoch.Add(time.Hour), epoch}, epoch.Add(2 * time.Hour), nil, map[int]int{3: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snaps := seqSnaps(tt.times)
			slices.Reverse(snaps) // any order will do
			got := CheckTimes(snaps, tt.now)
			want := 0
			for _, i := range tt.ahead {
				want++
				if p := got[NewID(tt.times[i], int64(i+1))]; !p.Ahead {
					t.Errorf("snapshot %d (%s) not flagged ahead: %+v", i, tt.times[i], p)
				}
			}
			for i, older := range tt.behind {
				want++
				p := got[NewID(tt.times[i], int64(i+1))]
				if p.Before == nil || p.Before.Meta.ID != NewID(tt.times[older], int64(older+1)) {
					t.Errorf("snapshot %d (%s) = %+v, want dated before snapshot %d", i, tt.times[i], p, older)
				}
			}
			if len(got) != want {
				t.Errorf("%d flagged (%v), want %d", len(got), got, want)
			}
		})
	}
}
