package store

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The store's one order of snapshots is its sequence, not the clock. A board
// without a battery clock boots hours to decades behind after a power cut, and
// a clock can jump ahead; ordering by Metadata.Time would then restore an older
// snapshot and prune the newest. Every write (and restore record) takes the
// next number under the store's lock, so the order is the order things
// happened in. Snapshots written before sequence numbers existed have Seq 0
// and keep the order they always had (time, then id); every numbered
// snapshot is newer than all of them.

// ClockSlack is how far a snapshot's time may be off before CheckTimes calls it
// implausible: NTP steps a clock by seconds, a clock without a battery is off
// by years.
const ClockSlack = 5 * time.Minute

// Compare orders a and b by when they were taken in the store's history: -1
// when a is older, 1 when a is newer. Seq decides; between two unnumbered
// (legacy) snapshots, or two the store never wrote with one number, time and
// then id decide, as they did before sequence numbers.
func Compare(a, b *Metadata) int {
	if c := cmp.Compare(a.Seq, b.Seq); c != 0 {
		return c
	}
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// SortNewestFirst sorts snaps newest first in the store's order.
func SortNewestFirst(snaps []Snapshot) {
	slices.SortStableFunc(snaps, func(a, b Snapshot) int { return Compare(&b.Meta, &a.Meta) })
}

// sortNewestFirst is the internal name List and Apply use.
func sortNewestFirst(snaps []Snapshot) { SortNewestFirst(snaps) }

// nextSeq returns the number of the next event in the store's history: one
// more than any snapshot, good or suspect, and the restore record hold. It
// reads every metadata file leniently, including ones List reports as
// problems, so that a number is not handed out twice. Call it under the lock.
func (s *Store) nextSeq() (uint64, error) {
	var top uint64
	for _, k := range []Kind{Good, Suspect} {
		dir, err := s.kindDir(k)
		if err != nil {
			return 0, err
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return 0, err
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, tempPrefix) || !strings.HasSuffix(name, metaSuffix) {
				continue
			}
			top = max(top, readSeq(filepath.Join(dir, name)))
		}
	}
	top = max(top, readSeq(filepath.Join(s.Dir, restoreRecordName)))
	if top == math.MaxUint64 {
		return 0, errors.New("sequence numbers exhausted (a metadata file holds the largest one)")
	}
	return top + 1, nil
}

// readSeq returns the seq field of a JSON file, or 0 when it cannot be read:
// such a file is no snapshot that restore or retention would ever use.
func readSeq(path string) uint64 {
	data, err := readLimited(path, maxMetadataSize)
	if err != nil {
		return 0
	}
	var v struct {
		Seq uint64 `json:"seq"`
	}
	if json.Unmarshal(data, &v) != nil {
		return 0
	}
	return v.Seq
}

// TimeProblem says why a snapshot's time is not to be trusted.
type TimeProblem struct {
	// Ahead: the snapshot is dated after now. Either the clock was ahead when
	// it was taken or the clock is behind now.
	Ahead bool
	// Before, when set, is an older snapshot (in store order) dated after this
	// one: the clock was behind when this one was taken.
	Before *Snapshot
}

// CheckTimes returns, by id, the snapshots whose time is implausible by more
// than ClockSlack. snaps may be in any order and of both kinds. A snapshot
// dated after now does not count as the baseline for later ones, so a single
// future-dated snapshot does not make every later one look wrong.
func CheckTimes(snaps []Snapshot, now time.Time) map[string]TimeProblem {
	sorted := slices.Clone(snaps)
	SortNewestFirst(sorted)
	slices.Reverse(sorted)
	problems := map[string]TimeProblem{}
	var latest *Snapshot // latest-dated of the older, plausibly dated snapshots
	for i := range sorted {
		snap := &sorted[i]
		t := snap.Meta.Time
		var p TimeProblem
		p.Ahead = t.After(now.Add(ClockSlack))
		if latest != nil && t.Before(latest.Meta.Time.Add(-ClockSlack)) {
			p.Before = latest
		}
		if p.Ahead || p.Before != nil {
			problems[snap.Meta.ID] = p
		}
		if !p.Ahead && (latest == nil || t.After(latest.Meta.Time)) {
			latest = snap
		}
	}
	return problems
}
