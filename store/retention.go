package store

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Policy says how many snapshots to keep, like restic's --keep-* flags:
// Last keeps the newest N; Hourly, Daily, Weekly and Monthly keep the newest
// snapshot of each of the N newest hours, UTC days, ISO weeks and months
// that have one. The newest snapshot is always kept, whatever the policy.
//
// "Newest" is the store's order (Compare), not the clock: only the buckets
// look at Metadata.Time. Whether a snapshot is kept depends on it and on newer
// snapshots alone, so an older snapshot with a wrong time (dated in the future,
// or after a newer one) can never be why a newer one is dropped.
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly int
}

// DefaultPolicy keeps the last 10 snapshots and one a day for 31 days.
func DefaultPolicy() Policy {
	return Policy{Last: 10, Daily: 31}
}

// Validate refuses negative counts, which restic reads as "unlimited" but
// which here would more likely be a typo.
func (p Policy) Validate() error {
	if p.Last < 0 || p.Hourly < 0 || p.Daily < 0 || p.Weekly < 0 || p.Monthly < 0 {
		return fmt.Errorf("retention policy %+v has a negative count", p)
	}
	return nil
}

// Decision is what the policy says about one snapshot, and why it is kept
// (e.g. "last", "daily 2026-11-25").
type Decision struct {
	Snapshot Snapshot
	Keep     bool
	Reasons  []string
}

// bucketKind is one of the time-bucketed rules.
type bucketKind struct {
	name   string
	count  int
	bucket func(time.Time) string
}

func bucketKinds(p Policy) []*bucketKind {
	return []*bucketKind{
		{"hourly", p.Hourly, func(t time.Time) string { return t.Format("2006-01-02 15") }},
		{"daily", p.Daily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{"weekly", p.Weekly, func(t time.Time) string {
			y, w := t.ISOWeek()
			return fmt.Sprintf("%04d-W%02d", y, w)
		}},
		{"monthly", p.Monthly, func(t time.Time) string { return t.Format("2006-01") }},
	}
}

// Apply decides, for each snapshot, whether p keeps it. It does not depend
// on the order of snaps; decisions come newest first in the store's order.
// Negative counts are treated as 0. Buckets are in UTC so the result does not
// depend on the machine's time zone.
func Apply(snaps []Snapshot, p Policy) []Decision {
	sorted := slices.Clone(snaps)
	sortNewestFirst(sorted)
	kinds := bucketKinds(p)
	// A set, not the previous bucket: a clock set back makes times go
	// backwards in store order, so a bucket can come round again.
	seen := make([]map[string]bool, len(kinds))
	for k := range seen {
		seen[k] = map[string]bool{}
	}
	lastCount := p.Last
	decisions := make([]Decision, 0, len(sorted))
	for i, snap := range sorted {
		var reasons []string
		if lastCount > 0 {
			reasons = append(reasons, "last")
			lastCount--
		}
		t := snap.Meta.Time.UTC()
		for k, bk := range kinds {
			if bk.count <= 0 {
				continue
			}
			// Walking newest to oldest, the first snapshot seen in a
			// bucket is its newest one.
			if b := bk.bucket(t); !seen[k][b] {
				reasons = append(reasons, bk.name+" "+b)
				seen[k][b] = true
				bk.count--
			}
		}
		if i == 0 && len(reasons) == 0 {
			// Deleting every snapshot would leave nothing to restore.
			reasons = append(reasons, "newest")
		}
		decisions = append(decisions, Decision{Snapshot: snap, Keep: len(reasons) > 0, Reasons: reasons})
	}
	return decisions
}

// Prune applies p to the good snapshots and, unless dryRun, removes those it
// does not keep. Suspect snapshots, image archives and files that List
// reports as problems are never touched. A failed removal does not stop the
// others; the decisions are returned with the joined errors.
func (s *Store) Prune(p Policy, dryRun bool) ([]Decision, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	snaps, _, err := s.List()
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	decisions := Apply(snaps, p)
	if dryRun {
		return decisions, nil
	}
	var errs []error
	for _, d := range decisions {
		if d.Keep {
			continue
		}
		if err := s.Remove(&d.Snapshot); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return decisions, fmt.Errorf("prune: %w", err)
	}
	return decisions, nil
}
