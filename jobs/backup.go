package jobs

import (
	"context"
	"errors"
	"fmt"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/images"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/clock"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// ErrSuspect means the snapshot's revision went backwards (a reset or freshly
// initialised cluster): it was kept aside, not counted as a good snapshot.
var ErrSuspect = errors.New("suspect snapshot")

// ErrVerify means a snapshot failed verification.
var ErrVerify = errors.New("verification failed")

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
	Logger         *slog.Logger
	// Offhost, when set, copies what the target lacks after the local backup
	// (see copyOffhost); nil leaves copies off.
	Offhost *offhost.Config
}

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
	Skipped     bool            // etcd's revision equals the newest snapshot's
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

// Backup takes one verified snapshot of etcd inside its own image and stores
// it, then prunes. Only the steps before the snapshot is durable can fail the
// backup; later ones only warn. A shutdown backup records its outcome, good
// or bad, for the restore at the next boot. m is the parsed manifest.
func Backup(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, o Options) (res *Result, err error) {
	start := time.Now()
	log := o.Logger
	if o.Reason == store.ReasonShutdown {
		defer func() { recordShutdown(st, o, res, err, log) }()
	}
	// Deferred before the lock is taken, so it runs once the lock is released:
	// a slow target never holds up another run.
	defer func() { res = copyOffhost(ctx, st, o, res, log) }()
	unlock, err := st.Lock(ctx, o.LockTimeout, "backup ("+o.Reason+")")
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer timeStep(log, "backup", "total under the lock")()
	doneClean := timeStep(log, "backup", "clean leftovers")
	cleanLeftovers(ctx, rt, st, m, log)
	doneClean()

	res, err = takeBackup(ctx, rt, st, m, o, log)
	if err != nil || res.Snapshot == nil {
		return res, err
	}
	res.Warnings = afterDurable(ctx, rt, st, res.etcd, o, log)
	res.Duration = time.Since(start)
	if res.Snapshot.Kind == store.Suspect {
		return res, fmt.Errorf("%w: %s", ErrSuspect, res.Snapshot.Meta.Suspect)
	}
	return res, nil
}

// takeBackup chooses between a snapshot of the running etcd and a copy of the
// data dir of a stopped one.
func takeBackup(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, o Options, log *slog.Logger) (*Result, error) {
	from := o.From
	var stopped string
	if o.StopEtcd {
		ec, sig, err := rt.StopEtcd(ctx, m.Namespace, m.Image, erdrt.StopGrace)
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
		res, err := coldOrNothing(ctx, rt, st, m, o, log)
		if res != nil {
			res.EtcdStopped = stopped
		}
		return res, err
	}
	doneFind := timeStep(log, "backup", "find etcd")
	ec, err := rt.FindEtcd(ctx, m.Namespace, "etcd", m.Image)
	doneFind()
	if errors.Is(err, erdrt.ErrEtcdNotRunning) && from == FromAuto && o.Reason == store.ReasonShutdown {
		log.Info("etcd is no longer running; taking the last backup from its data dir", "reason", err)
		return coldOrNothing(ctx, rt, st, m, o, log)
	}
	if err != nil {
		return nil, err
	}
	return hotBackup(ctx, rt, st, m, ec, o, log)
}

// coldOrNothing takes a cold backup; a data dir without a member (etcd never
// ran this boot, e.g. its restore failed) has nothing to lose and is not an error.
func coldOrNothing(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, o Options, log *slog.Logger) (*Result, error) {
	res, err := coldBackup(ctx, rt, st, m, o, log)
	if errors.Is(err, errNoData) {
		log.Warn("nothing to back up: etcd is not running and its data dir holds no member", "data_dir", m.Member.HostDataDir)
		return &Result{Skipped: true, NoData: err.Error(), Source: store.SourceDataDir}, nil
	}
	return res, err
}

