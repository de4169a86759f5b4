package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// fastFollow follows quickly, for tests.
func fastFollow(e *testEtcd, dir string) FollowOptions {
	return FollowOptions{Endpoint: e.clientURL, Dir: dir, ProgressInterval: 100 * time.Millisecond,
		Writer: WriterOptions{Interval: 50 * time.Millisecond}}
}

// TestFollowAndReplay follows a real etcd through puts, overwrites,
// deletes, txns and leases into a chain, with the follower stopped in the
// middle of a stream of writes and resumed, then replays the chain onto a
// second etcd restored from the snapshot the chain follows: every key's
// value, create and mod revision, version and lease, and the revision,
// must come back as they were.
func TestFollowAndReplay(t *testing.T) {
	tmp := t.TempDir()
	a := startEtcd(t, "a", filepath.Join(tmp, "a"), "")
	ctx := context.Background()

	// Before the snapshot: keys under a long and a short lease; the short
	// one is kept alive here, and must not expire during the replay.
	mustPut(t, a.cli, "/pre/a", "1")
	mustPut(t, a.cli, "/pre/b", "1")
	lSnap := mustGrant(t, a.cli, 3600)
	mustPut(t, a.cli, "/pre/leased", "1", clientv3.WithLease(lSnap))
	lShort := mustGrant(t, a.cli, 3)
	kctx, stopKeepAlive := context.WithCancel(ctx)
	defer stopKeepAlive()
	if _, err := a.cli.KeepAlive(kctx, lShort); err != nil {
		t.Fatal(err)
	}
	mustPut(t, a.cli, "/pre/short", "1", clientv3.WithLease(lShort))
	snap := filepath.Join(tmp, "snap.db")
	snapRev := a.snapshot(t, snap)

	dir := filepath.Join(tmp, "journal")
	o := fastFollow(a, dir)
	o.StartRev, o.SnapshotID = snapRev, "snap-1"
	f := NewFollower(o)
	stop := runFollower(f)

	// Phase 1, followed.
	for i := range 20 {
		mustPut(t, a.cli, fmt.Sprintf("/k/%d", i), "v0")
	}
	for i := range 3 {
		mustPut(t, a.cli, "/k/1", fmt.Sprintf("v%d", i+1))
	}
	if _, err := a.cli.Delete(ctx, "/k/2"); err != nil {
		t.Fatal(err)
	}
	mustTxn(t, a.cli, clientv3.OpPut("/t/a", "x"), clientv3.OpPut("/t/b", "y"), clientv3.OpDelete("/k/3"))
	l1 := mustGrant(t, a.cli, 3600)
	mustPut(t, a.cli, "/l/1", "1", clientv3.WithLease(l1))
	mustTxn(t, a.cli, clientv3.OpPut("/l/2", "2", clientv3.WithLease(l1)), clientv3.OpPut("/pre/a", "2", clientv3.WithLease(lSnap)))
	// 200 keys under one lease, revoked: one revision of 200 deletes.
	l2 := mustGrant(t, a.cli, 600)
	for i := 0; i < 200; i += 100 {
		var ops []clientv3.Op
		for j := i; j < i+100; j++ {
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("/rev/%03d", j), "x", clientv3.WithLease(l2)))
		}
		mustTxn(t, a.cli, ops...)
	}
	if _, err := a.cli.Revoke(ctx, l2); err != nil {
		t.Fatal(err)
	}
	l3 := mustGrant(t, a.cli, 3600)
	mustPut(t, a.cli, "/l/3", "1", clientv3.WithLease(l3))
	mustPut(t, a.cli, "/l/3", "2") // detached from its lease
	if _, err := a.cli.Delete(ctx, "/k/1", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	waitDurable(t, f, a.rev(t))
	if st := f.Stats(); !st.Running || st.LagRevs != 0 || st.Lag != 0 || st.StartRev != snapRev || st.Writer.Syncs == 0 {
		t.Errorf("stats when caught up: %+v", st)
	}

	// Phase 2: the follower stops in the middle of a stream of writes.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l5 := mustGrant(t, a.cli, 3600)
		for i := range 100 {
			mustPut(t, a.cli, fmt.Sprintf("/s/%d", i%30), fmt.Sprint(i), clientv3.WithLease(l5))
		}
	}()
	time.Sleep(30 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatalf("follower stop: %v", err)
	}
	wg.Wait()
	// A lease that is gone before the follower learns it.
	lGone := mustGrant(t, a.cli, 3600)
	mustPut(t, a.cli, "/gone", "1", clientv3.WithLease(lGone))
	if _, err := a.cli.Revoke(ctx, lGone); err != nil {
		t.Fatal(err)
	}
	chain := f.Stats().ChainID
	stopped := f.Stats().DurableRev
	if f.Stats().Running {
		t.Error("follower still running after stop")
	}

	// Phase 3: resumed on the same chain.
	o.Resume = chain
	f2 := NewFollower(o)
	stop = runFollower(f2)
	mustPut(t, a.cli, "/k/after", "1")
	mustTxn(t, a.cli, clientv3.OpPut("/t/a", "x2"), clientv3.OpDelete("/t/b"))
	final := a.rev(t)
	waitDurable(t, f2, final)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	sum, err := Verify(dir, chain)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chain %s: revisions %d..%d, follower stopped at %d, %d leases, largest revision %d events",
		chain, snapRev+1, sum.LastRev, stopped, len(sum.Leases), sum.MaxEvents)
	if sum.LastRev != final || sum.Revisions != int(final-snapRev) {
		t.Fatalf("chain ends at %d with %d revisions, etcd at %d", sum.LastRev, sum.Revisions, final)
	}
	if l := sum.Leases[int64(lGone)]; l.TTL != -1 || l.GrantedTTL != 0 {
		t.Errorf("lease revoked before it was learned: %+v", l)
	}
	if l := sum.Leases[int64(l1)]; l.GrantedTTL != 3600 || l.TTL <= 0 {
		t.Errorf("lease learned alive: %+v", l)
	}

	t.Run("through etcd", func(t *testing.T) { replayThroughEtcd(t, a, tmp, snap, dir, chain, snapRev, final) })
	t.Run("into the database", func(t *testing.T) { applyIntoDB(t, a, tmp, snap, dir, chain, snapRev, final) })
}

