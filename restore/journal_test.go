package restore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/store/storetest"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// chainFor picks only a chain that follows the snapshot being restored, of
// its cluster and readable end to end, and says why it passes over one that
// follows it but cannot be used: never a silent snapshot-only restore.
func TestChainFor(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	seen := func(int64) time.Time { return at }
	newRun := func(t *testing.T) (*run, *store.Snapshot) {
		st, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		storetest.PutAs(t, st, at, store.NewIdentity(0xabc, 0xdef), 100, store.Good)
		snap, err := st.Newest()
		if err != nil {
			t.Fatal(err)
		}
		return &run{st: st}, snap
	}
	header := func(snap *store.Snapshot, cluster uint64) journal.Header {
		return journal.Header{ChainID: journal.NewChainID(snap.Meta.Etcd.Revision, at), ClusterID: cluster, MemberID: 0xdef, StartRev: snap.Meta.Etcd.Revision, SnapshotID: snap.Meta.ID, Created: at}
	}
	t.Run("follows", func(t *testing.T) {
		r, snap := newRun(t)
		if _, err := testbed.WriteJournalChain(r.st.JournalDir(), header(snap, 0xabc), 150, seen); err != nil {
			t.Fatal(err)
		}
		sum, ok, why := r.chainFor(snap)
		if !ok || why != "" || sum.LastRev != 150 || sum.Revisions != 50 {
			t.Fatalf("chainFor = %v %q, last %d, %d revisions; want the chain to 150", ok, why, sum.LastRev, sum.Revisions)
		}
	})
	t.Run("another snapshot's chain", func(t *testing.T) {
		r, snap := newRun(t)
		h := header(snap, 0xabc)
		h.SnapshotID, h.StartRev, h.ChainID = "20261130T100000Z-r90", 90, journal.NewChainID(90, at)
		if _, err := testbed.WriteJournalChain(r.st.JournalDir(), h, 150, seen); err != nil {
			t.Fatal(err)
		}
		if _, ok, why := r.chainFor(snap); ok || why != "" {
			t.Fatalf("chainFor = %v %q: a chain of another snapshot neither applies nor is news", ok, why)
		}
	})
	t.Run("another cluster", func(t *testing.T) {
		r, snap := newRun(t)
		if _, err := testbed.WriteJournalChain(r.st.JournalDir(), header(snap, 0x999), 150, seen); err != nil {
			t.Fatal(err)
		}
		if _, ok, why := r.chainFor(snap); ok || !strings.Contains(why, "cluster 999") {
			t.Fatalf("chainFor = %v %q: want it refused, naming the other cluster", ok, why)
		}
	})
	t.Run("another cluster's chain beside ours", func(t *testing.T) {
		r, snap := newRun(t)
		if _, err := testbed.WriteJournalChain(r.st.JournalDir(), header(snap, 0xabc), 150, seen); err != nil {
			t.Fatal(err)
		}
		h := header(snap, 0x999)
		h.Created = at.Add(time.Second)
		h.ChainID = journal.NewChainID(h.StartRev, h.Created)
		if _, err := testbed.WriteJournalChain(r.st.JournalDir(), h, 900, seen); err != nil {
			t.Fatal(err)
		}
		sum, ok, why := r.chainFor(snap)
		if !ok || sum.LastRev != 150 || !strings.Contains(why, h.ChainID) || !strings.Contains(why, "cluster 999") {
			t.Fatalf("chainFor = %v %q, last %d; want ours to 150, the other cluster's named", ok, why, sum.LastRev)
		}
	})
	t.Run("a segment of another chain in ours", func(t *testing.T) {
		r, snap := newRun(t)
		id, err := testbed.WriteJournalChain(r.st.JournalDir(), header(snap, 0xabc), 150, seen)
		if err != nil {
			t.Fatal(err)
		}
		h := header(snap, 0x999)
		h.Created = at.Add(time.Second)
		h.ChainID = journal.NewChainID(h.StartRev, h.Created)
		other := t.TempDir()
		if _, err := testbed.WriteJournalChain(other, h, 900, seen); err != nil {
			t.Fatal(err)
		}
		segs, _ := filepath.Glob(filepath.Join(other, h.ChainID, "*.seg"))
		b, err := os.ReadFile(segs[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.st.JournalDir(), id, "0000000000000070.seg"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		sum, ok, why := r.chainFor(snap)
		if !ok || sum.LastRev != 150 || !strings.Contains(why, "0000000000000070.seg") || !strings.Contains(why, h.ChainID) {
			t.Fatalf("chainFor = %v %q, last %d; want ours to 150, the planted segment named", ok, why, sum.LastRev)
		}
	})
	t.Run("broken in the middle", func(t *testing.T) {
		r, snap := newRun(t)
		id, err := testbed.WriteJournalChain(r.st.JournalDir(), header(snap, 0xabc), 5000, seen)
		if err != nil {
			t.Fatal(err)
		}
		segs, _ := filepath.Glob(filepath.Join(r.st.JournalDir(), id, "*.seg"))
		if len(segs) < 3 {
			t.Fatalf("want at least 3 segments, got %d", len(segs))
		}
		if err := os.Remove(segs[1]); err != nil {
			t.Fatal(err)
		}
		if _, ok, why := r.chainFor(snap); ok || !strings.Contains(why, id) {
			t.Fatalf("chainFor = %v %q: want a chain with a missing segment refused and named", ok, why)
		}
	})
}
