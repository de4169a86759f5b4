package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sys/unix"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// The journal's faults, each against the built binary, the bed's containerd
// and etcd in its CRI pod on a tmpfs. In every case the writes the journal
// had made durable (its published state says which) come back, nothing of
// another history is applied, and the tool says what happened.

// kill -9 of the journal service under load, again and again, each time
// restarted: the chain resumes where the durable records end, says so, and
// a later power cut restores every write the killed services had published
// as durable, and every one the last had.
func TestJournalFaultKill9(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	state, cli := n.snapshotForJournal()
	load := startLoad(n.ctx, cli, "/registry/load/")
	trials := faultTrials(3)
	var durable []int64 // what each killed service had published as durable
	chain, midCommit := "", 0
	for i := 0; i < trials; i++ {
		p := n.startJournal(state)
		prev := int64(0)
		if i > 0 {
			prev = durable[len(durable)-1]
			wantResumed(t, p, chain, prev)
		}
		s := p.waitState(t, "a commit under load", func(s journal.State) bool { return s.Running && s.DurableRev > prev })
		if chain == "" {
			chain = s.ChainID
		}
		if s.ChainID != chain {
			t.Fatalf("restart %d writes chain %s, want %s resumed", i, s.ChainID, chain)
		}
		load.waitMore(t, 100)
		if p.killMidCommit(t) {
			midCommit++
		}
		durable = append(durable, p.lastState(t).DurableRev)
	}
	t.Logf("%d kills, %d of them caught in a commit's write or fsync; durable at each kill: %v", trials, midCommit, durable)
	p := n.startJournal(state)
	wantResumed(t, p, chain, durable[len(durable)-1])
	load.waitMore(t, 100)
	acked, failed := load.stop()
	if failed > 0 {
		t.Errorf("%d writes failed under a healthy etcd", failed)
	}
	last := currentRev(t, n.ctx, cli)
	s := n.waitDurable(p, last)
	if s.ChainID != chain {
		t.Fatalf("the last run writes chain %s, want %s", s.ChainID, chain)
	}
	r := n.powerCutRestore(p, "boot-2")
	wantReplayed(t, r, chain, last)
	n.startEtcd()
	after := n.etcdClient()
	lost := lostWrites(t, n.ctx, after, acked, last)
	for _, d := range durable {
		if d > last {
			t.Errorf("a killed service published revision %d as durable, past etcd's %d", d, last)
		}
	}
	if got := n.restoredRevision(n.BackupDir()); got != last {
		t.Errorf("restore record revision %d, want %d", got, last)
	}
	t.Logf("%d acknowledged writes, %d lost", len(acked), lost)
	recordFault("journal: kill -9 mid-write", trials, trials, 0, 0, lost)
}

// A power cut during a commit leaves a torn tail: the restarted journal cuts
// it and appends after the last good record; restore replays everything
// before a torn tail, never the tail, and says that it cut it.
func TestJournalFaultTornTail(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	state, cli := n.snapshotForJournal()
	p := n.startJournal(state)
	first := putKeys(t, n.ctx, cli, "/registry/a/", 100)
	chain := n.waitDurable(p, first).ChainID
	p.kill(t)
	garbled := tearTail(t, n.newestSegment(chain), true)

	// The journal comes back on the torn chain: it cuts the tail and goes on.
	p = n.startJournal(state)
	p.waitLog(t, "journal torn tail cut", chain, fmt.Sprintf("bytes=%d", garbled))
	p.waitLog(t, "journal chain resumed", chain, fmt.Sprintf("revision=%d", first))
	last := putKeys(t, n.ctx, cli, "/registry/b/", 100)
	if s := n.waitDurable(p, last); s.ChainID != chain {
		t.Fatalf("after the torn tail the journal writes chain %s, want %s resumed", s.ChainID, chain)
	}
	before, _ := snapshotKeys(t, n.ctx, cli)
	p.kill(t)
	truncated := tearTail(t, n.newestSegment(chain), false)
	if l := n.mustTool("list"); !strings.Contains(l.stdout, fmt.Sprintf("a torn tail of %d bytes ignored", truncated)) {
		t.Errorf("list does not show the torn tail of %d bytes:\n%s", truncated, l.stdout)
	}

	r := n.powerCutRestore(nil, "boot-2")
	wantReplayed(t, r, chain, last)
	if !strings.Contains(r.stdout+r.stderr, fmt.Sprintf("torn tail of %d bytes", truncated)) {
		t.Errorf("restore does not say that it cut a torn tail of %d bytes:\n%s\n%s", truncated, r.stdout, tail(r.stderr, 3000))
	}
	n.startEtcd()
	after, rev := snapshotKeys(t, n.ctx, n.etcdClient())
	lost := 0
	for k, b := range before {
		if a, ok := after[k]; !ok || a != b {
			lost++
			t.Errorf("key %s: after the restore %+v (present %v), before %+v", k, a, ok, b)
		}
	}
	if len(after) != len(before) || rev < last+1_000_000_000 {
		t.Errorf("%d keys at revision %d after the restore; want %d past %d", len(after), rev, len(before), last+1_000_000_000)
	}
	recordFault("journal: power cut mid-fsync (torn tail)", 2, 2, 0, 0, lost)
}

