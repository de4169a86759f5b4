package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/ctxio"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// ErrDataDirInUse means a process still has etcd's data dir open: its database
// is not a consistent file to copy, so no cold snapshot was taken.
var ErrDataDirInUse = errors.New("etcd's data dir is still in use")

// errNoData means the data dir holds no member: etcd never ran this boot.
var errNoData = errors.New("no etcd member in the data dir")

// cold copies member/snap/db of an etcd that has exited. bbolt's file is
// consistent once its last writer has closed it (etcd commits on SIGTERM), so
// the copy is a snapshot of etcd's last state. It is verified in the recorded
// image like any snapshot and stored with Source data-dir.
func (r *run) cold(ctx context.Context) (*Result, error) {
	log := logging.G(ctx)
	dataDir := r.m.Member.HostDataDir
	db := manifest.DBPath(dataDir)
	if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", errNoData, db)
	} else if err != nil {
		return nil, fmt.Errorf("cold snapshot: %w", err)
	}
	ec, err := r.coldImage(ctx)
	if err != nil {
		return nil, err
	}
	facts, err := etcdtool.ImageFacts(ctx, r.rt, r.st, &ec.Image, true)
	if err != nil {
		return nil, err
	}
	tools := etcdtool.FactsTools(facts)
	work, err := r.coldStaging(ctx)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	w, err := etcdtool.NewWorkspace(r.rt, &ec.Image, tools, work)
	if err != nil {
		return nil, err
	}
	if err := copyUnused(ctx, db, dataDir, w.SnapshotFile()); err != nil {
		return nil, err
	}
	status, err := w.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: data-dir copy: %w", etcdtool.ErrVerify, err)
	}
	if status.Revision <= 1 {
		log.Info("etcd's data dir holds no writes; nothing to back up", "revision", status.Revision)
		return &Result{Skipped: true, Revision: status.Revision, Source: store.SourceDataDir}, nil
	}
	// The copy records no cluster or member ID: etcd has exited and cannot be
	// asked, and the newest snapshot's IDs would claim an identity nobody saw
	// (whether this data dir is that cluster is the very question). Unknown
	// IDs leave the checks to the revision, as before the IDs were recorded.
	if skip, err := unchanged(ctx, r.st, status); skip || err != nil {
		return &Result{Skipped: true, Revision: status.Revision, Source: store.SourceDataDir}, err
	}
	meta := r.newMetadata(ec, status)
	meta.Source = store.SourceDataDir
	kind := store.Good
	if why := resetGuard(r.st, status, r.opts.AcceptReset); why != "" {
		kind, meta.Suspect = store.Suspect, why
	}
	snap, err := storeStaged(ctx, r.st, w.SnapshotFile(), meta, kind)
	if err != nil {
		return nil, err
	}
	log.Info("snapshot stored from etcd's data dir", "id", snap.Meta.ID, "kind", kind.String(), "revision", status.Revision, "raw", snap.Meta.RawSize, "stored", snap.Meta.StoredSize)
	return &Result{Snapshot: snap, Revision: status.Revision, Source: store.SourceDataDir, etcd: ec}, nil
}

// coldImage finds the image the stopped etcd ran: its newest container (kept
// by containerd after it exits), else the manifest's image, else the image
// recorded with the newest snapshot.
func (r *run) coldImage(ctx context.Context) (*erdrt.EtcdContainer, error) {
	ec, err := r.rt.LatestEtcd(ctx, r.m.Namespace, r.m.Image)
	if err == nil {
		return ec, nil
	}
	logging.G(ctx).Warn("no etcd container left to name the image; trying the manifest's", "err", err)
	img, ierr := r.rt.ResolveImage(ctx, r.m.Image, r.m.Image)
	if ierr == nil {
		return &erdrt.EtcdContainer{Image: *img}, nil
	}
	if newest, nerr := r.st.Newest(); nerr == nil {
		if img, derr := etcdtool.RecordedImage(ctx, r.rt, r.st, newest.Meta.Image); derr == nil {
			return &erdrt.EtcdContainer{Image: *img}, nil
		}
	}
	return nil, fmt.Errorf("cold snapshot: no etcd image to verify it with: %w; manifest image: %w", err, ierr)
}

// coldStaging picks where the copy is verified: on the tmpfs beside the
// database when it has room (nothing touches the disk), else the backup dir.
func (r *run) coldStaging(ctx context.Context) (string, error) {
	dataDir := r.m.Member.HostDataDir
	dir := filepath.Join(dataDir, etcdtool.StagingName)
	need := etcdtool.DBSize(dataDir) + 8*etcdtool.MiB
	if free, err := etcdtool.FreeBytes(dataDir); err != nil || free < need {
		logging.G(ctx).Warn("staging the data-dir copy in the backup dir", "reason", etcdtool.NoStagingRoom, "need", etcdtool.HumanMiB(need), "free", etcdtool.HumanMiB(free))
		dir = r.st.StagingDir()
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("staging dir %s: %w", dir, err)
	}
	return dir, nil
}

// copyUnused copies db to dst while holding bbolt's own exclusive lock on it,
// after checking that no process has any file of the data dir open. etcd takes
// the same lock when it opens the database, so it cannot start writing during
// the copy; an etcd still running makes this fail instead of copying a file
// that is being written.
func copyUnused(ctx context.Context, db, dataDir, dst string) error {
	src, err := os.Open(db)
	if err != nil {
		return fmt.Errorf("cold snapshot: %w", err)
	}
	defer src.Close()
	if err := syscall.Flock(int(src.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("%w: %s is locked by another process (flock: %v)", ErrDataDirInUse, db, err)
	}
	defer syscall.Flock(int(src.Fd()), syscall.LOCK_UN)
	if users, err := hostfs.Openers(manifest.MemberDir(dataDir)); err != nil {
		return fmt.Errorf("cold snapshot: look for processes using %s: %w", dataDir, err)
	} else if len(users) > 0 {
		return fmt.Errorf("%w: %s", ErrDataDirInUse, strings.Join(users, ", "))
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("cold snapshot: %w", err)
	}
	defer out.Close()
	if _, err := io.Copy(out, ctxio.Reader(ctx, src)); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return fmt.Errorf("%w: no room to stage the data-dir copy in %s: %w", etcdtool.ErrNoRoom, filepath.Dir(dst), err)
		}
		return fmt.Errorf("cold snapshot: copy %s: %w", db, err)
	}
	return out.Close()
}

// storeStaged stores the verified copy in file as a snapshot of its own.
func storeStaged(ctx context.Context, st *store.Store, file string, meta *store.Metadata, kind store.Kind) (*store.Snapshot, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open staged snapshot: %w", err)
	}
	defer f.Close()
	return st.Write(ctx, meta, f, kind)
}