// replayThroughEtcd: a second etcd restored from the snapshot, the chain
// replayed onto it one txn per revision.
func replayThroughEtcd(t *testing.T, a *testEtcd, tmp, snap, dir, chain string, snapRev, final int64) {
	ctx := context.Background()
	peer := freeURL(t)
	restoreSnapshot(t, snap, filepath.Join(tmp, "b"), "b", peer)
	b := startEtcd(t, "b", filepath.Join(tmp, "b"), peer, "--max-txn-ops", "1000")
	start := time.Now()
	res, err := Replay(ctx, b.cli, dir, chain, ReplayOptions{MaxTxnOps: 1000,
		afterTxn: func() { time.Sleep(40 * time.Millisecond) }}) // longer than lShort's TTL
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("replayed %+v in %v", res, time.Since(start))
	if res.FromRev != snapRev || res.LastRev != final || res.Revisions != int(final-snapRev) || res.SnapshotID != "snap-1" || res.LastSeen.IsZero() {
		t.Errorf("result %+v", res)
	}
	if time.Since(start) < 4*time.Second {
		t.Errorf("replay took %v, shorter than the short lease's TTL: the test proves nothing", time.Since(start))
	}
	sameAsOriginal(t, a, b, final)

	// A second replay onto the replayed etcd: refused, nothing applied.
	if _, err := Replay(ctx, b.cli, dir, chain, ReplayOptions{}); err == nil {
		t.Error("replay onto an etcd past the chain's start accepted")
	}
	res, err = Replay(ctx, b.cli, dir, chain, ReplayOptions{Within: true})
	if err != nil || res.Revisions != 0 {
		t.Errorf("replay within a chain that is all applied: %+v %v", res, err)
	}
}

// applyIntoDB: the chain written into a copy of the snapshot's database,
// which etcdutl restores and a second etcd serves.
func applyIntoDB(t *testing.T, a *testEtcd, tmp, snap, dir, chain string, snapRev, final int64) {
	ctx := context.Background()
	db := filepath.Join(tmp, "applied.db")
	copyFile(t, snap, db)
	res, err := ApplyToDB(ctx, dir, chain, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("applied %+v", res)
	if res.FromRev != snapRev || res.LastRev != final || res.Revisions != int(final-snapRev) || res.SnapshotID != "snap-1" || res.LastSeen.IsZero() || res.Leases == 0 {
		t.Errorf("result %+v", res)
	}
	// Applied twice: the database is past the chain's start, refused.
	again := filepath.Join(tmp, "again.db")
	copyFile(t, db, again)
	if _, err := ApplyToDB(ctx, dir, chain, again); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at revision %d, the chain follows revision %d", final, snapRev)) {
		t.Errorf("a second apply: %v", err)
	}
	peer := freeURL(t)
	restoreSnapshot(t, db, filepath.Join(tmp, "c"), "c", peer, "--skip-hash-check")
	c := startEtcd(t, "c", filepath.Join(tmp, "c"), peer)
	sameAsOriginal(t, a, c, final)
}

