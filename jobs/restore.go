package jobs

import (
	"context"
	"errors"
	"fmt"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/hashpipe"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// ErrNoRoom means the data dir's filesystem is too small for the snapshot.
var ErrNoRoom = errors.New("data dir too small")

// RestoreOptions for one restore.
type RestoreOptions struct {
	DataDir      string // host data dir; "" means the manifest's etcd-data hostPath
	Snapshot     string // a snapshot id to restore instead of the newest good one
	AllowEmpty   bool   // no snapshot at all is fine (a brand-new cluster)
	BumpRevision bool   // etcd's advice for Kubernetes: --bump-revision 1e9 --mark-compacted
	LockTimeout  time.Duration
	Logger       *slog.Logger
	// Remote, when set, is where to look when the backup dir holds no good
	// snapshot (a rebuilt node): the off-host copies.
	Remote RemoteSource
}

// RestoreResult says what the restore did.
type RestoreResult struct {
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
}

const (
	restoreWork = ".etcd-ramdisk-restore"
	bumpBy      = "1000000000"
)

// Restore puts the newest good snapshot into an empty data dir, atomically: the
// member directory appears complete or not at all. m is the parsed manifest.
// With no usable snapshot it fails wrapping store.ErrNoSnapshot and leaves the
// data dir empty, so that kubelet does not start an empty etcd.
func Restore(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, o RestoreOptions) (*RestoreResult, error) {
	start := time.Now()
	log := o.Logger
	dataDir := o.DataDir
	if dataDir == "" {
		dataDir = m.Member.HostDataDir
	}
	res := &RestoreResult{DataDir: dataDir}
	unlock, err := st.Lock(ctx, o.LockTimeout, "restore")
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer timeStep(log, "restore", "total under the lock")()
	cleanRuntimeLeftovers(ctx, rt, log)
	if hasMember(dataDir) {
		res.NoOp = "data dir " + dataDir + " already holds an etcd member"
		return res, nil
	}
	if err := prepareDataDir(dataDir, log); err != nil {
		return nil, err
	}
	candidates, err := restoreCandidates(st, o.Snapshot)
	if err != nil {
		return nil, err
	}
	if len(candidates) == 0 && o.Remote != nil && o.Snapshot == "" {
		return restoreRemote(ctx, rt, st, m, dataDir, res, o, start)
	}
	if len(candidates) == 0 {
		if o.AllowEmpty {
			res.NoOp = "no snapshot in " + st.Dir + "; --allow-empty lets etcd start empty"
			return res, nil
		}
		return nil, fmt.Errorf("%w in %s and the data dir %s is empty; refusing to let etcd start empty (pass --allow-empty for a brand-new cluster)", store.ErrNoSnapshot, st.Dir, dataDir)
	}
	snap, skipped, err := firstUsable(candidates, func(snap *store.Snapshot) error {
		return restoreOne(ctx, rt, st, m, dataDir, snap, o, log)
	}, log)
	res.Skipped = skipped
	if err != nil {
		return nil, err
	}
	if snap == nil {
		return nil, fmt.Errorf("%w usable: all %d snapshots failed verification (%s); the data dir %s is left empty", store.ErrNoSnapshot, len(candidates), strings.Join(skipped, "; "), dataDir)
	}
	res.Snapshot, res.Duration = snap, time.Since(start)
	recordRestore(st, res, o, log)
	return res, nil
}

// recordRestore says which snapshot etcd now starts from and, when it may be
// older than etcd's last state, why: `status` and the metrics show it.
func recordRestore(st *store.Store, res *RestoreResult, o RestoreOptions, log *slog.Logger) {
	snap, boot := res.Snapshot, hostfs.BootID()
	if o.Snapshot == "" {
		res.Stale = staleness(st, snap, res.Skipped, boot)
	}
	if res.Stale != "" {
		log.Warn("restored snapshot may be older than etcd's last state", "snapshot", snap.Meta.ID, "why", res.Stale)
	}
	rec := store.RestoreRecord{Time: time.Now().UTC(), SnapshotID: snap.Meta.ID, Revision: snap.Meta.Etcd.Revision, Image: snap.Meta.Image.Reference, BootID: boot, Stale: res.Stale}
	if err := st.WriteRestoreRecord(rec); err != nil {
		log.Warn("restore record not written", "err", err)
	}
}

// errBadSnapshot marks a fault of the snapshot itself, after which an older one is tried.
var errBadSnapshot = errors.New("bad snapshot")

func hasMember(dataDir string) bool {
	fi, err := os.Stat(filepath.Join(dataDir, "member"))
	return err == nil && fi.IsDir()
}

// prepareDataDir removes the work files of an interrupted restore. Nothing else is
// touched: without member/ the data dir holds nothing etcd would use.
func prepareDataDir(dataDir string, log *slog.Logger) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir %s: %w", dataDir, err)
	}
	for _, name := range []string{restoreWork, stagingName} {
		p := filepath.Join(dataDir, name)
		if _, err := os.Stat(p); err == nil {
			log.Info("removing the leftovers of an interrupted run", "path", p)
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("remove %s: %w", p, err)
			}
		}
	}
	return nil
}

