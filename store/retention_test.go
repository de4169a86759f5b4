package store

import (
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// snapsAt builds snapshots (metadata only) at the given times.
func snapsAt(times []time.Time) []Snapshot {
	snaps := make([]Snapshot, len(times))
	for i, t := range times {
		snaps[i] = Snapshot{Meta: Metadata{ID: NewID(t, int64(i+1)), Time: t}}
	}
	return snaps
}

// every returns n times, newest first, step apart, ending at end.
func every(end time.Time, step time.Duration, n int) []time.Time {
	times := make([]time.Time, n)
	for i := range times {
		times[i] = end.Add(-time.Duration(i) * step)
	}
	return times
}

func keptTimes(t *testing.T, decisions []Decision) []time.Time {
	t.Helper()
	var kept []time.Time
	for _, d := range decisions {
		if d.Keep != (len(d.Reasons) > 0) {
			t.Errorf("%s: Keep %v with reasons %v", d.Snapshot.Meta.ID, d.Keep, d.Reasons)
		}
		if d.Keep {
			kept = append(kept, d.Snapshot.Meta.Time)
		}
	}
	return kept
}

func assertKept(t *testing.T, decisions []Decision, want []time.Time) {
	t.Helper()
	got := keptTimes(t, decisions)
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("kept %d snapshots:\n%v\nwant %d:\n%v", len(got), got, len(want), want)
	}
}

func TestApplyDefaultPolicy40Days(t *testing.T) {
	end := time.Date(2026, 11, 25, 14, 45, 0, 0, time.UTC)
	snaps := snapsAt(every(end, 15*time.Minute, 40*96))
	decisions := Apply(snaps, DefaultPolicy())
	if len(decisions) != len(snaps) {
		t.Fatalf("%d decisions for %d snapshots", len(decisions), len(snaps))
	}

	// Expected, built from the calendar rather than from buckets: the 10
	// newest (14:45 back to 12:30 today), then 23:45 of each of the 30
	// days before today.
	var want []time.Time
	for i := range 10 {
		want = append(want, end.Add(-time.Duration(i)*15*time.Minute))
	}
	for d := 1; d <= 30; d++ {
		want = append(want, time.Date(2026, 11, 25-d, 23, 45, 0, 0, time.UTC))
	}
	if len(want) != 40 {
		t.Fatalf("test bug: %d expected", len(want))
	}
	assertKept(t, decisions, want)

	first := decisions[0].Reasons
	if !slices.Equal(first, []string{"last", "daily 2026-11-25"}) {
		t.Errorf("newest snapshot reasons = %v", first)
	}
	if r := decisions[10*4+3].Reasons; len(r) != 0 {
		t.Errorf("an unkept snapshot has reasons %v", r)
	}
}

func TestApplyBuckets(t *testing.T) {
	// 2026-11-25 is a Wednesday in ISO week 48.
	end := time.Date(2026, 11, 25, 14, 45, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name  string
		times []time.Time
		p     Policy
		want  []time.Time
	}{
		{"hourly", every(end, 15*time.Minute, 40), Policy{Hourly: 3}, []time.Time{
			end, time.Date(2026, 11, 25, 13, 45, 0, 0, time.UTC), time.Date(2026, 11, 25, 12, 45, 0, 0, time.UTC),
		}},
		{"weekly", every(end, day, 70), Policy{Weekly: 4}, []time.Time{
			end, // Wednesday of week 48, then the Sundays ending weeks 47, 46, 45
			time.Date(2026, 11, 22, 14, 45, 0, 0, time.UTC),
			time.Date(2026, 11, 15, 14, 45, 0, 0, time.UTC),
			time.Date(2026, 11, 8, 14, 45, 0, 0, time.UTC),
		}},
		{"monthly", every(end, day, 100), Policy{Monthly: 3}, []time.Time{
			end,
			time.Date(2026, 10, 31, 14, 45, 0, 0, time.UTC),
			time.Date(2026, 9, 30, 14, 45, 0, 0, time.UTC),
		}},
		{"monthly beyond the data keeps what exists", every(end, day, 70), Policy{Monthly: 12}, []time.Time{
			end, // the data starts on 2026-09-17
			time.Date(2026, 10, 31, 14, 45, 0, 0, time.UTC),
			time.Date(2026, 9, 30, 14, 45, 0, 0, time.UTC),
		}},
		{"last only", every(end, time.Hour, 10), Policy{Last: 3}, every(end, time.Hour, 3)},
		{"last and hourly overlap", every(end, 30*time.Minute, 6), Policy{Last: 2, Hourly: 2}, []time.Time{
			end, end.Add(-30 * time.Minute), end.Add(-60 * time.Minute),
		}},
		{"single snapshot", []time.Time{end}, DefaultPolicy(), []time.Time{end}},
		{"all-zero policy keeps the newest", every(end, time.Hour, 5), Policy{}, []time.Time{end}},
		{"negative counts act as zero", every(end, time.Hour, 5), Policy{Last: -1, Daily: -1}, []time.Time{end}},
		{"no snapshots", nil, DefaultPolicy(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertKept(t, Apply(snapsAt(tt.times), tt.p), tt.want)
		})
	}
}

