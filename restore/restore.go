package restore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Options for one restore.
type Options struct {
	DataDir      string // host data dir; "" means the manifest's etcd-data hostPath
	Snapshot     string // a snapshot id to restore instead of the newest good one
	AllowEmpty   bool   // no snapshot at all is fine (a brand-new cluster)
	BumpRevision bool   // etcd's advice for Kubernetes: --bump-revision 1e9 --mark-compacted
	NoJournal    bool   // restore the snapshot alone, even when a journal chain follows it
	// JournalReplay is how a journal chain is applied: ReplayDB (the
	// default, "") or ReplayEtcd.
	JournalReplay string
	LockTimeout   time.Duration
	// Remote, when set, is where to look when the backup dir holds no good
	// snapshot (a rebuilt node): the off-host copies.
	Remote RemoteSource
}

// Result says what the restore did.
type Result struct {
	Snapshot *store.Snapshot // nil when nothing was restored
	NoOp     string          // why nothing was done
	DataDir  string
	Skipped  []string // snapshots passed over, with why
	// Stale says why the restored snapshot may be older than the last state
	// etcd had (the last shutdown backup failed or never ran); "" when it is
	// the last shutdown backup.
	Stale    string
	Duration time.Duration
	// FromOffhost names the target the snapshot was fetched from; "" when it
	// was in the backup dir.
	FromOffhost string
	// Journal says what the journal replayed after the snapshot; nil when
	// nothing was. JournalNote says why a journal that follows the snapshot
	// was not (fully) used.
	Journal     *Replayed
	JournalNote string
	// Elsewhere is set when DataDir is not the manifest's data dir: etcd
	// does not start from it, so the restore record (what status reports
	// of this boot's etcd) was left alone.
	Elsewhere bool
}

// How a journal chain is applied to the restored snapshot.
const (
	// ReplayDB writes the chain into the snapshot's database in etcd's own
	// layout before the one `snapshot restore` (journal.ApplyToDB). When
	// that fails, the restore goes on with ReplayEtcd.
	ReplayDB = "db"
	// ReplayEtcd runs etcd from the snapshot's image on the restored member
	// and applies the chain one txn per revision (journal.Replay).
	ReplayEtcd = "etcd"
)

// ErrDataDir means that the data dir to restore into cannot be used: its
// parent is missing (a mistyped --data-dir is never created on the root
// disk) or it is not a directory.
var ErrDataDir = errors.New("data dir unusable")

// run is one restore's shared state.
type run struct {
	rt      *erdrt.Runtime
	st      *store.Store
	m       *manifest.Etcd
	opts    Options
	dataDir string // the host data dir restored into
	// What the journal did for the snapshot being tried (restoreOne).
	replayed    *Replayed
	journalNote string
	// passed are the backup dir's damaged snapshots when the restore went on
	// to the off-host copies because the backup dir had no whole one; local
	// says why each is damaged.
	passed []store.Metadata
	local  *storeSource
}

