package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// ErrSuspect means the snapshot's revision went backwards or its cluster ID
// is not the newest snapshot's (a reset or freshly initialised cluster): it
// was kept aside, not counted as a good snapshot.
var ErrSuspect = errors.New("suspect snapshot")

// Options for one backup.
type Options struct {
	Reason   string
	Method   string // MethodAuto, MethodExec or MethodSidecar
	From     string // FromAuto, FromEtcd or FromDataDir
	StopEtcd bool   // stop the running etcd first, then copy its data dir (the system is shutting down)
	// SystemShutdown says the system is going down (not a kubelet restart):
	// recorded, so the next boot knows this backup holds etcd's last state.
	SystemShutdown bool
	AcceptReset    bool // take a lower revision as the new baseline (a deliberate reset)
	LockTimeout    time.Duration
	Policy         store.Policy
	// Offhost, when set, copies what the target lacks after the local backup
	// (see copyOffhost); nil leaves copies off.
	Offhost *offhost.Config
	// Journal, when set, skips the snapshot while the journal covers the
	// changes since the newest one (cron's backups with the journal on).
	Journal *JournalCover
	// MinAge > 0 skips the snapshot while the newest good one is younger
	// (cron runs more often than it stores: see assets.CronEvery).
	MinAge time.Duration
}

// Methods of running etcd's tools for a backup: the target etcdtool opens.
const (
	MethodAuto    = etcdtool.MethodAuto    // exec when the tmpfs has room, else sidecar
	MethodExec    = etcdtool.MethodExec    // exec in the running etcd container, staging on etcd's tmpfs
	MethodSidecar = etcdtool.MethodSidecar // a sidecar from the same digest, staging in the backup dir
)

// Where a backup reads etcd's state from.
const (
	// FromAuto: the running etcd; for a shutdown backup, etcd's data dir when
	// etcd is no longer running.
	FromAuto = "auto"
	// FromEtcd: `etcdctl snapshot save` from the running etcd.
	FromEtcd = "etcd"
	// FromDataDir: member/snap/db of an etcd that has exited (a cold snapshot).
	FromDataDir = "data-dir"
)

// Result says what the backup did.
type Result struct {
	Snapshot    *store.Snapshot // nil when nothing was written
	Skipped     bool            // etcd's revision equals the newest snapshot's, or the journal covers it
	Covered     string          // why the journal covers the changes since the newest snapshot
	Recent      string          // why the newest snapshot is recent enough (MinAge)
	Revision    int64
	Method      string
	Source      string // store.SourceEtcd or store.SourceDataDir
	EtcdStopped string // the signal that stopped etcd when StopEtcd was set and etcd ran
	NoData      string // why there was nothing to back up at all
	Duration    time.Duration
	Warnings    []string        // later steps that failed after the snapshot was durable
	Offhost     *offhost.Result // the off-host copy after it; nil when none ran

	etcd *erdrt.EtcdContainer
}

// run is one backup's shared state: what it was given, and once found, the
// running etcd its tools reach.
type run struct {
	rt   *erdrt.Runtime
	st   *store.Store
	m    *manifest.Etcd
	opts Options
	ec   *erdrt.EtcdContainer // the running etcd; nil for a cold backup
	etcd *etcdtool.Etcd       // how etcd's tools reach ec
}