// hotBackup snapshots the running etcd with etcdctl inside its own image.
func hotBackup(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, ec *erdrt.EtcdContainer, o Options, log *slog.Logger) (*Result, error) {
	log.Info("found etcd", "container", ec.ID, "image", ec.Image.Reference, "digest", ec.Image.Digest, "backend", rt.Backend())
	logPodUpdate(ec, m, log)
	doneFacts := timeStep(log, "backup", "image facts")
	facts, err := imageFacts(ctx, rt, st, &ec.Image, true, log)
	doneFacts()
	if err != nil {
		return nil, err
	}
	tools := factsTools(facts)
	tls, err := clientTLS(m)
	if err != nil {
		return nil, err
	}
	res, tgt, err := snapshotEtcd(ctx, rt, st, m, ec, tools, tls, o, log)
	if tgt != nil {
		defer tgt.cleanupTarget()
	}
	if err == nil && tgt != nil {
		learnBump(ctx, tgt, st, facts, log)
	}
	if err != nil && !errors.Is(err, ErrSuspect) && !rt.Running(ctx, ec) {
		return nil, fmt.Errorf("%w: etcd container %s stopped during the backup (%w)", erdrt.ErrEtcdNotRunning, ec.ID, err)
	}
	if res != nil {
		res.Source, res.etcd = store.SourceEtcd, ec
		if tgt != nil {
			res.Method = tgt.method
		}
	}
	return res, err
}

// snapshotEtcd asks etcd for its revision, and unless there is nothing new
// takes the snapshot where etcd's tools run (openTarget). Asked over etcd's
// JSON gateway, the revision costs no process in etcd's container, and the
// save is the first tool run; when the gateway does not answer, etcdctl's
// `endpoint status` is, as before. tgt is nil when no tool ran.
func snapshotEtcd(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, ec *erdrt.EtcdContainer, tools images.Tools, tls tlsArgs, o Options, log *slog.Logger) (*Result, *target, error) {
	name := fmt.Sprintf("snapshot-%d.db", time.Now().UnixNano())
	doneAsk := timeStep(log, "backup", "etcd status (JSON gateway)")
	rev, version, gwErr := gatewayStatus(ctx, m, tls)
	doneAsk()
	var first func(*target) error
	if gwErr == nil {
		if res, err := nothingNew(st, rev, log); res != nil || err != nil {
			return res, nil, err
		}
		first = func(t *target) error { return saveSnapshot(ctx, t, name, log) }
	} else {
		log.Info("etcd's JSON gateway did not answer; asking etcdctl for the revision", "err", gwErr)
		first = func(t *target) (err error) {
			rev, version, err = endpointRevision(ctx, t, log)
			return err
		}
	}
	tgt, err := openTarget(ctx, rt, ec, m, st, tools, tls, o.Method, first, log)
	if err != nil {
		return nil, nil, err
	}
	if gwErr != nil {
		if res, err := nothingNew(st, rev, log); res != nil || err != nil {
			return res, tgt, err
		}
		if err := saveSnapshot(ctx, tgt, name, log); err != nil {
			return nil, tgt, err
		}
	}
	res, err := storeSnapshot(ctx, st, m, ec, tgt, name, rev, version, o, log)
	return res, tgt, err
}

// logPodUpdate says how etcd was told apart from an overlapping pod, and when
// the etcd that runs is not the manifest's image: the image recorded is always
// the one etcd runs, which its data is restored with.
func logPodUpdate(ec *erdrt.EtcdContainer, m *manifest.Etcd, log *slog.Logger) {
	if ec.Waited > 0 || len(ec.Others) > 0 {
		log.Info("kubelet was replacing the etcd pod; chose the container from the manifest's image", "container", ec.ID, "waited", ec.Waited.Round(time.Millisecond), "passed_over", ec.Others)
	}
	if m.Image != "" && ec.Image.Reference != m.Image {
		log.Warn("the running etcd's image is not the manifest's (kubelet has not replaced the pod yet?); recording the image etcd runs", "running", ec.Image.Reference, "manifest", m.Image)
	}
}

func clientTLS(m *manifest.Etcd) (tlsArgs, error) {
	url, err := m.LoopbackClientURL()
	if err != nil {
		return tlsArgs{}, err
	}
	cert, key := m.HealthcheckClientCert()
	return tlsArgs{Endpoint: url, CACert: m.Member.TrustedCAFile, Cert: cert, Key: key}, nil
}