// Run puts the newest good snapshot into an empty data dir, atomically: the
// member directory appears complete or not at all. m is the parsed manifest.
// With no usable snapshot it fails wrapping store.ErrNoSnapshot and leaves the
// data dir empty, so that kubelet does not start an empty etcd.
func Run(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, opts Options) (*Result, error) {
	start := time.Now()
	r := &run{rt: rt, st: st, m: m, opts: opts, dataDir: opts.DataDir}
	if r.dataDir == "" {
		r.dataDir = m.Member.HostDataDir
	}
	res := &Result{DataDir: r.dataDir, Elsewhere: filepath.Clean(r.dataDir) != filepath.Clean(m.Member.HostDataDir)}
	if err := CheckDataDir(r.dataDir); err != nil {
		return nil, err
	}
	unlock, err := st.Lock(ctx, opts.LockTimeout, "restore")
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer logging.Step(ctx, "restore", "total under the lock")()
	etcdtool.CleanRuntimeLeftovers(ctx, rt)
	if hasMember(r.dataDir) {
		res.NoOp = "data dir " + r.dataDir + " already holds an etcd member"
		if opts.Snapshot != "" {
			res.NoOp += fmt.Sprintf("; to restore %s instead: stop etcd (move etcd.yaml out of kubelet's manifest dir and wait for the pod to go), move %s aside, run `etcd-ramdisk restore --snapshot %s`, then move etcd.yaml back", opts.Snapshot, manifest.MemberDir(r.dataDir), opts.Snapshot)
		}
		return res, nil
	}
	if err := prepareDataDir(ctx, r.dataDir); err != nil {
		return nil, err
	}
	src, cands, err := r.source(ctx)
	if err != nil {
		return nil, err
	}
	w := src.words()
	if len(cands) == 0 && len(r.passed) == 0 {
		if opts.AllowEmpty {
			res.NoOp = "no snapshot " + w.where + "; --allow-empty lets etcd start empty"
			return res, nil
		}
		return nil, fmt.Errorf("%w %s and the data dir %s is empty; refusing to let etcd start empty (pass --allow-empty for a brand-new cluster)", store.ErrNoSnapshot, w.where, r.dataDir)
	}
	snap, skipped, err := firstUsable(ctx, src, cands, r.restoreOne)
	res.Skipped = append(r.passedOver(snap), skipped...)
	if err != nil && w.target != "" {
		return nil, fmt.Errorf("restore from %s: %w; the data dir %s is left empty", w.target, err, r.dataDir)
	}
	if err != nil {
		return nil, err
	}
	if snap == nil {
		all := fmt.Sprintf("all %d %s", len(cands), w.all)
		if len(r.passed) > 0 {
			all = fmt.Sprintf("the %d damaged snapshots in %s and %s", len(r.passed), r.st.Dir, all)
		}
		return nil, fmt.Errorf("%w usable: %s failed verification (%s); the data dir %s is left empty", store.ErrNoSnapshot, all, strings.Join(res.Skipped, "; "), r.dataDir)
	}
	res.Snapshot, res.Duration, res.FromOffhost = snap, time.Since(start), w.target
	res.Journal, res.JournalNote = r.replayed, r.journalNote
	if res.Elsewhere {
		logging.G(ctx).Info("restored outside the manifest's data dir: the restore record is left alone", "dataDir", r.dataDir, "manifest", m.Member.HostDataDir)
		if r.opts.Snapshot == "" {
			res.Stale = staleness(r.st, snap, res.Skipped, hostfs.BootID())
		}
		return res, nil
	}
	r.record(ctx, res)
	return res, nil
}

// source is where the candidates come from: the backup dir, or the off-host
// copies when it holds none and no snapshot was named.
// A backup dir with only damaged snapshots counts as holding none, as it did
// before they were listed; they are named among the skipped (passedOver).
func (r *run) source(ctx context.Context) (Source, []store.Metadata, error) {
	local := &storeSource{st: r.st, id: r.opts.Snapshot}
	cands, err := local.Candidates(ctx)
	if err != nil || len(local.snaps) > 0 || r.opts.Remote == nil || r.opts.Snapshot != "" {
		return local, cands, err
	}
	r.passed, r.local = cands, local
	var src Source = &offhostSource{remote: r.opts.Remote, st: r.st, dataDir: r.dataDir}
	cands, err = src.Candidates(ctx)
	return src, cands, err
}

// passedOver names the backup dir's damaged snapshots a restore from the
// off-host copies went past that are newer than snap (all of them when snap
// is nil): the ones whose writes the restore loses.
func (r *run) passedOver(snap *store.Snapshot) []string {
	var out []string
	for i := range r.passed {
		m := &r.passed[i]
		if snap == nil || store.Compare(m, &snap.Meta) > 0 {
			out = append(out, m.ID+": "+r.local.damaged[m.ID].Error())
		}
	}
	return out
}

// record says which snapshot etcd now starts from and, when it may be
// older than etcd's last state, why: `status` and the metrics show it.
func (r *run) record(ctx context.Context, res *Result) {
	log := logging.G(ctx)
	snap, boot := res.Snapshot, hostfs.BootID()
	if r.opts.Snapshot == "" {
		res.Stale = staleness(r.st, snap, res.Skipped, boot)
	}
	rev := snap.Meta.Etcd.Revision
	if j := res.Journal; j != nil {
		rev = j.LastRev
		if res.Stale != "" {
			res.Stale += fmt.Sprintf(", except what the journal replayed after it: revisions up to %d (seen %s); only writes after that are lost", j.LastRev, j.UpTo.UTC().Format(time.RFC3339))
		}
	}
	if res.Stale != "" {
		log.Warn("restored snapshot may be older than etcd's last state", "snapshot", snap.Meta.ID, "why", res.Stale)
	}
	rec := store.RestoreRecord{Time: time.Now().UTC(), SnapshotID: snap.Meta.ID, Revision: rev, Image: snap.Meta.Image.Reference, BootID: boot, Stale: res.Stale}
	if err := r.st.WriteRestoreRecord(rec); err != nil {
		log.Warn("restore record not written", "err", err)
	}
}