// The backup disk fills up under the journal: it says so in its log and in
// status, keeps the chain whole, and goes on by itself once there is room;
// restore applies whole records only.
func TestJournalFaultDiskFull(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	dir := filepath.Join(n.Dir, "small-backup")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64m,mode=0700"); err != nil {
		t.Fatal(err)
	}
	env := []string{"ETCD_RAMDISK_BACKUP_DIR=" + dir}
	root := filepath.Join(n.Dir, "root")
	writeFile(t, filepath.Join(root, assets.JournalUnit.Path), "[Service]\n", 0o644)
	state := filepath.Join(root, journal.DefaultStatePath)
	n.kv("put-many", "/registry/pods/", "50")
	if r := n.toolEnv(env, "backup", "--reason", "cron"); r.code != 0 {
		t.Fatalf("backup exited %d", r.code)
	}
	cli := n.etcdClient()
	p := n.startJournalEnv(env, state)
	chain := p.waitState(t, "running", func(s journal.State) bool { return s.Running }).ChainID

	// Fill the disk, all but half a MiB: the segment being written has room
	// left (it is preallocated), the next one has none.
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, int64(fs.Bavail)*fs.Bsize-512<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	// Incompressible values: the journal's commits are compressed.
	big := make([]byte, 1<<20)
	var full int64
	for i := 0; i < 20; i++ {
		if _, err := rand.Read(big); err != nil {
			t.Fatal(err)
		}
		resp, err := cli.Put(n.ctx, fmt.Sprintf("/registry/big/%02d", i), string(big))
		if err != nil {
			t.Fatal(err)
		}
		full = resp.Header.Revision
	}
	s := p.waitState(t, "the full disk", func(s journal.State) bool { return strings.Contains(s.LastError, "no space left") })
	t.Logf("journal on a full disk: durable %d of %d: %s", s.DurableRev, full, s.LastError)
	if s.DurableRev >= full {
		t.Fatalf("the journal made revision %d durable on a full disk", full)
	}
	p.waitLog(t, "journal not following etcd", "no space left")
	st := n.toolEnv(env, "status", "--root", root)
	if st.code != 10 || logLine(st.stdout, "WARN", "journal", "no space left") == "" {
		t.Errorf("status on a full backup disk: exit %d, want 10 and a warning naming the full disk:\n%s", st.code, st.stdout)
	}
	if l := n.toolEnv(env, "list"); l.code != 0 || strings.Contains(l.stdout, "broken") || strings.Contains(l.stdout, "unreadable") {
		t.Errorf("list on a full disk: exit %d: the chain must stay whole:\n%s", l.code, l.stdout)
	}

	// Room again: the journal goes on in the same chain by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	last := putKeys(t, n.ctx, cli, "/registry/after/", 20)
	s = n.waitDurable(p, last)
	if s.ChainID != chain || s.LastError != "" || !s.Running {
		t.Errorf("after room was freed: %+v; want chain %s running without error", s, chain)
	}
	if st := n.toolEnv(env, "status", "--root", root); strings.Contains(st.stdout, "no space left") {
		t.Errorf("status still warns of the full disk after it recovered:\n%s", st.stdout)
	}
	before, _ := snapshotKeys(t, n.ctx, cli)

	r := n.powerCutRestore(p, "boot-2", env...)
	wantReplayed(t, r, chain, last)
	n.startEtcd()
	after, _ := snapshotKeys(t, n.ctx, n.etcdClient())
	lost := keysNotBack(t, before, after)
	if len(after) != len(before) || n.restoredRevision(dir) != last {
		t.Errorf("%d keys after the restore, %d before; restored revision %d, want %d", len(after), len(before), n.restoredRevision(dir), last)
	}
	recordFault("journal: backup disk full", 1, 1, 0, 0, lost)
}