// chooseTarget prefers exec in the etcd container, staging on its tmpfs; it falls
// back to a sidecar staging in the backup dir when the tmpfs lacks room.
func chooseTarget(rt erdrt.ToolRunner, ec *erdrt.EtcdContainer, m *manifest.Etcd, st *store.Store, tools images.Tools, tls tlsArgs, method string, log *slog.Logger) (*target, error) {
	sidecarStaging := st.StagingDir()
	switch method {
	case MethodSidecar:
		return sidecarTarget(rt, ec, m, tools, tls, sidecarStaging)
	case MethodExec:
		return execTarget(rt, ec, m, tools, tls)
	}
	need := dbSize(m.Member.HostDataDir)*11/10 + 8*mib
	free, err := freeBytes(m.Member.HostDataDir)
	if err == nil && free >= need {
		return execTarget(rt, ec, m, tools, tls)
	}
	log.Warn("staging outside the tmpfs in a sidecar", "reason", noStagingRoom, "need", humanMiB(need), "free", humanMiB(free))
	return sidecarTarget(rt, ec, m, tools, tls, sidecarStaging)
}

// endpointRevision asks the running etcd for its current revision and server
// version (snapshot status only knows the storage version) with etcdctl.
func endpointRevision(ctx context.Context, tgt *target, log *slog.Logger) (int64, string, error) {
	defer timeStep(log, "backup", "etcdctl endpoint status")()
	out, err := tgt.runOK(ctx, "etcdctl endpoint status", endpointStatusArgs(tgt.tools, tgt.tls))
	if err != nil {
		return 0, "", err
	}
	rev, version, _, err := parseEndpointStatus(out)
	return rev, version, err
}

// nothingNew returns a skipped result when etcd at rev holds nothing to back
// up: no write yet, or nothing since the newest snapshot. Both nil: go on.
func nothingNew(st *store.Store, rev int64, log *slog.Logger) (*Result, error) {
	if rev <= 1 {
		// A cluster nobody has written to yet: its snapshot would hold nothing
		// and etcd's own status reads it as revision 0.
		log.Info("etcd holds no writes yet; nothing to back up", "revision", rev)
		return &Result{Skipped: true, Revision: rev}, nil
	}
	if skip, err := unchanged(st, rev, log); skip || err != nil {
		return &Result{Skipped: true, Revision: rev}, err
	}
	return nil, nil
}

// saveSnapshot runs etcdctl's save into the target's staging directory.
func saveSnapshot(ctx context.Context, tgt *target, name string, log *slog.Logger) error {
	defer timeStep(log, "backup", "etcdctl snapshot save")()
	_, err := tgt.runOK(ctx, "etcdctl snapshot save", saveArgs(tgt.tools, tgt.tls, tgt.ctFile(name)))
	return err
}

// storeSnapshot checks and stages the saved file, then commits it, good or
// (when its revision went backwards) suspect. rev is what etcd reported
// before the save; version is the server's.
func storeSnapshot(ctx context.Context, st *store.Store, m *manifest.Etcd, ec *erdrt.EtcdContainer, tgt *target, name string, rev int64, version string, o Options, log *slog.Logger) (*Result, error) {
	defer os.Remove(tgt.hostFile(name))
	failpoint.Inject("backup-after-save")
	status, sg, err := verifyAndStage(ctx, st, tgt, name, rev, log)
	if err != nil {
		return nil, err
	}
	defer sg.Discard()
	if version != "" {
		status.Version = version
	}
	meta := newMetadata(m, ec, status, o.Reason)
	kind := store.Good
	if why := resetGuard(st, status.Revision, o.AcceptReset); why != "" {
		kind, meta.Suspect = store.Suspect, why
	}
	doneCommit := timeStep(log, "backup", "commit (link, fsyncs, metadata)")
	snap, err := st.Commit(ctx, meta, sg, kind)
	doneCommit()
	if err != nil {
		return nil, err
	}
	log.Info("snapshot stored", "id", snap.Meta.ID, "kind", kind.String(), "revision", status.Revision, "raw", snap.Meta.RawSize, "stored", snap.Meta.StoredSize)
	return &Result{Snapshot: snap, Revision: status.Revision}, nil
}

