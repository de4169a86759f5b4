package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// stagingName is where the service builds a new chain: a name ListChains
// skips, so that a restore never sees a chain before it is whole.
const stagingName = ".new"

// copyFlushBytes bounds what a copy buffers before it commits, and so the
// memory it takes.
const copyFlushBytes = 4 << 20

func (s *service) stagingDir() string { return filepath.Join(s.root, stagingName) }

// chainFor returns the chain to follow for snap: the one that follows it
// already, when it verifies, else a new one, put in place under the store
// lock.
func (s *service) chainFor(ctx context.Context, snap *store.Snapshot, etcd etcdState) (Header, error) {
	chains, err := ListChains(s.root)
	if err != nil {
		return Header{}, err
	}
	c, ok, bad := resumable(snap, chains, etcd, func(id string) error {
		_, err := Verify(s.root, id)
		return err
	})
	for _, err := range bad {
		logging.G(ctx).Warn("journal chain passed over; it is kept, and not continued", "err", err)
	}
	if ok {
		s.warnForeign(ctx, c.ID)
		return c.Header, nil
	}
	hdr, err := s.build(ctx, snap, etcd, nil)
	if err != nil {
		return hdr, err
	}
	unlock, err := s.st.Lock(ctx, s.o.LockTimeout, "journal (new chain)")
	if err != nil {
		s.discard(ctx, hdr.ChainID)
		return hdr, err
	}
	defer unlock()
	return hdr, s.place(ctx, hdr.ChainID)
}

// resumable picks the chain to go on with for snap: the newest one that
// follows it (its snapshot ID and start revision), of etcd's cluster and
// member, and verifies. It also returns why the newer ones that follow snap
// were passed over: copied in from another cluster, or broken.
func resumable(snap *store.Snapshot, chains []ChainInfo, etcd etcdState, verify func(id string) error) (ChainInfo, bool, []error) {
	var bad []error
	for i := len(chains) - 1; i >= 0; i-- {
		c := chains[i]
		if c.Err != nil || c.Header.SnapshotID != snap.Meta.ID || c.Header.StartRev != snap.Meta.Etcd.Revision {
			continue
		}
		if h := c.Header; etcd.cluster != 0 && (h.ClusterID != etcd.cluster || h.MemberID != etcd.member) {
			bad = append(bad, fmt.Errorf("chain %s follows cluster %x member %x, etcd is cluster %x member %x",
				c.ID, h.ClusterID, h.MemberID, etcd.cluster, etcd.member))
			continue
		}
		if err := verify(c.ID); err != nil {
			bad = append(bad, err)
			continue
		}
		return c, true, bad
	}
	return ChainInfo{}, false, bad
}

// warnForeign says which segments of other chains lie in chain id's
// directory: they are never read as part of it.
func (s *service) warnForeign(ctx context.Context, id string) {
	foreign, err := ForeignSegments(s.root, id)
	if err != nil {
		logging.G(ctx).Warn("journal chain's segments not listed", "chain", id, "err", err)
	}
	for _, f := range foreign {
		logging.G(ctx).Warn("journal: a segment of another chain in this chain's directory is ignored", "chain", id, "foreign", f.String())
	}
}

// rotate starts the chain of a newer snapshot from the one just stopped,
// under the store lock the rotation holds, then lets the lock go.
func (s *service) rotate(ctx context.Context, r *rotation) (Header, error) {
	defer r.unlock()
	hdr, err := s.build(ctx, r.snap, etcdState{cluster: r.prev.ClusterID, member: r.prev.MemberID}, &r.prev)
	if err != nil {
		return hdr, err
	}
	if err := s.place(ctx, hdr.ChainID); err != nil {
		return hdr, err
	}
	logging.G(ctx).Info("journal rotated to a newer snapshot", "snapshot", r.snap.Meta.ID,
		"chain", hdr.ChainID, "from", r.prev.ChainID)
	return hdr, nil
}