// The journal is down while etcd compacts past its position: on restart it
// finds the gap, takes a fresh snapshot and starts a new chain from it. A
// restore never bridges the gap: without that snapshot it falls back to the
// older one and never applies the new chain onto it.
func TestJournalFaultCompactedGap(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	state, cli := n.snapshotForJournal()
	old := n.list().Snapshots[0]
	p := n.startJournal(state)
	oldLast := putKeys(t, n.ctx, cli, "/registry/a/", 50)
	oldChain := n.waitDurable(p, oldLast).ChainID
	p.stop(t)

	compacted := putKeys(t, n.ctx, cli, "/registry/b/", 50)
	if _, err := cli.Compact(n.ctx, compacted, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	p = n.startJournal(state)
	gap := p.waitLog(t, "journal gap", oldChain)
	if !strings.Contains(gap, "compacted") {
		t.Errorf("the gap is not said to be a compaction: %s", gap)
	}
	p.waitLog(t, "journal snapshot taken")
	s := p.waitState(t, "a new chain", func(s journal.State) bool { return s.Running && s.ChainID != oldChain })
	if s.StartRev < compacted || s.SnapshotID == old.ID {
		t.Fatalf("the new chain %s follows snapshot %s at %d; want a fresh one at %d or later", s.ChainID, s.SnapshotID, s.StartRev, compacted)
	}
	p.waitLog(t, "journal chain started", s.ChainID)
	last := putKeys(t, n.ctx, cli, "/registry/c/", 50)
	n.waitDurable(p, last)
	p.kill(t)

	// Without the fresh snapshot, the older one is restored with what its
	// own chain holds at most: the new chain is never applied onto it.
	fresh := n.storedFile(s.SnapshotID)
	good, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	flipBytes(t, fresh)
	r := n.powerCutRestore(nil, "boot-2")
	if !strings.Contains(r.stdout, "restored snapshot "+old.ID) || strings.Contains(r.stdout, s.ChainID) {
		t.Errorf("restore without the fresh snapshot: want %s restored and chain %s never replayed:\n%s", old.ID, s.ChainID, r.stdout)
	}
	if got := n.restoredRevision(n.BackupDir()); got > oldLast {
		t.Errorf("restored revision %d, past the end %d of the older chain: the gap was bridged", got, oldLast)
	}
	n.startEtcd()
	c := n.etcdClient()
	if b, cc := countPrefix(t, n.ctx, c, "/registry/b/"), countPrefix(t, n.ctx, c, "/registry/c/"); b != 0 || cc != 0 {
		t.Errorf("after the older snapshot: %d keys written in the gap and %d of the new chain; want none", b, cc)
	}
	if err := os.WriteFile(fresh, good, 0o600); err != nil {
		t.Fatal(err)
	}

	// With it, the fresh snapshot and its chain: everything.
	r = n.powerCutRestore(nil, "boot-3")
	wantReplayed(t, r, s.ChainID, last)
	n.startEtcd()
	c = n.etcdClient()
	lost := 0
	for prefix, want := range map[string]int64{"/registry/a/": 50, "/registry/b/": 50, "/registry/c/": 50} {
		if got := countPrefix(t, n.ctx, c, prefix); got != want {
			lost += int(want - got)
			t.Errorf("%s: %d keys after the restore, want %d", prefix, got, want)
		}
	}
	recordFault("journal: down while etcd compacts (gap)", 1, 1, 0, 0, lost)
}

// etcd is restored from an older snapshot (without the revision bump, so
// that its new history reuses the revision numbers) while the chain of the
// newer history is still on disk: the journal refuses to go on with that
// chain, takes a fresh snapshot of the history etcd now has, and a restore
// never replays the newer history onto the older one.
func TestJournalFaultOlderSnapshot(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{Image: etcdImages[1].ref})
	n.kv("put-many", "/registry/a/", "50")
	n.mustTool("backup", "--reason", "cron")
	older := n.list().Snapshots[0]
	n.kv("put-many", "/registry/b/", "50")
	n.mustTool("backup", "--reason", "cron")
	newer := n.list().Snapshots[0]
	state := filepath.Join(n.Dir, "run", "journal.json")
	cli := n.etcdClient()
	p := n.startJournal(state)
	newerLast := putKeys(t, n.ctx, cli, "/registry/c/", 50)
	newerChain := n.waitDurable(p, newerLast).ChainID
	p.kill(t)

	n.reboot()
	n.mustToolEnv(bootEnv("boot-2"), "restore", "--snapshot", older.ID, "--bump-revision=false")
	n.startEtcd()
	cli = n.etcdClient()
	// The older history's own writes, past the newer chain's last revision.
	for currentRev(t, n.ctx, cli) <= newerLast+10 {
		putKeys(t, n.ctx, cli, fmt.Sprintf("/registry/d/%d-", currentRev(t, n.ctx, cli)), 10)
	}
	p = n.startJournal(state)
	// etcd's cluster ID may have changed with the restore (kubeadm's flags):
	// the newer chain is then passed over before its data is compared.
	gap := p.waitLog(t, "journal gap")
	t.Logf("the journal on the older history: %s", gap)
	if !strings.Contains(gap, "another history") && !strings.Contains(gap, "cluster") {
		t.Errorf("the gap does not say that etcd's history is another: %s", gap)
	}
	p.waitLog(t, "journal snapshot taken")
	s := p.waitState(t, "a new chain", func(s journal.State) bool { return s.Running && s.ChainID != newerChain })
	if s.SnapshotID == newer.ID || s.SnapshotID == older.ID {
		t.Fatalf("the new chain %s follows snapshot %s; want a fresh one", s.ChainID, s.SnapshotID)
	}
	last := putKeys(t, n.ctx, cli, "/registry/e/", 50)
	n.waitDurable(p, last)
	before, _ := snapshotKeys(t, n.ctx, cli)

	r := n.powerCutRestore(p, "boot-3")
	wantReplayed(t, r, s.ChainID, last)
	if strings.Contains(r.stdout, newerChain) {
		t.Errorf("restore names the newer history's chain %s:\n%s", newerChain, r.stdout)
	}
	n.startEtcd()
	c := n.etcdClient()
	after, _ := snapshotKeys(t, n.ctx, c)
	lost := keysNotBack(t, before, after)
	if len(after) != len(before) {
		t.Errorf("%d keys after the restore, %d before", len(after), len(before))
	}
	if b, cc := countPrefix(t, n.ctx, c, "/registry/b/"), countPrefix(t, n.ctx, c, "/registry/c/"); b != 0 || cc != 0 {
		t.Errorf("the newer history came back: %d keys of its snapshot, %d of its chain", b, cc)
	}
	recordFault("journal: etcd restored from an older snapshot", 1, 1, 0, 0, lost)
}