func TestApplyNewestReason(t *testing.T) {
	end := time.Date(2026, 11, 25, 14, 45, 0, 0, time.UTC)
	d := Apply(snapsAt(every(end, time.Hour, 3)), Policy{})
	if !slices.Equal(d[0].Reasons, []string{"newest"}) || d[1].Keep || d[2].Keep {
		t.Fatalf("decisions = %+v", d)
	}
}

func TestApplyUnsortedInput(t *testing.T) {
	end := time.Date(2026, 11, 25, 14, 45, 0, 0, time.UTC)
	sorted := snapsAt(every(end, 15*time.Minute, 5*96))
	shuffled := slices.Clone(sorted)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	p := Policy{Last: 3, Hourly: 5, Daily: 3}
	want, got := Apply(sorted, p), Apply(shuffled, p)
	if len(got) != len(want) {
		t.Fatalf("%d decisions, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Snapshot.Meta.ID != want[i].Snapshot.Meta.ID || got[i].Keep != want[i].Keep || !slices.Equal(got[i].Reasons, want[i].Reasons) {
			t.Fatalf("decision %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if shuffled[0].Meta.ID == sorted[0].Meta.ID && shuffled[1].Meta.ID == sorted[1].Meta.ID {
		t.Fatal("test bug: shuffle left the order unchanged")
	}
}

func TestPrune(t *testing.T) {
	s := newStore(t)
	var snaps []*Snapshot
	for i := range 5 {
		snaps = append(snaps, writeSnap(t, s, testMeta(baseTime.Add(time.Duration(i)*time.Hour), int64(i+1)), []byte("x"), Good))
	}
	suspect := writeSnap(t, s, withSuspect(testMeta(baseTime.Add(-time.Hour), 1)), []byte("x"), Suspect)
	if err := s.WriteImageArchive(testDigest, func(w io.Writer) error { _, err := io.WriteString(w, "tar"); return err }); err != nil {
		t.Fatal(err)
	}

	p := Policy{Last: 2}
	decisions, err := s.Prune(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(decisions) != 5 {
		t.Fatalf("dry run: %d decisions, want 5", len(decisions))
	}
	if listed, _, _ := s.List(); len(listed) != 5 {
		t.Fatalf("dry run removed snapshots: %d left", len(listed))
	}

	if _, err := s.Prune(p, false); err != nil {
		t.Fatalf("Prune: %v", err)
	}
	listed, problems, _ := s.List()
	if want := []string{snaps[4].Meta.ID, snaps[3].Meta.ID}; !slices.Equal(ids(listed), want) || len(problems) != 0 {
		t.Fatalf("after Prune List = %v (problems %v), want %v", ids(listed), problems, want)
	}
	if sus, _, _ := s.ListSuspect(); len(sus) != 1 || sus[0].Meta.ID != suspect.Meta.ID {
		t.Fatalf("Prune touched suspect/: %v", ids(sus))
	}
	if !s.HasImageArchive(testDigest) {
		t.Fatal("Prune touched images/")
	}
	if _, err := s.Prune(Policy{Daily: -1}, false); err == nil {
		t.Fatal("Prune accepted a negative policy")
	}
}

// seqSnaps builds snapshots (metadata only) taken in the order of times, with
// the sequence numbers the store would have given them.
func seqSnaps(times []time.Time) []Snapshot {
	snaps := snapsAt(times)
	for i := range snaps {
		snaps[i].Meta.Seq = uint64(i + 1)
	}
	return snaps
}

func keptIDs(decisions []Decision) []string {
	var kept []string
	for _, d := range decisions {
		if d.Keep {
			kept = append(kept, d.Snapshot.Meta.ID)
		}
	}
	return kept
}

// Retention over the timelines of a clock set back, jumped forward and
// repeated: indexes are in the order the snapshots were taken.
func TestApplyClockTimelines(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name  string
		times []time.Time
		p     Policy
		keep  []int // newest first
	}{
		// The case: the second backup carries 1970.
		{"set back: keep-last 1 keeps the newest", []time.Time{baseTime, epoch}, Policy{Last: 1}, []int{1}},
		{"set back: all-zero policy keeps the newest", []time.Time{baseTime, epoch}, Policy{}, []int{1}},
		{"jumped forward, then right: the newer wins", []time.Time{baseTime, nextYear, baseTime.Add(time.Hour)}, Policy{Last: 1}, []int{2}},
		{"repeated time", []time.Time{epoch, epoch, epoch}, Policy{Last: 2}, []int{2, 1}},
		// Three days of dailies, then a boot at 1970 with three backups: the
		// newest 1970 one stands for its bucket, the dailies stay.
		{"set back: dailies survive", []time.Time{baseTime.Add(-2 * day), baseTime.Add(-day), baseTime, epoch, epoch.Add(time.Hour), epoch.Add(2 * time.Hour)},
			Policy{Daily: 4}, []int{5, 2, 1, 0}},
		// NTP answers again: a day comes round a second time in store order,
		// and is one bucket, not two.
		{"a bucket that comes round again", []time.Time{baseTime, baseTime.Add(time.Hour), epoch, baseTime.Add(2 * time.Hour)},
			Policy{Daily: 2}, []int{3, 2}},
		// A snapshot dated next year takes one daily slot at its place in the
		// order, so only a snapshot older than it loses its slot.
		{"jumped forward: only older ones pay", []time.Time{baseTime.Add(-2 * day), baseTime.Add(-day), nextYear, baseTime, baseTime.Add(day)},
			Policy{Daily: 3}, []int{4, 3, 2}},
		{"every boot starts at 1970, hourly", []time.Time{epoch, epoch.Add(time.Hour), epoch, epoch.Add(time.Hour), epoch},
			Policy{Hourly: 5}, []int{4, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snaps := seqSnaps(tt.times)
			var want []string
			for _, i := range tt.keep {
				want = append(want, snaps[i].Meta.ID)
			}
			d := Apply(snaps, tt.p)
			if got := keptIDs(d); !slices.Equal(got, want) {
				t.Fatalf("kept %v, want %v\n%+v", got, want, d)
			}
			if d[0].Snapshot.Meta.ID != snaps[len(snaps)-1].Meta.ID || !d[0].Keep {
				t.Fatalf("the newest in store order is not first and kept: %+v", d[0])
			}
		})
	}
}

// What happens to a snapshot depends only on it and on newer ones, so no
// older snapshot's time, however wrong, is ever why a newer one is dropped.
func TestApplyOlderTimesNeverDropNewer(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	policies := []Policy{DefaultPolicy(), {Last: 1}, {Last: 3, Hourly: 4, Daily: 2, Weekly: 2, Monthly: 2}, {Hourly: 6}}
	for trial := range 300 {
		// Mostly 15-minute steps; now and then the clock jumps back to 1970,
		// jumps a year ahead, or repeats the last time.
		var times []time.Time
		at := baseTime
		for range 5 + rng.IntN(60) {
			switch r := rng.IntN(20); {
			case r == 0:
				at = epoch.Add(time.Duration(rng.IntN(48)) * time.Hour)
			case r == 1:
				at = at.AddDate(1, 0, 0)
			case r == 2:
			default:
				at = at.Add(time.Duration(1+rng.IntN(8)) * 15 * time.Minute)
			}
			times = append(times, at)
		}
		snaps := seqSnaps(times)
		p := policies[trial%len(policies)]
		full := Apply(snaps, p)
		k := 1 + rng.IntN(len(snaps))
		// The newest k alone, and the newest k with every older time scrambled.
		scrambled := slices.Clone(snaps)
		for i := range len(snaps) - k {
			scrambled[i].Meta.Time = epoch.Add(time.Duration(rng.Int64N(int64(60 * 365 * 24 * time.Hour))))
		}
		for _, other := range [][]Decision{Apply(snaps[len(snaps)-k:], p), Apply(scrambled, p)[:k]} {
			for i := range k {
				if full[i].Snapshot.Meta.ID != other[i].Snapshot.Meta.ID || full[i].Keep != other[i].Keep {
					t.Fatalf("trial %d, policy %+v: decision %d for %s is %v with every snapshot, %v without the older ones or with their times changed\ntimes %v",
						trial, p, i, full[i].Snapshot.Meta.ID, full[i].Keep, other[i].Keep, times)
				}
			}
		}
		if !full[0].Keep || full[0].Snapshot.Meta.Seq != uint64(len(snaps)) {
			t.Fatalf("trial %d: newest in store order not kept first: %+v", trial, full[0])
		}
		if p.Last > 0 {
			for i := range min(p.Last, len(full)) {
				if !full[i].Keep {
					t.Fatalf("trial %d: %d-th newest dropped under keep-last %d", trial, i, p.Last)
				}
			}
		}
	}
}
