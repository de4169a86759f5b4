package journal

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/store/storetest"
)

func snapAt(id string, rev int64, cluster, member string) *store.Snapshot {
	return &store.Snapshot{Meta: store.Metadata{ID: id, Etcd: store.EtcdStatus{Revision: rev,
		Identity: store.Identity{ClusterID: cluster, MemberID: member}}}}
}

func chainOf(id, snapID string, start int64, err error) ChainInfo {
	return ChainInfo{ID: id, Header: Header{ChainID: id, ClusterID: 1, MemberID: 2, SnapshotID: snapID, StartRev: start}, Err: err}
}

// ofCluster gives c etcd's IDs: chainOf's are the test etcd's (1, 2).
func ofCluster(c ChainInfo, cluster, member uint64) ChainInfo {
	c.Header.ClusterID, c.Header.MemberID = cluster, member
	return c
}

// The chain to go on with is the newest one of the newest snapshot, of
// etcd's cluster and member, that verifies; a chain of another snapshot or
// start, of another cluster (copied in), or one that cannot be read, is
// never continued.
func TestResumable(t *testing.T) {
	snap := snapAt("s2", 200, "", "")
	broken := errors.New("broken")
	for _, tc := range []struct {
		name    string
		chains  []ChainInfo
		corrupt []string // chains that do not verify
		want    string   // "" for a new chain
		bad     int
	}{
		{"none", nil, nil, "", 0},
		{"another snapshot's", []ChainInfo{chainOf("a", "s1", 100, nil)}, nil, "", 0},
		{"same snapshot id, another start", []ChainInfo{chainOf("a", "s2", 199, nil)}, nil, "", 0},
		{"header unreadable", []ChainInfo{chainOf("a", "s2", 200, broken)}, nil, "", 0},
		{"the one", []ChainInfo{chainOf("a", "s1", 100, nil), chainOf("b", "s2", 200, nil)}, nil, "b", 0},
		{"the newest of two", []ChainInfo{chainOf("b", "s2", 200, nil), chainOf("c", "s2", 200, nil)}, nil, "c", 0},
		{"the newest does not verify", []ChainInfo{chainOf("b", "s2", 200, nil), chainOf("c", "s2", 200, nil)}, []string{"c"}, "b", 1},
		{"none verifies", []ChainInfo{chainOf("b", "s2", 200, nil)}, []string{"b"}, "", 1},
		{"the newest is another cluster's", []ChainInfo{chainOf("b", "s2", 200, nil), ofCluster(chainOf("c", "s2", 200, nil), 9, 2)}, nil, "b", 1},
		{"the newest is another member's", []ChainInfo{chainOf("b", "s2", 200, nil), ofCluster(chainOf("c", "s2", 200, nil), 1, 9)}, nil, "b", 1},
		{"only another cluster's", []ChainInfo{ofCluster(chainOf("c", "s2", 200, nil), 9, 9)}, nil, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var verified []string
			got, ok, bad := resumable(snap, tc.chains, etcdState{cluster: 1, member: 2}, func(id string) error {
				verified = append(verified, id)
				if slices.Contains(tc.corrupt, id) {
					return fmt.Errorf("chain %s: %w", id, ErrCorrupt)
				}
				return nil
			})
			if got.ID != tc.want || ok != (tc.want != "") || len(bad) != tc.bad {
				t.Errorf("resumable = %q %v %v, want %q with %d bad (verified %v)", got.ID, ok, bad, tc.want, tc.bad, verified)
			}
		})
	}
}

// A new chain takes the snapshot's IDs, etcd's when the snapshot recorded
// none; a snapshot of another member, or ahead of etcd, gets no chain.
func TestChainHeader(t *testing.T) {
	etcd := etcdState{cluster: 0xc1, member: 0xa1, rev: 500}
	for _, tc := range []struct {
		name string
		snap *store.Snapshot
		etcd etcdState
		gap  bool
		err  bool
	}{
		{"IDs recorded", snapAt("s", 400, "c1", "a1"), etcd, false, false},
		{"IDs unknown (an old snapshot)", snapAt("s", 400, "", ""), etcd, false, false},
		{"at etcd's revision", snapAt("s", 500, "c1", "a1"), etcd, false, false},
		{"etcd's revision unknown (a rotation)", snapAt("s", 900, "c1", "a1"), etcdState{cluster: 0xc1, member: 0xa1}, false, false},
		{"another cluster", snapAt("s", 400, "c2", "a1"), etcd, true, false},
		{"another member", snapAt("s", 400, "c1", "a2"), etcd, true, false},
		{"ahead of etcd", snapAt("s", 501, "c1", "a1"), etcd, true, false},
		{"an ID that is not hex", snapAt("s", 400, "xyz", "a1"), etcd, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := chainHeader(tc.snap, tc.etcd)
			if errors.Is(err, ErrGap) != tc.gap || (err != nil) != (tc.gap || tc.err) {
				t.Fatalf("chainHeader: %v, want gap %v error %v", err, tc.gap, tc.err)
			}
			if err != nil {
				return
			}
			want := Header{ClusterID: 0xc1, MemberID: 0xa1, StartRev: tc.snap.Meta.Etcd.Revision, SnapshotID: "s"}
			if h != want {
				t.Errorf("header %+v, want %+v", h, want)
			}
		})
	}
}

