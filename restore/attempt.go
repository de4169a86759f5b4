package restore

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// restoreWork is the work dir, in the data dir, a snapshot is restored in
// before its member is moved into place.
const restoreWork = ".etcd-ramdisk-restore"

// restoreOne restores snap into the data dir: in the image it was taken
// with, staged and checked on the data dir's tmpfs, committed in one rename.
func (r *run) restoreOne(ctx context.Context, snap *store.Snapshot) error {
	// sha256 is checked while decompressing (OpenRaw), not in a pass of its own.
	doneImage := logging.Step(ctx, "restore", "image and its facts")
	img, err := etcdtool.RecordedImage(ctx, r.rt, r.st, snap.Meta.Image)
	if err != nil {
		return err
	}
	facts, err := etcdtool.ImageFacts(ctx, r.rt, r.st, img, true)
	doneImage()
	if err != nil {
		return err
	}
	chain, replay := r.journalChain(ctx, snap)
	var grows int64
	if replay {
		grows = chain.EventBytes
	}
	if err := checkRoom(r.dataDir, snap.Meta.RawSize, grows); err != nil {
		return err
	}
	work := filepath.Join(r.dataDir, restoreWork)
	w, err := etcdtool.NewWorkspace(r.rt, img, etcdtool.FactsTools(facts), work)
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bump, err := r.bump(ctx, w, facts, img)
	if err != nil {
		return err
	}
	// A journal chain after the snapshot is written into the decompressed
	// database before the one restore (with the bump). Replayed through
	// etcd instead, the first restore keeps the snapshot's revisions (the
	// chain's must line up 1:1) and the bump comes with the second.
	viaEtcd := replay && r.opts.JournalReplay == ReplayEtcd
	restore, err := r.prepareWhileDecompressing(ctx, snap, w, bump && !viaEtcd)
	if err != nil {
		return err
	}
	defer func() {
		if restore != nil {
			restore.Close()
		}
	}()
	if replay && !viaEtcd {
		if viaEtcd, err = r.applyJournal(ctx, snap, w, chain); err != nil {
			return err
		}
		if viaEtcd {
			restore.Close()
			restore = nil
			os.Remove(w.SnapshotFile())
			if restore, err = r.prepareWhileDecompressing(ctx, snap, w, false); err != nil {
				return err
			}
		}
	}
	failpoint.Inject("restore-after-decompress")
	warnMemberDrift(ctx, r.m, snap)
	doneRestore := logging.Step(ctx, "restore", "etcdutl snapshot restore")
	err = w.RestoreResult(restore.Run(ctx))
	doneRestore()
	if err != nil {
		return err
	}
	if viaEtcd {
		if err := r.withJournal(ctx, snap, w, img, chain, bump); err != nil {
			return err
		}
	}
	failpoint.Inject("restore-before-commit")
	defer logging.Step(ctx, "restore", "commit (fsync tree, rename)")()
	return commitMember(work, r.dataDir)
}

// bump says whether to restore with --bump-revision: when asked to and the
// image's tool can.
func (r *run) bump(ctx context.Context, w *etcdtool.Workspace, facts *store.ImageFacts, img *erdrt.Image) (bool, error) {
	if !r.opts.BumpRevision {
		return false, nil
	}
	bump, err := w.BumpSupported(ctx, r.st, facts)
	if err != nil {
		return false, err
	}
	if !bump {
		logging.G(ctx).Warn("this image's tool cannot bump the revision; restoring without it", "tool", w.SnapshotTool(), "image", img.Reference)
	}
	return bump, nil
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
func (r *run) prepareWhileDecompressing(ctx context.Context, snap *store.Snapshot, w *etcdtool.Workspace, bump bool) (*erdrt.PreparedSidecar, error) {
	type prepared struct {
		restore *erdrt.PreparedSidecar
		err     error
	}
	ready := make(chan prepared, 1)
	go func() {
		defer logging.Step(ctx, "restore", "create the restore sidecar")()
		var p prepared
		p.restore, p.err = w.PrepareRestore(ctx, r.m, snap, bump)
		ready <- p
	}()
	doneDecompress := logging.Step(ctx, "restore", "decompress+sha256+trailer")
	derr := etcdtool.Decompress(ctx, r.st, snap, w.SnapshotFile())
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

func warnMemberDrift(ctx context.Context, m *manifest.Etcd, snap *store.Snapshot) {
	rec := snap.Meta.Member
	if rec.Name != m.Member.Name || rec.InitialCluster != m.Member.InitialCluster || rec.InitialClusterToken != m.Member.InitialClusterToken {
		logging.G(ctx).Warn("member settings differ from the snapshot's; using the manifest's",
			"manifest_name", m.Member.Name, "snapshot_name", rec.Name,
			"manifest_initial_cluster", m.Member.InitialCluster, "snapshot_initial_cluster", rec.InitialCluster)
	}
}