// Chains and segments of another cluster copied into the journal dir are
// never applied: restore passes over them and says so, replays this
// cluster's chain whole, and the journal goes on with its own chain.
func TestJournalFaultForeignSegments(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	state, cli := n.snapshotForJournal()
	snap := n.list().Snapshots[0]
	p := n.startJournal(state)
	first := putKeys(t, n.ctx, cli, "/registry/a/", 100)
	chain := n.waitDurable(p, first).ChainID
	p.kill(t)

	// Another cluster's chains of a snapshot with the same ID and revision
	// (two clusters made alike, backed up the same second): one copied in
	// whole, newer and longer than ours; a segment of another in our chain.
	root := filepath.Join(n.BackupDir(), "journal")
	seen := func(int64) time.Time { return time.Now() }
	hdr := journal.Header{ClusterID: 0xf0f0f0, MemberID: 0x0f0f0f, StartRev: snap.Etcd.Revision, SnapshotID: snap.ID, Created: time.Now()}
	foreign, err := testbed.WriteJournalChain(root, hdr, snap.Etcd.Revision+2000, seen)
	if err != nil {
		t.Fatal(err)
	}
	hdr.Created = time.Now().Add(time.Second)
	otherRoot := t.TempDir()
	other, err := testbed.WriteJournalChain(otherRoot, hdr, snap.Etcd.Revision+10, seen)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := os.ReadFile(filepath.Join(otherRoot, other, fmt.Sprintf("%016x.seg", snap.Etcd.Revision+1)))
	if err != nil {
		t.Fatal(err)
	}
	planted := fmt.Sprintf("%016x.seg", snap.Etcd.Revision+2)
	writeFile(t, filepath.Join(root, chain, planted), string(seg), 0o600)

	// The journal goes on with its own chain and says what it passes over.
	p = n.startJournal(state)
	p.waitLog(t, "journal chain resumed", chain)
	p.waitLog(t, "journal chain passed over", foreign, "cluster f0f0f0")
	p.waitLog(t, planted, other)
	last := putKeys(t, n.ctx, cli, "/registry/b/", 100)
	if s := n.waitDurable(p, last); s.ChainID != chain {
		t.Fatalf("the journal writes chain %s, want its own %s", s.ChainID, chain)
	}
	before, _ := snapshotKeys(t, n.ctx, cli)

	// Restore replays this cluster's chain whole and nothing of the other's.
	r := n.powerCutRestore(p, "boot-2")
	wantReplayed(t, r, chain, last)
	for _, want := range [][]string{{foreign, "cluster f0f0f0"}, {planted, other}} {
		if logLine(r.stderr, want...) == "" {
			t.Errorf("restore does not say that it passed over %v:\n%s", want, tail(r.stderr, 3000))
		}
	}
	n.startEtcd()
	c := n.etcdClient()
	after, _ := snapshotKeys(t, n.ctx, c)
	lost := keysNotBack(t, before, after)
	if len(after) != len(before) || countPrefix(t, n.ctx, c, "/k") != 0 {
		t.Errorf("%d keys after the restore, %d before; /k (the other cluster's) %d times", len(after), len(before), countPrefix(t, n.ctx, c, "/k"))
	}
	recordFault("journal: another cluster's segments", 2, 2, 0, 0, lost)
}