func restoreCandidates(st *store.Store, id string) ([]store.Snapshot, error) {
	if id != "" {
		snap, err := st.Get(id)
		if err != nil {
			return nil, fmt.Errorf("snapshot %q: %w", id, err)
		}
		return []store.Snapshot{*snap}, nil
	}
	snaps, _, err := st.List()
	return snaps, err
}

func restoreOne(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, dataDir string, snap *store.Snapshot, o RestoreOptions, log *slog.Logger) error {
	// sha256 is checked while decompressing (OpenRaw), not in a pass of its own.
	doneImage := timeStep(log, "restore", "image and its facts")
	img, err := recordedImage(ctx, rt, st, snap.Meta.Image, log)
	if err != nil {
		return err
	}
	facts, err := imageFacts(ctx, rt, st, img, true, log)
	doneImage()
	if err != nil {
		return err
	}
	if err := checkRoom(dataDir, snap.Meta.RawSize); err != nil {
		return err
	}
	work := filepath.Join(dataDir, restoreWork)
	w := &workspace{rt: rt, img: img, tools: factsTools(facts), hostWork: work}
	if err := w.makeDirs(); err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bump := false
	if o.BumpRevision {
		if bump, err = w.bumpSupported(ctx, st, facts, log); err != nil {
			return err
		}
		if !bump {
			log.Warn("this image's tool cannot bump the revision; restoring without it", "tool", snapshotTool(w.tools), "image", img.Reference)
		}
	}
	restore, err := prepareWhileDecompressing(ctx, st, snap, w, m, bump, log)
	if err != nil {
		return err
	}
	defer restore.Close()
	failpoint.Inject("restore-after-decompress")
	warnMemberDrift(m, snap, log)
	doneRestore := timeStep(log, "restore", "etcdutl snapshot restore")
	err = w.restoreResult(restore.Run(ctx))
	doneRestore()
	if err != nil {
		return err
	}
	failpoint.Inject("restore-before-commit")
	defer timeStep(log, "restore", "commit (fsync tree, rename)")()
	return commitMember(work, dataDir)
}

// prepareWhileDecompressing creates the restore sidecar while the snapshot
// is decompressed into the work dir, its sha256 and etcd's trailer checked in
// the same pass: the container's cost overlaps the decompression instead of
// following it.
//
// No second check of the decompressed file runs: it is byte for byte the
// file etcd's own `snapshot status` read completely and matched before the
// snapshot was stored (the stored sha256 proves it), and `snapshot restore`
// reads all of it again.
func prepareWhileDecompressing(ctx context.Context, st *store.Store, snap *store.Snapshot, w *workspace, m *manifest.Etcd, bump bool, log *slog.Logger) (*erdrt.PreparedSidecar, error) {
	type prepared struct {
		restore *erdrt.PreparedSidecar
		err     error
	}
	ready := make(chan prepared, 1)
	go func() {
		defer timeStep(log, "restore", "create the restore sidecar")()
		var p prepared
		p.restore, p.err = w.prepare(ctx, "restore", w.restoreArgs(m, snap, bump), true)
		ready <- p
	}()
	doneDecompress := timeStep(log, "restore", "decompress+sha256+trailer")
	derr := decompress(st, snap, w.snapshotFile())
	doneDecompress()
	p := <-ready
	if err := errors.Join(derr, p.err); err != nil {
		if p.restore != nil {
			p.restore.Close()
		}
		if derr != nil {
			return nil, derr // its kind (bad snapshot, no room) decides what comes next
		}
		return nil, err
	}
	return p.restore, nil
}