func TestStaleChains(t *testing.T) {
	chains := []ChainInfo{chainOf("a", "s1", 100, nil), chainOf("b", "s2", 200, nil),
		chainOf("c", "", 0, errors.New("unreadable")), chainOf("d", "s0", 50, nil), chainOf("e", "s2", 200, nil)}
	var got []string
	for _, c := range staleChains(snapAt("s2", 200, "", ""), chains) {
		got = append(got, c.ID)
	}
	if !slices.Equal(got, []string{"a", "d"}) {
		t.Errorf("stale chains %v, want [a d]: the newest snapshot's and unreadable ones are kept", got)
	}
}

// copyAfter copies what follows the new chain's start: the revisions after
// it and the leases learned for them, not the leases learned before.
func TestCopyAfter(t *testing.T) {
	for _, tc := range []struct {
		name      string
		start     int64
		wantFirst int64 // 0: nothing copied
		leases    []int64
	}{
		{"from the middle", 110, 111, []int64{2}},
		{"from the old chain's start", 100, 101, []int64{1, 2}},
		{"at the old chain's end", 120, 0, nil},
		{"past the old chain (it had not reached the snapshot)", 130, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			old := newTestChain(t, root, WriterOptions{})
			if err := old.Append(&Lease{ID: 1, GrantedTTL: 60, TTL: 60}); err != nil {
				t.Fatal(err)
			}
			appendRevs(t, old, 101, 110, 40)
			if err := old.Append(&Lease{ID: 2, GrantedTTL: 60, TTL: 59}); err != nil {
				t.Fatal(err)
			}
			appendRevs(t, old, 111, 120, 40)
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
			staging := filepath.Join(root, stagingName)
			w, err := Create(staging, Header{ClusterID: 1, MemberID: 2, StartRev: tc.start, SnapshotID: "s2"},
				WriterOptions{Sync: (&syncCounter{}).sync})
			if err != nil {
				t.Fatal(err)
			}
			n, err := copyAfter(root, old.Header().ChainID, w)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			sum, err := Verify(staging, w.Header().ChainID)
			if err != nil {
				t.Fatal(err)
			}
			wantN := 0
			if tc.wantFirst > 0 {
				wantN = int(120 - tc.wantFirst + 1)
			}
			last := max(tc.start, 120)
			if tc.wantFirst == 0 {
				last = tc.start
			}
			if n != wantN || sum.Revisions != wantN || sum.LastRev != last {
				t.Errorf("copied %d, chain has %d revisions up to %d; want %d up to %d", n, sum.Revisions, sum.LastRev, wantN, last)
			}
			var leases []int64
			for id := range sum.Leases {
				leases = append(leases, id)
			}
			slices.Sort(leases)
			if !slices.Equal(leases, tc.leases) {
				t.Errorf("leases %v, want %v", leases, tc.leases)
			}
			if chains, _ := ListChains(root); len(chains) != 1 {
				t.Errorf("the staged chain is listed: %+v", chains)
			}
		})
	}
}

// A rotation waits for a newer snapshot and for the store lock: a backup
// that still holds it is waited out.
func TestRotationNeedsNewerSnapshotAndFreeLock(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	storetest.Put(t, st, time.Now().Add(-time.Hour), 100, store.Good)
	cur, err := st.Newest()
	if err != nil {
		t.Fatal(err)
	}
	s := newService(st, nil, ServeOptions{})
	if r := s.rotation(ctx, cur); r != nil {
		t.Fatal("rotation without a newer snapshot")
	}
	storetest.Put(t, st, time.Now(), 150, store.Good)
	unlock, err := st.Lock(ctx, 0, "test backup")
	if err != nil {
		t.Fatal(err)
	}
	if r := s.rotation(ctx, cur); r != nil {
		t.Fatal("rotation while a backup holds the store lock")
	}
	unlock()
	r := s.rotation(ctx, cur)
	if r == nil || r.snap.Meta.Etcd.Revision != 150 {
		t.Fatalf("rotation %+v, want one to the snapshot at 150", r)
	}
	if _, err := st.Lock(ctx, 0, "test"); !errors.Is(err, store.ErrLockTimeout) {
		t.Errorf("the rotation does not hold the store lock: %v", err)
	}
	r.unlock()
}

// The older chains go once the current chain holds durably what they hold
// after the newest snapshot: a chain of snapshot s1 (start 100) up to 150
// needs revision 150; a chain of another history (started above the
// snapshot, or of another cluster) counts for nothing.
func TestLastRevOfOlderChains(t *testing.T) {
	root := t.TempDir()
	id := writeTestChain(t, root, 150, WriterOptions{})
	chains, err := ListChains(root)
	if err != nil || len(chains) != 1 || chains[0].ID != id {
		t.Fatalf("ListChains = %v, %v", chains, err)
	}
	if got := lastRevOf(root, snapAt("s2", 120, "", ""), chains); got != 150 {
		t.Errorf("need after a snapshot at 120 = %d, want the old chain's 150", got)
	}
	if got := lastRevOf(root, snapAt("s2", 90, "", ""), chains); got != 0 {
		t.Errorf("need after a snapshot at 90, below the chain's start = %d, want 0 (another history)", got)
	}
	if got := lastRevOf(root, snapAt("s2", 120, "1", "2"), chains); got != 150 {
		t.Errorf("need after a snapshot of the chain's cluster = %d, want 150", got)
	}
	if got := lastRevOf(root, snapAt("s2", 120, "9", "2"), chains); got != 0 {
		t.Errorf("need after a snapshot of another cluster = %d, want 0 (a chain copied in counts for nothing)", got)
	}
	chains[0].ID = "missing"
	if got := lastRevOf(root, snapAt("s2", 120, "", ""), chains); got != 100 {
		t.Errorf("need with an unreadable chain = %d, want its start 100", got)
	}
}