// build makes snap's chain in the staging dir and copies into it what src
// (the chain just followed; nil for none) holds after the snapshot's
// revision, durably; place then puts it in the journal's root.
func (s *service) build(ctx context.Context, snap *store.Snapshot, etcd etcdState, src *Header) (Header, error) {
	hdr, err := chainHeader(snap, etcd)
	if err != nil {
		return hdr, err
	}
	w, err := Create(s.stagingDir(), hdr, s.o.Writer)
	if err != nil {
		return hdr, fmt.Errorf("start a chain for snapshot %s: %w", snap.Meta.ID, err)
	}
	hdr = w.Header()
	copied := 0
	if src != nil && canCopy(*src, hdr) {
		copied, err = copyAfter(s.root, src.ChainID, w)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	s.count(w.Stats())
	if err != nil {
		s.discard(ctx, hdr.ChainID)
		return hdr, fmt.Errorf("start chain %s for snapshot %s: %w", hdr.ChainID, snap.Meta.ID, err)
	}
	logging.G(ctx).Info("journal chain started", "chain", hdr.ChainID, "snapshot", snap.Meta.ID,
		"revision", hdr.StartRev, "copied", copied)
	return hdr, nil
}

// chainHeader is the header of a new chain from snap. Its IDs are those the
// snapshot recorded, etcd's when it recorded none; a snapshot of another
// cluster or member than etcd, or ahead of etcd, has no chain: ErrGap.
func chainHeader(snap *store.Snapshot, etcd etcdState) (Header, error) {
	m := snap.Meta
	h := Header{ClusterID: etcd.cluster, MemberID: etcd.member, StartRev: m.Etcd.Revision, SnapshotID: m.ID}
	cluster, err := parseHexID(m.Etcd.ClusterID)
	if err != nil {
		return h, fmt.Errorf("snapshot %s cluster id: %w", m.ID, err)
	}
	member, err := parseHexID(m.Etcd.MemberID)
	if err != nil {
		return h, fmt.Errorf("snapshot %s member id: %w", m.ID, err)
	}
	if (cluster != 0 && cluster != etcd.cluster) || (member != 0 && member != etcd.member) {
		return h, fmt.Errorf("%w: the newest snapshot %s is of cluster %x member %x, etcd is cluster %x member %x",
			ErrGap, m.ID, cluster, member, etcd.cluster, etcd.member)
	}
	if etcd.rev > 0 && h.StartRev > etcd.rev {
		return h, fmt.Errorf("%w: etcd is at revision %d, behind the newest snapshot %s at %d: restored or reset",
			ErrGap, etcd.rev, m.ID, h.StartRev)
	}
	return h, nil
}

// parseHexID reads an ID as the store records it; "" is unknown, 0.
func parseHexID(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 16, 64)
}

// canCopy says whether the chain src followed, up to now, the history the
// new chain to follows: the same member, from a revision at or before it.
func canCopy(src, to Header) bool {
	return src.ClusterID == to.ClusterID && src.MemberID == to.MemberID && src.StartRev <= to.StartRev
}

// copyAfter appends to w every record of chain id that follows w's start
// revision: the revisions after it and the leases they use. It returns how
// many revisions it copied.
func copyAfter(root, id string, w *Writer) (int, error) {
	r, err := OpenChain(root, id)
	if err != nil {
		return 0, err
	}
	from := w.Header().StartRev
	n, pending := 0, 0
	for {
		after := r.LastRev()
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if after < from {
			continue
		}
		if err := w.Append(rec); err != nil {
			return n, err
		}
		if rev, ok := rec.(*Revision); ok {
			n++
			for _, e := range rev.Events {
				pending += len(e.Key) + len(e.Value)
			}
		}
		if pending >= copyFlushBytes {
			if err := w.Flush(); err != nil {
				return n, err
			}
			pending = 0
		}
	}
}