// checkRoom refuses before writing anything when the tmpfs cannot hold the
// staged snapshot, the restored database and etcd's preallocated WAL at once.
func checkRoom(dataDir string, raw int64) error {
	need := 2*raw + 64*mib + 16*mib
	free, err := freeBytes(dataDir)
	if err != nil {
		return err
	}
	if free < need {
		return fmt.Errorf("%w: restoring needs %s free on %s but it has %s; make the tmpfs at least %s (size= in /etc/fstab), then run restore again", ErrNoRoom, humanMiB(need), dataDir, humanMiB(free), humanMiB(need+raw))
	}
	if mem, err := hostfs.MemAvailable(); err == nil && mem < need {
		return fmt.Errorf("%w: restoring into tmpfs needs %s of memory but only %s is available", ErrNoRoom, humanMiB(need), humanMiB(mem))
	}
	return nil
}

// decompress writes the raw snapshot to dst in one pass that checks the
// stored sha256 (OpenRaw) and, for a snapshot from `etcdctl snapshot save`,
// etcd's own sha256 trailer: the decoder and the writes run here, the
// trailer's hash in a goroutine of its own, so the pass takes about as long as
// the slower of the two. The file is complete and checked only when it
// returns nil.
func decompress(st *store.Store, snap *store.Snapshot, dst string) error {
	r, err := st.OpenRaw(snap)
	if err != nil {
		return fmt.Errorf("%w: %w", errBadSnapshot, err)
	}
	defer r.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	tc := newTrailerCheck()
	pipe := hashpipe.New(tc, 4, 1<<20)
	err = copyAndHash(f, r, pipe)
	pipe.Close()
	switch {
	case errors.Is(err, errNoSpace):
		return fmt.Errorf("%w: no room to stage the snapshot in %s: %w", ErrNoRoom, filepath.Dir(dst), err)
	case errors.Is(err, errStageWrite):
		return err
	case err != nil:
		return fmt.Errorf("%w: decompress %s: %w", errBadSnapshot, snap.Meta.ID, err)
	}
	if _, err := tc.Result(); err != nil {
		return fmt.Errorf("%w: %s: %w", errBadSnapshot, snap.Meta.ID, err)
	}
	return f.Sync()
}

var errStageWrite = errors.New("write the staged snapshot")

// copyAndHash reads r into the pipe's chunks, writes each to f and hands it
// on to be hashed; read errors are returned as they are, write errors wrap
// errStageWrite.
func copyAndHash(f *os.File, r io.Reader, pipe *hashpipe.Pipe) error {
	for {
		buf := pipe.Get()
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return fmt.Errorf("%w %s: %w", errStageWrite, f.Name(), err)
			}
		}
		pipe.Hash(buf[:n])
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			return nil
		case rerr != nil:
			return rerr
		}
	}
}

func warnMemberDrift(m *manifest.Etcd, snap *store.Snapshot, log *slog.Logger) {
	rec := snap.Meta.Member
	if rec.Name != m.Member.Name || rec.InitialCluster != m.Member.InitialCluster || rec.InitialClusterToken != m.Member.InitialClusterToken {
		log.Warn("member settings differ from the snapshot's; using the manifest's",
			"manifest_name", m.Member.Name, "snapshot_name", rec.Name,
			"manifest_initial_cluster", m.Member.InitialCluster, "snapshot_initial_cluster", rec.InitialCluster)
	}
}

// commitMember moves the restored member/ into the data dir in one rename on the
// same filesystem and makes it durable.
func commitMember(work, dataDir string) error {
	out := filepath.Join(work, "out")
	if err := hostfs.SyncTree(out); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(out, "member"), filepath.Join(dataDir, "member")); err != nil {
		return fmt.Errorf("move restored member into %s: %w", dataDir, err)
	}
	if err := os.Chmod(dataDir, 0o700); err != nil {
		return err
	}
	return hostfs.SyncDir(dataDir)
}