// sameAsOriginal checks that b holds a's history up to rev: the revision,
// every key's value, create and mod revision, version and lease, the
// leases alive, and etcd's own hash of every revision up to rev.
func sameAsOriginal(t *testing.T, a, b *testEtcd, rev int64) {
	t.Helper()
	ctx := context.Background()
	if got := b.rev(t); got != rev || a.rev(t) != rev {
		t.Errorf("revision %d after the replay, the original etcd is at %d, the chain ended at %d", got, a.rev(t), rev)
	}
	if d := diffKeys(a.keys(t), b.keys(t)); len(d) > 0 {
		t.Errorf("keys differ:\n%v", d)
	}
	for _, k := range b.keys(t) {
		if k.leaseID == 0 {
			continue
		}
		ttl, err := b.cli.TimeToLive(ctx, clientv3.LeaseID(k.leaseID))
		if err != nil || ttl.TTL <= 0 {
			t.Errorf("lease %x of a replayed key: %+v %v", k.leaseID, ttl, err)
		}
	}
	ha, err := a.cli.HashKV(ctx, a.clientURL, rev)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := b.cli.HashKV(ctx, b.clientURL, rev)
	if err != nil {
		t.Fatal(err)
	}
	if ha.Hash != hb.Hash {
		t.Errorf("etcd's hash of revisions up to %d: %x here, %x on the original", rev, hb.Hash, ha.Hash)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFollowerGapOnCompaction: etcd compacted past the chain while the
// follower was down, or past a new chain's start: ErrGap.
func TestFollowerGapOnCompaction(t *testing.T) {
	tmp := t.TempDir()
	a := startEtcd(t, "a", filepath.Join(tmp, "a"), "")
	for i := range 5 {
		mustPut(t, a.cli, fmt.Sprintf("/k/%d", i), "v")
	}
	dir := filepath.Join(tmp, "journal")
	o := fastFollow(a, dir)
	o.StartRev = a.rev(t)
	f := NewFollower(o)
	stop := runFollower(f)
	for i := range 5 {
		mustPut(t, a.cli, fmt.Sprintf("/k/%d", i), "w")
	}
	waitDurable(t, f, a.rev(t))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		mustPut(t, a.cli, fmt.Sprintf("/k/%d", i), "x")
	}
	if _, err := a.cli.Compact(context.Background(), a.rev(t)); err != nil {
		t.Fatal(err)
	}
	o.Resume = f.Stats().ChainID
	wantGap(t, o, "resume past a compaction")
	o.Resume, o.StartRev = "", o.StartRev+2
	wantGap(t, o, "new chain from a compacted revision")
}

// wantGap runs a follower that must stop at once with ErrGap.
func wantGap(t *testing.T, o FollowOptions, what string) {
	t.Helper()
	err := NewFollower(o).Run(context.Background())
	if !errors.Is(err, ErrGap) {
		t.Errorf("%s: %v, want ErrGap", what, err)
	}
	t.Logf("%s: %v", what, err)
}

// TestFollowerRefusesAnotherHistory: a chain is never continued on another
// cluster, nor on an etcd restored from an older snapshot (same cluster
// and member IDs), whether it is behind the chain or has passed it again.
func TestFollowerRefusesAnotherHistory(t *testing.T) {
	tmp := t.TempDir()
	a := startEtcd(t, "a", filepath.Join(tmp, "a"), "")
	mustPut(t, a.cli, "/k", "0")
	old := filepath.Join(tmp, "old.db")
	oldRev := a.snapshot(t, old)
	dir := filepath.Join(tmp, "journal")
	o := fastFollow(a, dir)
	o.StartRev = oldRev
	f := NewFollower(o)
	stop := runFollower(f)
	for i := range 10 {
		mustPut(t, a.cli, "/k", fmt.Sprint(i))
	}
	waitDurable(t, f, a.rev(t))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	o.Resume = f.Stats().ChainID

	other := startEtcd(t, "other", filepath.Join(tmp, "other"), "")
	for range 20 {
		mustPut(t, other.cli, "/k", "o")
	}
	oo := o
	oo.Endpoint = other.clientURL
	wantGap(t, oo, "another cluster")

	a.stop(t)
	restoreSnapshot(t, old, filepath.Join(tmp, "a2"), "a", a.peerURL)
	a2 := startEtcd(t, "a", filepath.Join(tmp, "a2"), a.peerURL)
	o.Endpoint = a2.clientURL
	wantGap(t, o, "etcd restored from an older snapshot")
	for i := range 15 {
		mustPut(t, a2.cli, "/k", fmt.Sprint("new", i))
	}
	wantGap(t, o, "etcd restored from an older snapshot and written past the chain")
}

// TestFollowerSurvivesEtcdRestart: etcd restarted (as kubelet does) under
// a running follower: the watch resumes and no revision is lost.
func TestFollowerSurvivesEtcdRestart(t *testing.T) {
	tmp := t.TempDir()
	a := startEtcd(t, "a", filepath.Join(tmp, "a"), "")
	dir := filepath.Join(tmp, "journal")
	o := fastFollow(a, dir)
	o.StartRev = a.rev(t)
	f := NewFollower(o)
	stop := runFollower(f)
	defer stop()
	for i := range 10 {
		mustPut(t, a.cli, fmt.Sprintf("/k/%d", i), "1")
	}
	a.stop(t)
	a.start(t)
	for i := range 10 {
		mustPut(t, a.cli, fmt.Sprintf("/k/%d", i), "2")
	}
	waitDurable(t, f, a.rev(t))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if sum, err := Verify(dir, f.Stats().ChainID); err != nil || sum.Revisions != 20 {
		t.Errorf("chain after an etcd restart: %+v %v", sum, err)
	}
}