// etcd is restarted as kubelet does (its container killed and created
// again) while the journal watches it under load: the journal goes on in
// the same chain with no revision missing, and a later power cut restores
// every acknowledged write it made durable.
func TestJournalFaultEtcdRestart(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	state, cli := n.snapshotForJournal()
	p := n.startJournal(state)
	chain := p.waitState(t, "running", func(s journal.State) bool { return s.Running }).ChainID
	load := startLoad(n.ctx, cli, "/registry/load/")
	restarts := faultTrials(2)
	for i := 0; i < restarts; i++ {
		load.waitMore(t, 100)
		if err := n.StopEtcd(n.ctx); err != nil {
			t.Fatal(err)
		}
		n.startEtcd()
		load.waitMore(t, 100)
	}
	acked, failed := load.stop()
	last := currentRev(t, n.ctx, cli)
	s := n.waitDurable(p, last)
	t.Logf("%d writes acknowledged, %d failed while etcd was down; journal durable at %d", len(acked), failed, s.DurableRev)
	if s.ChainID != chain {
		t.Errorf("after etcd's restarts the journal writes chain %s, want %s", s.ChainID, chain)
	}
	if strings.Contains(p.log(), "journal gap") {
		t.Errorf("a restart of etcd was taken for a gap")
	}
	r := n.powerCutRestore(p, "boot-2")
	wantReplayed(t, r, chain, last)
	n.startEtcd()
	lost := lostWrites(t, n.ctx, n.etcdClient(), acked, last)
	recordFault("journal: etcd restarted mid-watch", restarts, restarts, 0, 0, lost)
}

