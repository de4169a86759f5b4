package backup

import (
	"context"
	"fmt"
	"os"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/clock"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// storeSnapshot checks and stages the saved file, then commits it, good or
// (when its revision went backwards or its cluster is another) suspect. now
// is what etcd reported before the save: the server's version and the IDs
// come from there, the revision from the saved file.
func (r *run) storeSnapshot(ctx context.Context, tgt *etcdtool.Target, name string, now etcdtool.Status) (*Result, error) {
	defer os.Remove(tgt.HostFile(name))
	failpoint.Inject("backup-after-save")
	status, sg, err := verifyAndStage(ctx, r.st, tgt, name, now.Revision)
	if err != nil {
		return nil, err
	}
	defer sg.Discard()
	if now.Version != "" {
		status.Version = now.Version
	}
	status.Identity = now.Identity
	meta := r.newMetadata(r.ec, status)
	kind := store.Good
	if why := resetGuard(r.st, status, r.opts.AcceptReset); why != "" {
		kind, meta.Suspect = store.Suspect, why
	}
	doneCommit := logging.Step(ctx, "backup", "commit (link, fsyncs, metadata)")
	snap, err := r.st.Commit(ctx, meta, sg, kind)
	doneCommit()
	if err != nil {
		return nil, err
	}
	logging.G(ctx).Info("snapshot stored", "id", snap.Meta.ID, "kind", kind.String(), "revision", status.Revision, "raw", snap.Meta.RawSize, "stored", snap.Meta.StoredSize)
	return &Result{Snapshot: snap, Revision: status.Revision}, nil
}

// verifyStaged reads the staged file with etcd's own tool, in the same image.
func verifyStaged(ctx context.Context, tgt *etcdtool.Target, name string, minRev int64) (store.EtcdStatus, error) {
	status, err := tgt.SnapshotStatus(ctx, name)
	if err != nil {
		return store.EtcdStatus{}, fmt.Errorf("%w: %w", etcdtool.ErrVerify, err)
	}
	if status.Revision < minRev {
		return store.EtcdStatus{}, fmt.Errorf("%w: snapshot revision %d is below the %d etcd reported before it", etcdtool.ErrVerify, status.Revision, minRev)
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
func verifyAndStage(ctx context.Context, st *store.Store, tgt *etcdtool.Target, name string, minRev int64) (store.EtcdStatus, *store.Staged, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var status store.EtcdStatus
	verr := make(chan error, 1)
	go func() {
		defer logging.Step(ctx, "backup", "snapshot status (etcd's check)")()
		var err error
		status, err = verifyStaged(ctx, tgt, name, minRev)
		if err != nil {
			cancel() // a snapshot that fails its check is not worth compressing
		}
		verr <- err
	}()
	doneStage := logging.Step(ctx, "backup", "compress+sha256+fsync (beside etcd's check)")
	sg, serr := stage(ctx, st, tgt.HostFile(name))
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

// newMetadata describes a snapshot of etcd at status taken with ec's image,
// with the manifest's member settings the restore will use.
func (r *run) newMetadata(ec *erdrt.EtcdContainer, status store.EtcdStatus) *store.Metadata {
	m := r.m
	node, _ := os.Hostname()
	now := clock.Now().UTC() // the test-only override reaches snapshot times here
	return &store.Metadata{
		Time: now, Reason: r.opts.Reason, Node: node, Source: store.SourceEtcd, BootID: hostfs.BootID(),
		Image: store.Image{Reference: ec.Image.Reference, Digest: ec.Image.Digest.String()},
		Etcd:  status,
		Member: store.Member{
			Name: m.Member.Name, InitialCluster: m.Member.InitialCluster,
			InitialAdvertisePeerURLs: m.Member.InitialAdvertisePeerURLs,
			InitialClusterToken:      m.Member.InitialClusterToken, DataDir: m.Member.HostDataDir,
		},
	}
}
