package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// syncBuffer is a log that the service writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// served is one Serve running in the background.
type served struct {
	st    *store.Store
	state string
	log   *syncBuffer
	stop  func() error
}

// fastServe are options that make the service quick, for tests.
func fastServe(endpoint, statePath string) ServeOptions {
	return ServeOptions{Interval: 50 * time.Millisecond, StatePath: statePath, MaxBackoff: 100 * time.Millisecond,
		LockTimeout: 5 * time.Second, Endpoint: endpoint, SnapshotRetry: time.Hour}
}

// serve runs Serve on st until stop, which returns Serve's result.
func serve(t *testing.T, st *store.Store, o ServeOptions) *served {
	t.Helper()
	return serveManifest(t, st, nil, o)
}

// serveManifest is serve with etcd reached through the manifest m.
func serveManifest(t *testing.T, st *store.Store, m *manifest.Etcd, o ServeOptions) *served {
	t.Helper()
	log := &syncBuffer{}
	ctx, cancel := context.WithCancel(logging.WithLogger(context.Background(),
		slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, st, m, o) }()
	var once sync.Once
	var err error
	s := &served{st: st, state: o.StatePath, log: log, stop: func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}}
	t.Cleanup(func() { s.stop() })
	return s
}

// waitState waits until the published state satisfies ok.
func (s *served) waitState(t *testing.T, what string, ok func(State) bool) State {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := ReadState(s.state)
		if err == nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: state %+v (%v)\nlog:\n%s", what, st, err, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serviceBed is a real etcd, an empty store beside it and quick options
// reaching that etcd, for the service's tests.
func serviceBed(t *testing.T) (*testEtcd, *store.Store, ServeOptions) {
	t.Helper()
	tmp := t.TempDir()
	a := startEtcd(t, "a", filepath.Join(tmp, "a"), "")
	st, err := store.Open(filepath.Join(tmp, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	return a, st, fastServe(a.clientURL, filepath.Join(tmp, "run", "journal.json"))
}

// waitOneChain waits until the chains of older snapshots are removed.
func (s *served) waitOneChain(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for chains, _ := ListChains(s.st.JournalDir()); len(chains) != 1; chains, _ = ListChains(s.st.JournalDir()) {
		if time.Now().After(deadline) {
			t.Fatalf("old chains not removed: %+v\n%s", chains, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storeSnapshot saves a snapshot of e into st the way a backup stores it:
// its revision and IDs are the snapshot's own.
func storeSnapshot(t *testing.T, st *store.Store, e *testEtcd, reason string) *store.Snapshot {
	t.Helper()
	path := filepath.Join(t.TempDir(), "snap.db")
	return storeSnapshotFile(t, st, e, path, e.snapshot(t, path), reason)
}

// storeSnapshotFile stores the snapshot of e that was saved at path at
// revision rev.
func storeSnapshotFile(t *testing.T, st *store.Store, e *testEtcd, path string, rev int64, reason string) *store.Snapshot {
	t.Helper()
	status, err := e.cli.Status(context.Background(), e.clientURL)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := &store.Metadata{
		Time: time.Now(), Reason: reason, Node: "node1", Source: store.SourceEtcd,
		Image: store.Image{Reference: "registry.k8s.io/etcd:3.6.16-0"},
		Etcd: store.EtcdStatus{Identity: store.NewIdentity(status.Header.ClusterId, status.Header.MemberId),
			Version: status.Version, Revision: rev, TotalKeys: 1, TotalSize: status.DbSize},
		Member: store.Member{Name: e.name, InitialCluster: e.name + "=" + e.peerURL,
			InitialAdvertisePeerURLs: []string{e.peerURL}, DataDir: "/var/lib/etcd"},
	}
	unlock, err := st.Lock(context.Background(), 10*time.Second, "test backup")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	snap, err := st.Write(context.Background(), m, f, store.Good)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func putKeys(t *testing.T, cli *clientv3.Client, prefix string, n int) {
	t.Helper()
	for i := range n {
		mustPut(t, cli, fmt.Sprintf("%s/%d", prefix, i%7), fmt.Sprint(i))
	}
}

// onlyChain returns the journal's one chain, verified.
func onlyChain(t *testing.T, st *store.Store) Summary {
	t.Helper()
	chains, err := ListChains(st.JournalDir())
	if err != nil || len(chains) != 1 {
		t.Fatalf("chains %+v (%v), want exactly one", chains, err)
	}
	sum, err := Verify(st.JournalDir(), chains[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// revisionSeen returns when the follower saw revision rev of chain id.
func revisionSeen(t *testing.T, root, id string, rev int64) time.Time {
	t.Helper()
	r, err := OpenChain(root, id)
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("revision %d not in chain %s: %v", rev, id, err)
		}
		if r, ok := rec.(*Revision); ok && r.Rev == rev {
			return r.Seen
		}
	}
}

// TestServeFollowsAndRotates: the service follows a real etcd from the
// newest snapshot into a chain; a newer snapshot rotates it to a new chain
// that starts at that snapshot's revision, holds every revision after it
// (those the old chain had, copied, and those written during and after the
// rotation), and the old chain is removed; SIGTERM stops it cleanly.
func TestServeFollowsAndRotates(t *testing.T) {
	a, st, o := serviceBed(t)
	putKeys(t, a.cli, "/pre", 20)
	s1 := storeSnapshot(t, st, a, store.ReasonCron)
	var asked atomic.Int32
	o.Snapshot = func(context.Context) error { asked.Add(1); return nil }
	o.Writer.SegmentSize = 64 << 10 // several segments, copied too
	sv := serve(t, st, o)

	putKeys(t, a.cli, "/k", 300)
	rev := a.rev(t)
	first := sv.waitState(t, "following the first snapshot", func(s State) bool {
		return s.Running && s.DurableRev == rev && s.SnapshotID == s1.Meta.ID
	})
	if first.StartRev != s1.Meta.Etcd.Revision || first.SeenRev != rev || first.LastSync.IsZero() || first.Bytes == 0 || first.Syncs == 0 || first.LastError != "" {
		t.Errorf("state while following: %+v", first)
	}
	if sum := onlyChain(t, st); sum.LastRev != rev || sum.Header.StartRev != s1.Meta.Etcd.Revision {
		t.Errorf("first chain %+v, want revisions %d..%d", sum.Header, s1.Meta.Etcd.Revision+1, rev)
	}

	// A newer snapshot, then revisions past it that the old chain holds
	// before the store shows the snapshot: the rotation copies them.
	snapPath := filepath.Join(t.TempDir(), "s2.db")
	r2 := a.snapshot(t, snapPath)
	putKeys(t, a.cli, "/after", 100)
	sv.waitState(t, "the old chain past the new snapshot", func(s State) bool { return s.DurableRev == a.rev(t) })
	seen := revisionSeen(t, st.JournalDir(), first.ChainID, r2+1)
	// Writes go on during the rotation.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			if _, err := a.cli.Put(context.Background(), fmt.Sprintf("/during/%d", i%11), fmt.Sprint(i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	s2 := storeSnapshotFile(t, st, a, snapPath, r2, store.ReasonCron)
	wg.Wait()
	final := a.rev(t)
	second := sv.waitState(t, "following the second snapshot", func(s State) bool {
		return s.Running && s.SnapshotID == s2.Meta.ID && s.DurableRev == final
	})
	if second.ChainID == first.ChainID || second.StartRev != r2 {
		t.Errorf("after the rotation: %+v, want a new chain from %d", second, r2)
	}
	sv.waitOneChain(t)
	sum := onlyChain(t, st)
	if sum.Header.ChainID != second.ChainID || sum.Header.StartRev != r2 || sum.Header.SnapshotID != s2.Meta.ID ||
		sum.LastRev != final || sum.Revisions != int(final-r2) {
		t.Errorf("new chain %+v: %d revisions up to %d; want %d..%d", sum.Header, sum.Revisions, sum.LastRev, r2+1, final)
	}
	if got := revisionSeen(t, st.JournalDir(), sum.Header.ChainID, r2+1); !got.Equal(seen) {
		t.Errorf("revision %d seen at %v in the new chain, %v in the old: not copied", r2+1, got, seen)
	}
	if asked.Load() != 0 {
		t.Errorf("a snapshot was asked for %d times without a gap", asked.Load())
	}

	// What the follower has seen is in the chain after a clean stop.
	putKeys(t, a.cli, "/more", 5)
	sv.waitState(t, "the last puts seen", func(s State) bool { return s.SeenRev == a.rev(t) })
	if err := sv.stop(); err != nil {
		t.Fatalf("Serve on SIGTERM: %v", err)
	}
	stopped, err := ReadState(o.StatePath)
	if err != nil || stopped.Running || stopped.LastError != "" || stopped.DurableRev != a.rev(t) {
		t.Errorf("state after the stop: %+v (%v), want not running, durable at %d", stopped, err, a.rev(t))
	}
	if got := onlyChain(t, st).LastRev; got != a.rev(t) {
		t.Errorf("a clean stop left the chain at %d, etcd at %d", got, a.rev(t))
	}
	t.Logf("%s", grepLog(sv.log.String(), "journal"))
}

// grepLog returns the log lines that contain s.
func grepLog(log, s string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeGapTakesFreshSnapshot: etcd compacted past the chain while the
// service was stopped. On restart the service says so, appends nothing to
// the old chain and keeps it while the snapshot it asks for fails (at most
// once per SnapshotRetry), then starts a new chain from the fresh snapshot
// and removes the old chain once the new one holds everything.
func TestServeGapTakesFreshSnapshot(t *testing.T) {
	a, st, o := serviceBed(t)
	putKeys(t, a.cli, "/pre", 10)
	s1 := storeSnapshot(t, st, a, store.ReasonCron)
	sv := serve(t, st, o)
	putKeys(t, a.cli, "/k", 20)
	first := sv.waitState(t, "following", func(s State) bool { return s.Running && s.DurableRev == a.rev(t) })
	if err := sv.stop(); err != nil {
		t.Fatal(err)
	}

	putKeys(t, a.cli, "/down", 20)
	if _, err := a.cli.Compact(context.Background(), a.rev(t)); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var s2 atomic.Pointer[store.Snapshot]
	o.SnapshotRetry = 500 * time.Millisecond
	o.Snapshot = func(ctx context.Context) error {
		if calls.Add(1) == 1 {
			return errors.New("backup failed (test)")
		}
		s2.Store(storeSnapshot(t, st, a, store.ReasonJournal))
		return nil
	}
	start := time.Now()
	sv = serve(t, st, o)
	failed := sv.waitState(t, "the gap published", func(s State) bool { return strings.Contains(s.LastError, "compacted") })
	if failed.Running {
		t.Errorf("running through a gap: %+v", failed)
	}
	time.Sleep(300 * time.Millisecond) // several backoffs, one snapshot
	if n := calls.Load(); n != 1 {
		t.Errorf("the snapshot was asked for %d times in %v, want once", n, time.Since(start))
	}
	if sum, err := Verify(st.JournalDir(), first.ChainID); err != nil || sum.LastRev != first.DurableRev {
		t.Errorf("the old chain after the gap: %+v %v, want it untouched at %d", sum, err, first.DurableRev)
	}
	putKeys(t, a.cli, "/after", 10)
	second := sv.waitState(t, "a new chain", func(s State) bool {
		return s.Running && s2.Load() != nil && s.SnapshotID == s2.Load().Meta.ID && s.DurableRev == a.rev(t)
	})
	if second.ChainID == first.ChainID || second.StartRev != s2.Load().Meta.Etcd.Revision || second.LastError != "" {
		t.Errorf("after the gap: %+v", second)
	}
	sv.waitOneChain(t)
	if sum := onlyChain(t, st); sum.Header.ChainID != second.ChainID || sum.Header.SnapshotID == s1.Meta.ID {
		t.Errorf("the chain left: %+v", sum.Header)
	}
	log := sv.log.String()
	for _, want := range []string{`level=WARN msg="journal gap`, "compacted", `level=WARN msg="journal snapshot failed"`, "backup failed (test)", `msg="journal snapshot taken"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("snapshot asked for %d times, want 2", calls.Load())
	}
}

// TestServeWithoutSnapshot: with no snapshot in the store the service does
// not follow; it says why and asks for a snapshot once, then follows the
// one that appears.
func TestServeWithoutSnapshot(t *testing.T) {
	a, st, o := serviceBed(t)
	var calls atomic.Int32
	o.Snapshot = func(context.Context) error { calls.Add(1); return errors.New("no containerd (test)") }
	sv := serve(t, st, o)
	got := sv.waitState(t, "no snapshot", func(s State) bool { return s.LastError == errNoSnapshot.Error() })
	if got.Running || got.ChainID != "" {
		t.Errorf("state without a snapshot: %+v", got)
	}
	time.Sleep(300 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Errorf("snapshot asked for %d times, want once per SnapshotRetry", n)
	}
	if chains, _ := ListChains(st.JournalDir()); len(chains) != 0 {
		t.Errorf("chains without a snapshot: %+v", chains)
	}
	snap := storeSnapshot(t, st, a, store.ReasonCron)
	putKeys(t, a.cli, "/k", 5)
	sv.waitState(t, "following the snapshot that appeared", func(s State) bool {
		return s.Running && s.SnapshotID == snap.Meta.ID && s.DurableRev == a.rev(t) && s.LastError == ""
	})
}

// TestServeWaitsForEtcdAndLock: while etcd does not answer the service
// publishes why, retrying; a second service on the same journal refuses to
// start; SIGTERM ends the first with nil.
func TestServeWaitsForEtcdAndLock(t *testing.T) {
	tmp := t.TempDir()
	st, err := store.Open(filepath.Join(tmp, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	o := fastServe(freeURL(t), filepath.Join(tmp, "run", "journal.json"))
	o.LockTimeout = 0
	sv := serve(t, st, o)
	got := sv.waitState(t, "etcd down", func(s State) bool { return strings.Contains(s.LastError, "does not answer") })
	if got.Running || got.PID != os.Getpid() || got.Interval != o.Interval {
		t.Errorf("state while etcd is down: %+v", got)
	}
	second := o
	second.StatePath = filepath.Join(tmp, "run", "second.json")
	if err := Serve(context.Background(), st, nil, second); err == nil || !strings.Contains(err.Error(), "another journal service") {
		t.Errorf("a second service: %v, want it refused", err)
	}
	if err := sv.stop(); err != nil {
		t.Errorf("stop while waiting for etcd: %v", err)
	}
	if n := strings.Count(sv.log.String(), "does not answer"); n != 1 {
		t.Errorf("the same error logged %d times, want once:\n%s", n, sv.log.String())
	}
}

// TestServeRetriesAfterWriterError: a commit that fails (an EIO, a full
// disk) stops the follower; the service says so, reopens the chain and goes
// on, and no revision is missing from it.
func TestServeRetriesAfterWriterError(t *testing.T) {
	a, st, o := serviceBed(t)
	snap := storeSnapshot(t, st, a, store.ReasonCron)
	var syncs atomic.Int32
	o.Writer.Sync = func(f *os.File) error {
		if syncs.Add(1) == 3 {
			return errors.New("input/output error (test)")
		}
		return f.Sync()
	}
	sv := serve(t, st, o)
	for i := range 10 {
		putKeys(t, a.cli, fmt.Sprintf("/k%d", i), 10)
		time.Sleep(30 * time.Millisecond) // several commits
	}
	got := sv.waitState(t, "caught up after the error", func(s State) bool { return s.Running && s.DurableRev == a.rev(t) })
	if sum := onlyChain(t, st); sum.LastRev != a.rev(t) || sum.Revisions != int(a.rev(t)-snap.Meta.Etcd.Revision) {
		t.Errorf("chain after a failed commit: %d revisions up to %d, etcd at %d", sum.Revisions, sum.LastRev, a.rev(t))
	}
	log := sv.log.String()
	if syncs.Load() < 3 || !strings.Contains(log, "journal not following etcd; retrying") || !strings.Contains(log, "input/output error (test)") {
		t.Errorf("the failed commit (sync %d) not logged:\n%s", syncs.Load(), log)
	}
	t.Logf("state: %+v", got)
}