// Keys under short leases, the node off for longer than the leases' TTL:
// the replay keeps every lease alive, so no revoke shifts the replayed
// revisions (gardener etcd-backup-restore #1045); the keys come back with
// their leases, which etcd then expires as it would have.
func TestJournalFaultLeaseExpiresWhileOff(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	cli := n.etcdClient()
	const ttl = 2 // etcd's shortest with the default election timeout
	inSnap, err := cli.Grant(n.ctx, ttl)
	if err != nil {
		t.Fatal(err)
	}
	putKeys(t, n.ctx, cli, "/registry/leases/old-", 3, clientv3.WithLease(inSnap.ID))
	kctx, stopKeepAlive := context.WithCancel(n.ctx)
	defer stopKeepAlive()
	keep := func(id clientv3.LeaseID) {
		ch, err := cli.KeepAlive(kctx, id)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for range ch {
			}
		}()
	}
	keep(inSnap.ID)
	n.mustTool("backup", "--reason", "cron")
	snapRev := n.list().Snapshots[0].Etcd.Revision
	state := filepath.Join(n.Dir, "run", "journal.json")
	p := n.startJournal(state)
	// Leases granted after the snapshot: one as short, one of an hour.
	short, err := cli.Grant(n.ctx, ttl)
	if err != nil {
		t.Fatal(err)
	}
	keep(short.ID)
	hour, err := cli.Grant(n.ctx, 3600)
	if err != nil {
		t.Fatal(err)
	}
	putKeys(t, n.ctx, cli, "/registry/leases/new-", 3, clientv3.WithLease(short.ID))
	putKeys(t, n.ctx, cli, "/registry/events/", 3, clientv3.WithLease(hour.ID))
	// Enough revisions after them that the replay lasts longer than the TTL.
	last := putKeys(t, n.ctx, cli, "/registry/pods/", 3000)
	before, _ := snapshotKeys(t, n.ctx, cli)
	n.waitDurable(p, last)
	p.kill(t)
	stopKeepAlive()
	cut := time.Now()
	n.reboot()
	// The fault: the node stays off past the leases' TTL.
	time.Sleep(time.Until(cut.Add((ttl + 1) * time.Second)))
	start := time.Now()
	r := n.mustToolEnv(bootEnv("boot-2"), "restore")
	t.Logf("restore with %d revisions to replay took %s", last-snapRev, time.Since(start).Round(time.Millisecond))
	wantReplayed(t, r, p.lastState(t).ChainID, last)
	if got := n.restoredRevision(n.BackupDir()); got != last {
		t.Errorf("restored revision %d, want %d: the replay's revisions shifted", got, last)
	}
	n.startEtcd()
	c := n.etcdClient()
	bumped := last + 1_000_000_000
	// The state etcd started with: every key, with its lease, revisions as before.
	at, err := c.Get(n.ctx, "", clientv3.WithFromKey(), clientv3.WithRev(bumped))
	if err != nil {
		t.Fatalf("read at the restored revision %d: %v", bumped, err)
	}
	lost := len(before) - len(at.Kvs)
	for _, kv := range at.Kvs {
		b, ok := before[string(kv.Key)]
		got := keyState{Value: string(kv.Value), CreateRev: kv.CreateRevision, ModRev: kv.ModRevision, Version: kv.Version, HasLease: kv.Lease != 0}
		if !ok || got != b {
			t.Errorf("key %s at the restore: %+v, before the cut %+v", kv.Key, got, b)
		}
	}
	if lost != 0 {
		t.Errorf("%d keys at the restore, %d before the cut", len(at.Kvs), len(before))
	}
	// Then etcd expires the short leases as it would have: their keys go.
	deadline := time.Now().Add(60 * time.Second)
	for countPrefix(t, n.ctx, c, "/registry/leases/") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the keys of the short leases never expired after the restore")
		}
		time.Sleep(200 * time.Millisecond) // polling etcd, bounded by the deadline
	}
	for _, id := range []clientv3.LeaseID{inSnap.ID, short.ID} {
		if l, err := c.TimeToLive(n.ctx, id); err != nil || l.TTL != -1 {
			t.Errorf("short lease %x after its expiry: %+v %v", id, l, err)
		}
	}
	if l, err := c.TimeToLive(n.ctx, hour.ID); err != nil || l.GrantedTTL != 3600 || l.TTL <= 0 {
		t.Errorf("the hour's lease after the restore: %+v %v", l, err)
	}
	if got := countPrefix(t, n.ctx, c, "/registry/events/"); got != 3 {
		t.Errorf("%d keys of the hour's lease, want 3", got)
	}
	recordFault("journal: lease expired while off", 1, 1, 0, 0, lost)
}