// verifyStaged reads the staged file with etcd's own tool, in the same image.
func verifyStaged(ctx context.Context, tgt *target, name string, minRev int64) (store.EtcdStatus, error) {
	out, err := tgt.runOK(ctx, "snapshot status", statusArgs(tgt.tools, tgt.ctFile(name)))
	if err != nil {
		return store.EtcdStatus{}, fmt.Errorf("%w: %w", ErrVerify, err)
	}
	status, err := parseSnapshotStatus(out)
	if err != nil {
		return store.EtcdStatus{}, fmt.Errorf("%w: %w", ErrVerify, err)
	}
	if status.Revision < minRev {
		return store.EtcdStatus{}, fmt.Errorf("%w: snapshot revision %d is below the %d etcd reported before it", ErrVerify, status.Revision, minRev)
	}
	return status, nil
}

// verifyAndStage runs, once etcdctl's save has ended, etcd's own status
// check of the saved file and, beside it, one pass that compresses and hashes
// it into a staged file in the store. Nothing counts until both have
// succeeded: the caller commits the staged file only then, and on error it is
// already gone.
//
// The compression waits for the save: etcd sending the snapshot and etcdctl
// receiving it keep two cores busy, and any work beside them slows the stream
// more than it saves (docs/bench/2026-12-04-results.md), while the status
// check after it leaves a core free for the compression.
func verifyAndStage(ctx context.Context, st *store.Store, tgt *target, name string, minRev int64, log *slog.Logger) (store.EtcdStatus, *store.Staged, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var status store.EtcdStatus
	verr := make(chan error, 1)
	go func() {
		defer timeStep(log, "backup", "snapshot status (etcd's check)")()
		var err error
		status, err = verifyStaged(ctx, tgt, name, minRev)
		if err != nil {
			cancel() // a snapshot that fails its check is not worth compressing
		}
		verr <- err
	}()
	doneStage := timeStep(log, "backup", "compress+sha256+fsync (beside etcd's check)")
	sg, serr := stage(ctx, st, tgt.hostFile(name))
	doneStage()
	if serr != nil && ctx.Err() == nil {
		cancel() // the store failed: stop the check, and report the store's error
		<-verr
		return store.EtcdStatus{}, nil, serr
	}
	if err := <-verr; err != nil {
		sg.Discard()
		return store.EtcdStatus{}, nil, err
	}
	if serr != nil {
		return store.EtcdStatus{}, nil, serr
	}
	return status, sg, nil
}

// stage compresses the saved file into a staged file in the store.
func stage(ctx context.Context, st *store.Store, file string) (*store.Staged, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open the saved snapshot: %w", err)
	}
	defer f.Close()
	return st.Stage(ctx, f)
}

func storeStaged(ctx context.Context, st *store.Store, file string, meta *store.Metadata, kind store.Kind) (*store.Snapshot, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open staged snapshot: %w", err)
	}
	defer f.Close()
	return st.Write(ctx, meta, f, kind)
}

func newMetadata(m *manifest.Etcd, ec *erdrt.EtcdContainer, status store.EtcdStatus, reason string) *store.Metadata {
	node, _ := os.Hostname()
	now := clock.Now().UTC() // the test-only override reaches snapshot times here
	return &store.Metadata{
		Time: now, Reason: reason, Node: node, Source: store.SourceEtcd, BootID: hostfs.BootID(),
		Image: store.Image{Reference: ec.Image.Reference, Digest: ec.Image.Digest.String()},
		Etcd:  status,
		Member: store.Member{
			Name: m.Member.Name, InitialCluster: m.Member.InitialCluster,
			InitialAdvertisePeerURLs: m.Member.InitialAdvertisePeerURLs,
			InitialClusterToken:      m.Member.InitialClusterToken, DataDir: m.Member.HostDataDir,
		},
	}
}

// unchanged reports whether etcd is still at the newest stored revision, good or
// suspect: an idle cluster then writes nothing. A cluster still sitting at a
// suspect revision keeps failing, so the alarm does not go quiet.
// "Newest" is the store's order, not the clock; a suspect snapshot older than
// the newest good one was answered by an accepted reset and no longer counts.
func unchanged(st *store.Store, rev int64, log *slog.Logger) (bool, error) {
	newest, err := st.Newest()
	if err == nil && newest.Meta.Etcd.Revision == rev {
		log.Info("etcd unchanged since the newest snapshot; nothing written", "revision", rev, "snapshot", newest.Meta.ID)
		return true, nil
	}
	sus, _, serr := st.ListSuspect()
	if serr == nil && len(sus) > 0 && (err != nil || store.Compare(&sus[0].Meta, &newest.Meta) > 0) && sus[0].Meta.Etcd.Revision == rev {
		return true, fmt.Errorf("%w: etcd is still at revision %d of suspect snapshot %s (%s); pass --accept-reset if the reset was deliberate", ErrSuspect, rev, sus[0].Meta.ID, sus[0].Meta.Suspect)
	}
	return false, nil
}

