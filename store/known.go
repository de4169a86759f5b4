package store

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Known is a snapshot the store knows of: a metadata file in snapshots/ or
// suspect/, whole or damaged. List leaves a damaged one out of its snapshots,
// but a verify or restore that passed over it in silence would hide lost
// writes, so they name it from this.
type Known struct {
	// Meta is the whole metadata of a good snapshot; of a damaged one only
	// its id, seq and time (Problem.Meta).
	Meta Metadata
	Snap *Snapshot // nil when damaged
	Err  error     // why the snapshot cannot be loaded; nil when whole
}

// Merge puts the damaged snapshots among problems in their place among
// snaps, newest first in the store's order (Compare). Problems that are not
// a snapshot (an orphan data file, a stray file) are left out.
func Merge(snaps []Snapshot, problems []Problem) []Known {
	out := make([]Known, 0, len(snaps))
	for i := range snaps {
		out = append(out, Known{Meta: snaps[i].Meta, Snap: &snaps[i]})
	}
	for _, p := range problems {
		if p.Meta != nil {
			out = append(out, Known{Meta: *p.Meta, Err: p.Err})
		}
	}
	slices.SortStableFunc(out, func(a, b Known) int { return Compare(&b.Meta, &a.Meta) })
	return out
}

// orderOf reads what places the damaged snapshot id in the store's order
// from its metadata file at path, leniently: the seq and time when they can
// be read, else 0 and the time in the id. It returns nil when id is no
// snapshot id, so the file is no snapshot at all.
func orderOf(path, id string) *Metadata {
	if !ValidID(id) {
		return nil
	}
	m := &Metadata{ID: id, Seq: readSeq(path)}
	if data, err := readLimited(path, maxMetadataSize); err == nil {
		var v struct {
			Time time.Time `json:"time"`
		}
		if json.Unmarshal(data, &v) == nil {
			m.Time = v.Time
		}
	}
	if m.Time.IsZero() {
		stamp, _, _ := strings.Cut(id, "-")
		m.Time, _ = time.Parse(idTimeLayout, stamp)
	}
	return m
}
