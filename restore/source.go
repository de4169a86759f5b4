package restore

import (
	"context"
	"errors"
	"fmt"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Source supplies a restore's candidates, newest first: the backup dir, or
// the off-host copies when it holds none. Each candidate is fetched into the
// store before it is tried, and one that proves bad is discarded again.
type Source interface {
	// Candidates lists the snapshots to try, newest first.
	Candidates(ctx context.Context) ([]store.Metadata, error)
	// Fetch puts candidate m in the store, ready to restore. A copy that is
	// not what it should be wraps store.ErrCorrupt.
	Fetch(ctx context.Context, m *store.Metadata) (*store.Snapshot, error)
	// Discard takes back a fetched snapshot that proved bad.
	Discard(ctx context.Context, snap *store.Snapshot)
	// words name the source in the restore's messages.
	words() words
}

// words are how a restore's messages name a source and its snapshots.
type words struct {
	where  string // where none was found: "in DIR", "in DIR nor on TARGET"
	one    string // one snapshot: "snapshot", "off-host copy"
	all    string // all of them: "snapshots", "off-host copies on TARGET"
	tag    string // after a skipped snapshot's id
	target string // the off-host target; "" for the backup dir
}

// RemoteSource is where restore finds snapshots when the backup dir has none:
// the off-host copies (offhost.Source).
type RemoteSource interface {
	String() string
	// Snapshots lists the copies, newest first in the store's order.
	Snapshots(ctx context.Context) ([]store.Metadata, error)
	// Import copies one into the store (under its lock). A copy that is not
	// what it should be wraps store.ErrCorrupt.
	Import(ctx context.Context, st *store.Store, m *store.Metadata) (*store.Snapshot, error)
}

// storeSource is the backup dir: every snapshot it knows of, whole or
// damaged, or the one named.
type storeSource struct {
	st      *store.Store
	id      string // a snapshot named on the command line; "" for the good ones
	snaps   map[string]*store.Snapshot
	damaged map[string]error // snapshots listed although they cannot be loaded, with why
}

// Candidates lists the good snapshots and, in their place among them, the
// damaged ones: Fetch fails those, so a restore names each one it passes
// over instead of skipping it in silence.
func (s *storeSource) Candidates(context.Context) ([]store.Metadata, error) {
	var known []store.Known
	if s.id != "" {
		snap, err := s.st.Get(s.id)
		if err != nil {
			return nil, fmt.Errorf("snapshot %q: %w", s.id, err)
		}
		known = []store.Known{{Meta: snap.Meta, Snap: snap}}
	} else {
		snaps, problems, err := s.st.List()
		if err != nil {
			return nil, err
		}
		known = store.Merge(snaps, problems)
	}
	s.snaps, s.damaged = map[string]*store.Snapshot{}, map[string]error{}
	metas := make([]store.Metadata, len(known))
	for i, k := range known {
		metas[i] = k.Meta
		if k.Snap == nil {
			s.damaged[k.Meta.ID] = damagedError(k.Err)
			continue
		}
		s.snaps[k.Meta.ID] = k.Snap
	}
	return metas, nil
}

// damagedError is why a damaged snapshot cannot be restored, as a fault of
// the snapshot (store.ErrCorrupt), so that firstUsable passes over it.
func damagedError(err error) error {
	if errors.Is(err, store.ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrCorrupt, err)
}

// Fetch finds the listed snapshot: it is in the store already, or damaged.
func (s *storeSource) Fetch(_ context.Context, m *store.Metadata) (*store.Snapshot, error) {
	if err := s.damaged[m.ID]; err != nil {
		return nil, err
	}
	return s.snaps[m.ID], nil
}

// Discard keeps the backup dir's own snapshots: only what a restore fetched
// is its to remove.
func (s *storeSource) Discard(context.Context, *store.Snapshot) {}

func (s *storeSource) words() words {
	return words{where: "in " + s.st.Dir, one: "snapshot", all: "snapshots"}
}

// offhostSource is the off-host copies, for a node whose backup dir holds no
// good snapshot (a rebuilt node): each is fetched into the store (checked
// against the node's own metadata) before it is tried, and removed again
// when bad.
type offhostSource struct {
	remote  RemoteSource
	st      *store.Store
	dataDir string
}

func (s *offhostSource) Candidates(ctx context.Context) ([]store.Metadata, error) {
	metas, err := s.remote.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("no snapshot in %s, and the off-host copies cannot be listed: %w; the data dir %s is left empty", s.st.Dir, err, s.dataDir)
	}
	if len(metas) > 0 {
		logging.G(ctx).Info("no snapshot in the backup dir; restoring from the off-host copies", "target", s.remote.String(), "copies", len(metas))
	}
	return metas, nil
}

func (s *offhostSource) Fetch(ctx context.Context, m *store.Metadata) (*store.Snapshot, error) {
	return s.remote.Import(ctx, s.st, m)
}

// Discard removes a fetched copy that proved bad: kept, it would be the
// newest local snapshot and hide the older copies.
func (s *offhostSource) Discard(ctx context.Context, snap *store.Snapshot) {
	if err := s.st.Remove(snap); err != nil {
		logging.G(ctx).Warn("remove the bad fetched snapshot", "id", snap.Meta.ID, "err", err)
	}
}

func (s *offhostSource) words() words {
	target := s.remote.String()
	return words{
		where: "in " + s.st.Dir + " nor on " + target, one: "off-host copy",
		all: "off-host copies on " + target, tag: " (off-host)", target: target,
	}
}