// resetGuard explains why a snapshot at rev must be kept aside, or returns "".
// The baseline is the newest good snapshot, unless a restore since then started
// etcd from an older one. "Newest" and "since" are the store's order, which no
// clock can scramble.
func resetGuard(st *store.Store, rev int64, accept bool) string {
	newest, err := st.Newest()
	if err != nil || accept {
		return ""
	}
	base, from := newest.Meta.Etcd.Revision, "newest good snapshot "+newest.Meta.ID
	if rec, err := st.ReadRestoreRecord(); err == nil && rec != nil && rec.After(&newest.Meta) {
		base, from = rec.Revision, "restore of "+rec.SnapshotID
	}
	if rev >= base {
		return ""
	}
	return fmt.Sprintf("revision %d is below %d of the %s: etcd was reset or re-initialised", rev, base, from)
}

// afterDurable archives the image the first time its digest is seen and prunes.
// The snapshot is already safe, so failures here are warnings.
func afterDurable(ctx context.Context, rt *erdrt.Runtime, st *store.Store, ec *erdrt.EtcdContainer, o Options, log *slog.Logger) []string {
	var warns []string
	doneArchive := timeStep(log, "backup", "image archive check")
	if err := archiveImage(ctx, rt, st, &ec.Image, log); err != nil {
		warns = append(warns, err.Error())
		log.Warn("image archive failed; the snapshot is kept", "err", err)
	}
	doneArchive()
	defer timeStep(log, "backup", "prune")()
	if _, err := st.Prune(o.Policy, false); err != nil {
		warns = append(warns, err.Error())
		log.Warn("prune failed; the snapshot is kept", "err", err)
	}
	return warns
}

func archiveImage(ctx context.Context, rt *erdrt.Runtime, st *store.Store, img *erdrt.Image, log *slog.Logger) error {
	if st.HasImageArchive(img.Digest.String()) {
		return nil
	}
	err := st.WriteImageArchive(img.Digest.String(), func(w io.Writer) error {
		return rt.ExportImage(ctx, img, w)
	})
	if err == nil {
		log.Info("image archived", "image", img.Reference, "digest", img.Digest)
	}
	return err
}

// cleanLeftovers removes what a killed run may have left: temporary files in the
// store, sidecar containers, staged snapshots. Called under the lock.
func cleanLeftovers(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, log *slog.Logger) {
	if removed, err := st.CleanTemp(); err != nil {
		log.Warn("clean store temp files", "err", err)
	} else if len(removed) > 0 {
		log.Info("removed leftovers of an interrupted run", "files", removed)
	}
	cleanRuntimeLeftovers(ctx, rt, log)
	os.RemoveAll(filepath.Join(m.Member.HostDataDir, stagingName))
	os.RemoveAll(st.StagingDir())
}

// cleanRuntimeLeftovers removes what a killed run left in the runtime: its
// FIFO directories first (a shim waiting on one answers nothing until they
// are released), then its sidecar containers. Called under the lock.
func cleanRuntimeLeftovers(ctx context.Context, rt *erdrt.Runtime, log *slog.Logger) {
	removeLeftoverIO(rt, log)
	if n, err := rt.RemoveLeftoverSidecars(ctx); err == nil && n > 0 {
		log.Info("removed leftover sidecar containers", "count", n)
	}
}

// removeLeftoverIO releases and removes the FIFO directories of runs killed
// before they could; only those whose owner is gone. Called under the lock,
// before the job's first containerd call about etcd.
func removeLeftoverIO(rt *erdrt.Runtime, log *slog.Logger) {
	removed, err := rt.RemoveLeftoverIO()
	if err != nil {
		log.Warn("remove leftover FIFO directories", "err", err)
	}
	if len(removed) > 0 {
		log.Info("removed FIFO directories of interrupted runs", "dirs", removed)
	}
}