// place moves a built chain from the staging dir into the root, durably.
// The caller holds the store lock.
func (s *service) place(ctx context.Context, id string) error {
	from, to := filepath.Join(s.stagingDir(), id), filepath.Join(s.root, id)
	_, err := os.Lstat(to)
	if err == nil {
		err = fmt.Errorf("%s exists", to)
	} else if errors.Is(err, fs.ErrNotExist) {
		err = os.Rename(from, to)
	}
	if err == nil {
		err = hostfs.SyncDir(s.root)
	}
	if err != nil {
		s.discard(ctx, id)
		return fmt.Errorf("place chain %s: %w", id, err)
	}
	return nil
}

// discard removes a staged chain that is not to be used.
func (s *service) discard(ctx context.Context, id string) {
	if err := os.RemoveAll(filepath.Join(s.stagingDir(), id)); err != nil {
		logging.G(ctx).Warn("journal: staged chain not removed", "chain", id, "err", err)
	}
}

// retire removes the chains of older snapshots once the chain of snap
// holds everything etcd has: a restore starts from the newest snapshot.
// Chains of snap are kept, and so are chains whose header cannot be read.
// It tries the store lock once, and again at the next call.
func (s *service) retire(ctx context.Context, snap *store.Snapshot, durable int64) {
	if s.kept == snap.Meta.ID {
		return
	}
	chains, err := ListChains(s.root)
	if err != nil {
		logging.G(ctx).Warn("journal chains not listed", "err", err)
		return
	}
	old := staleChains(snap, chains)
	if len(old) == 0 {
		s.kept = snap.Meta.ID
		return
	}
	// The older chains go once the current one holds durably everything
	// they hold after the snapshot (which holds the rest): under a steady
	// load the follower is never idle, so "caught up with etcd" would
	// never come.
	if s.needFor != snap.Meta.ID {
		s.need, s.needFor = lastRevOf(s.root, snap, old), snap.Meta.ID
	}
	if max(durable, snap.Meta.Etcd.Revision) < s.need {
		return
	}
	unlock, err := s.st.Lock(ctx, 0, "journal (retention)")
	if err != nil {
		logging.G(ctx).Debug("journal retention waits for the store lock", "err", err)
		return
	}
	defer unlock()
	for _, c := range old {
		if err := RemoveChain(s.root, c.ID); err != nil {
			logging.G(ctx).Warn("journal chain not removed", "chain", c.ID, "err", err)
			return
		}
		logging.G(ctx).Info("journal chain removed: the newest snapshot and its chain cover it", "chain", c.ID,
			"snapshot", c.Header.SnapshotID, "newest", snap.Meta.ID)
	}
	s.kept = snap.Meta.ID
}

// lastRevOf is the newest revision any of the chains of snap's history
// holds (started at or below it); a chain that cannot be read counts with
// its start revision (it holds nothing usable). Chains started above snap's
// revision are of a history etcd left (restored from an older snapshot,
// reset), and chains of another cluster than snap's were copied in or
// belong to a cluster etcd no longer is: the newest snapshot supersedes
// them whatever they hold.
func lastRevOf(root string, snap *store.Snapshot, chains []ChainInfo) int64 {
	var last int64
	cluster, _ := parseHexID(snap.Meta.Etcd.ClusterID)
	for _, c := range chains {
		if c.Header.StartRev > snap.Meta.Etcd.Revision || (cluster != 0 && c.Header.ClusterID != cluster) {
			continue
		}
		rev := c.Header.StartRev
		if sum, err := Verify(root, c.ID); err == nil {
			rev = sum.LastRev
		}
		last = max(last, rev)
	}
	return last
}

// staleChains are the chains of a snapshot other than snap.
func staleChains(snap *store.Snapshot, chains []ChainInfo) []ChainInfo {
	var out []ChainInfo
	for _, c := range chains {
		if c.Err == nil && c.Header.SnapshotID != snap.Meta.ID {
			out = append(out, c)
		}
	}
	return out
}
