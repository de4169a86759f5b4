package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// journalRange is what list shows of one journal chain: the revisions it
// holds after the snapshot it follows.
type journalRange struct {
	ChainID       string     `json:"chainId"`
	SnapshotID    string     `json:"snapshotId"`
	StartRevision int64      `json:"startRevision"` // the snapshot's revision
	LastRevision  int64      `json:"lastRevision"`  // StartRevision when it holds none
	Revisions     int        `json:"revisions"`
	LastTime      *time.Time `json:"lastTime,omitempty"` // when etcd's last revision was seen
	Segments      int        `json:"segments"`
	Bytes         int64      `json:"bytes"`
	TornBytes     int64      `json:"tornBytes,omitempty"` // a torn tail, never replayed
	// Error says why the chain cannot be read, or where it breaks: a
	// restore replays none of it, or only the revisions before the break.
	Error string `json:"error,omitempty"`
}

// journalRanges reads every chain under root (journal.Verify reads each
// whole) and groups them by the snapshot they follow.
func journalRanges(root string) (map[string][]journalRange, error) {
	chains, err := journal.ListChains(root)
	if err != nil {
		return nil, err
	}
	out := map[string][]journalRange{}
	for _, c := range chains {
		r := journalRange{ChainID: c.ID, SnapshotID: c.Header.SnapshotID, StartRevision: c.Header.StartRev,
			LastRevision: c.Header.StartRev, Segments: c.Segments, Bytes: c.Bytes}
		if c.Err != nil {
			r.Error = c.Err.Error()
			out[r.SnapshotID] = append(out[r.SnapshotID], r)
			continue
		}
		sum, err := journal.Verify(root, c.ID)
		r.LastRevision, r.Revisions, r.TornBytes = sum.LastRev, sum.Revisions, sum.Torn.Bytes
		if sum.Revisions > 0 {
			t := sum.LastSeen.UTC()
			r.LastTime = &t
		}
		if err != nil {
			r.Error = err.Error()
		}
		out[r.SnapshotID] = append(out[r.SnapshotID], r)
	}
	return out, nil
}

// text is the line list prints under the snapshot the chain follows.
func (r *journalRange) text() string {
	head := "  journal " + r.ChainID + ": "
	if r.Error != "" && r.Revisions == 0 {
		return head + "unreadable: " + r.Error
	}
	s := fmt.Sprintf("no revisions yet (follows revision %d)", r.StartRevision)
	if r.Revisions > 0 {
		s = fmt.Sprintf("revisions %d..%d (%d revisions, up to %s)", r.StartRevision+1, r.LastRevision, r.Revisions, r.LastTime.Format("2006-01-02 15:04:05 UTC"))
	}
	if r.TornBytes > 0 {
		s += fmt.Sprintf(", a torn tail of %d bytes ignored", r.TornBytes)
	}
	if r.Error != "" {
		s += ", then broken: " + r.Error
	}
	return head + s
}

// unlisted returns the snapshot IDs that chains follow but snaps lacks
// (pruned, or another store's), sorted.
func unlisted(snaps []store.Snapshot, journals map[string][]journalRange) []string {
	var out []string
	for id := range journals {
		if !slices.ContainsFunc(snaps, func(s store.Snapshot) bool { return s.Meta.ID == id }) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