// Run takes one verified snapshot of etcd inside its own image and stores
// it, then prunes. Only the steps before the snapshot is durable can fail the
// backup; later ones only warn. A shutdown backup records its outcome, good
// or bad, for the restore at the next boot. m is the parsed manifest.
func Run(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, opts Options) (res *Result, err error) {
	start := time.Now()
	r := &run{rt: rt, st: st, m: m, opts: opts}
	if opts.Reason == store.ReasonShutdown {
		defer func() { recordShutdown(ctx, st, opts, res, err) }()
	}
	// Deferred before the lock is taken, so it runs once the lock is released:
	// a slow target never holds up another run.
	defer func() { res = r.copyOffhost(ctx, res) }()
	unlock, err := st.Lock(ctx, opts.LockTimeout, "backup ("+opts.Reason+")")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if recent := recentEnough(st, opts.MinAge, time.Now()); recent != "" {
		logging.G(ctx).Info("no new snapshot: the newest is recent enough", "why", recent)
		return &Result{Skipped: true, Recent: recent}, nil
	}
	if opts.Journal != nil {
		covered, rev, needed := opts.Journal.covered(st)
		if covered != "" {
			logging.G(ctx).Info("no new snapshot: the journal covers the changes since the newest", "why", covered)
			return &Result{Skipped: true, Covered: covered, Revision: rev}, nil
		}
		logging.G(ctx).Info("snapshot needed despite the journal", "why", needed)
	}
	defer logging.Step(ctx, "backup", "total under the lock")()
	doneClean := logging.Step(ctx, "backup", "clean leftovers")
	r.cleanLeftovers(ctx)
	doneClean()

	res, err = r.take(ctx)
	if err != nil || res.Snapshot == nil {
		return res, err
	}
	res.Warnings = r.afterDurable(ctx, res.etcd)
	res.Duration = time.Since(start)
	if res.Snapshot.Kind == store.Suspect {
		return res, fmt.Errorf("%w: %s", ErrSuspect, res.Snapshot.Meta.Suspect)
	}
	return res, nil
}

// take chooses between a snapshot of the running etcd and a copy of the
// data dir of a stopped one.
func (r *run) take(ctx context.Context) (*Result, error) {
	log := logging.G(ctx)
	from := r.opts.From
	var stopped string
	if r.opts.StopEtcd {
		ec, sig, err := r.rt.StopEtcd(ctx, r.m.Namespace, r.m.Image, erdrt.StopGrace)
		if err != nil {
			return nil, fmt.Errorf("stop etcd before copying its data dir: %w", err)
		}
		if ec != nil {
			log.Info("stopped etcd so that its data dir holds its last state", "container", ec.ID, "signal", sig)
			stopped = sig
		}
		from = FromDataDir
	}
	if from == FromDataDir {
		res, err := r.coldOrNothing(ctx)
		if res != nil {
			res.EtcdStopped = stopped
		}
		return res, err
	}
	doneFind := logging.Step(ctx, "backup", "find etcd")
	ec, err := r.rt.FindEtcd(ctx, r.m.Namespace, "etcd", r.m.Image)
	doneFind()
	if errors.Is(err, erdrt.ErrEtcdNotRunning) && from == FromAuto && r.opts.Reason == store.ReasonShutdown {
		log.Info("etcd is no longer running; taking the last backup from its data dir", "reason", err)
		return r.coldOrNothing(ctx)
	}
	if err != nil {
		return nil, err
	}
	return r.hot(ctx, ec)
}

// coldOrNothing takes a cold backup; a data dir without a member (etcd never
// ran this boot, e.g. its restore failed) has nothing to lose and is not an error.
func (r *run) coldOrNothing(ctx context.Context) (*Result, error) {
	res, err := r.cold(ctx)
	if errors.Is(err, errNoData) {
		logging.G(ctx).Warn("nothing to back up: etcd is not running and its data dir holds no member", "data_dir", r.m.Member.HostDataDir)
		return &Result{Skipped: true, NoData: err.Error(), Source: store.SourceDataDir}, nil
	}
	return res, err
}

// cleanLeftovers removes what a killed run may have left: temporary files in the
// store, sidecar containers, staged snapshots. Called under the lock.
func (r *run) cleanLeftovers(ctx context.Context) {
	log := logging.G(ctx)
	if removed, err := r.st.CleanTemp(); err != nil {
		log.Warn("clean store temp files", "err", err)
	} else if len(removed) > 0 {
		log.Info("removed leftovers of an interrupted run", "files", removed)
	}
	etcdtool.CleanRuntimeLeftovers(ctx, r.rt)
	os.RemoveAll(filepath.Join(r.m.Member.HostDataDir, etcdtool.StagingName))
	os.RemoveAll(r.st.StagingDir())
}
