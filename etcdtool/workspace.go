package etcdtool

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/runtime/images"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Workspace runs etcd's tools on a staged snapshot in sidecars from the recorded
// image: no network, read-only root, the snapshot read-only, and only the work
// directory writable.
type Workspace struct {
	rt       *erdrt.Runtime
	img      *erdrt.Image
	tools    images.Tools
	hostWork string
}

const (
	ctWork = "/var/lib/etcd-ramdisk-restore"
	bumpBy = "1000000000"
)

// NewWorkspace runs img's tools on what is staged in dir, creating its in/
// and out/.
func NewWorkspace(rt *erdrt.Runtime, img *erdrt.Image, tools images.Tools, dir string) (*Workspace, error) {
	w := &Workspace{rt: rt, img: img, tools: tools, hostWork: dir}
	if err := w.makeDirs(); err != nil {
		return nil, err
	}
	return w, nil
}

// SnapshotFile is where the staged snapshot goes on the host. Sidecars see its
// directory read-only, so a sidecar can be created before the file is written.
func (w *Workspace) SnapshotFile() string { return filepath.Join(w.hostWork, "in", "snapshot.db") }

const ctSnapshot = ctWork + "/in/snapshot.db"

// OutDir is where `snapshot restore` leaves the restored member (out/member)
// on the host.
func (w *Workspace) OutDir() string { return filepath.Join(w.hostWork, "out") }

// ResetOut empties out/ for another `snapshot restore`.
func (w *Workspace) ResetOut() error {
	if err := os.RemoveAll(w.OutDir()); err != nil {
		return err
	}
	return os.Mkdir(w.OutDir(), 0o700)
}

// prepare creates the sidecar for one tool; the work dir's in/ (and out/ when
// writable) must exist, the snapshot in it need not yet.
func (w *Workspace) prepare(ctx context.Context, purpose string, args []string, writable bool) (*erdrt.PreparedSidecar, error) {
	mounts := []erdrt.Mount{{Host: filepath.Join(w.hostWork, "in"), Container: ctWork + "/in", ReadOnly: true}}
	if writable {
		mounts = append(mounts, erdrt.Mount{Host: filepath.Join(w.hostWork, "out"), Container: ctWork + "/out"})
	}
	return w.rt.PrepareSidecar(ctx, erdrt.SidecarOptions{Image: w.img, Args: args, Mounts: mounts, Purpose: purpose})
}

// makeDirs creates the work dir's in/ and out/.
func (w *Workspace) makeDirs() error {
	for _, d := range []string{"in", "out"} {
		if err := os.MkdirAll(filepath.Join(w.hostWork, d), 0o700); err != nil {
			return err
		}
	}
	return nil
}

func (w *Workspace) run(ctx context.Context, purpose string, args []string, writable bool) (*erdrt.Result, error) {
	p, err := w.prepare(ctx, purpose, args, writable)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return p.Run(ctx)
}

// Status reads the staged file with etcd's own tool.
func (w *Workspace) Status(ctx context.Context) (store.EtcdStatus, error) {
	res, err := w.run(ctx, "verify", statusArgs(w.tools, ctSnapshot), false)
	return w.statusResult(res, err)
}

func (w *Workspace) statusResult(res *erdrt.Result, err error) (store.EtcdStatus, error) {
	if err != nil {
		return store.EtcdStatus{}, fmt.Errorf("snapshot status in %s: %w", w.img.Reference, err)
	}
	if err := res.Err("snapshot status"); err != nil {
		return store.EtcdStatus{}, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	got, err := parseSnapshotStatus(res.Stdout)
	if err != nil {
		return store.EtcdStatus{}, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	return got, nil
}

// CheckStatus reads the staged file with etcd's own tool and compares it with
// what was recorded when it was taken.
func (w *Workspace) CheckStatus(ctx context.Context, snap *store.Snapshot) error {
	got, err := w.Status(ctx)
	if err != nil {
		return err
	}
	return matchStatus(got, snap)
}

func matchStatus(got store.EtcdStatus, snap *store.Snapshot) error {
	want := snap.Meta.Etcd
	if got.Revision != want.Revision || got.Hash != want.Hash {
		return fmt.Errorf("%w: status says revision %d hash %d, metadata says revision %d hash %d", ErrBadSnapshot, got.Revision, got.Hash, want.Revision, want.Hash)
	}
	return nil
}

// PrepareRestore creates the sidecar that runs `snapshot restore` of the
// staged snapshot; the snapshot need not be there yet.
func (w *Workspace) PrepareRestore(ctx context.Context, m *manifest.Etcd, snap *store.Snapshot, bump bool) (*erdrt.PreparedSidecar, error) {
	return w.prepare(ctx, "restore", w.restoreArgs(m, snap, bump), true)
}

// SnapshotTool names the tool that reads and restores snapshots in the image.
func (w *Workspace) SnapshotTool() string { return snapshotTool(w.tools) }

// restoreArgs runs `snapshot restore` into the work dir's out/ with the
// manifest's member settings.
func (w *Workspace) restoreArgs(m *manifest.Etcd, snap *store.Snapshot, bump bool) []string {
	args := []string{snapshotTool(w.tools), "snapshot", "restore", ctSnapshot,
		"--data-dir", ctWork + "/out/data",
		"--name", m.Member.Name,
		"--initial-cluster", m.Member.InitialCluster,
		"--initial-cluster-token", m.Member.InitialClusterToken,
		"--initial-advertise-peer-urls", strings.Join(m.Member.InitialAdvertisePeerURLs, ","),
	}
	if snap.Meta.FromDataDir() || hasTrailer(snap.Meta.RawSize) {
		// A database copied from a data dir has no sha256 trailer (only
		// `snapshot save` appends one): the store's own sha256 guards it. A
		// trailer was checked by decompress, in the pass that wrote the file
		// (a mismatch stops the restore before this runs): the tool need not
		// read the whole database once more to check it again.
		args = append(args, "--skip-hash-check")
	}
	if bump {
		args = append(args, "--bump-revision", bumpBy, "--mark-compacted")
	}
	return args
}

// RestoreResult checks how `snapshot restore` ended and lifts the member it
// wrote to out/member for the commit.
func (w *Workspace) RestoreResult(res *erdrt.Result, err error) error {
	if err != nil {
		return fmt.Errorf("snapshot restore in %s: %w", w.img.Reference, err)
	}
	if err := res.Err("snapshot restore"); err != nil {
		if strings.Contains(strings.ToLower(string(res.Stderr)), "no space left") {
			return fmt.Errorf("%w: %w", ErrNoRoom, err)
		}
		return err
	}
	return os.Rename(filepath.Join(w.hostWork, "out/data/member"), filepath.Join(w.hostWork, "out/member"))
}

// BumpSupported says whether the image's restore tool takes --bump-revision:
// from the facts recorded for its digest, else from its help in a sidecar,
// recorded for the next time (the caller holds the lock).
func (w *Workspace) BumpSupported(ctx context.Context, st *store.Store, f *store.ImageFacts) (bool, error) {
	if f.BumpRevision != nil {
		return *f.BumpRevision, nil
	}
	res, err := w.run(ctx, "help", restoreHelpArgs(w.tools), false)
	if err != nil {
		return false, fmt.Errorf("read %s help: %w", snapshotTool(w.tools), err)
	}
	ok := helpHasBump(res.Stdout, res.Stderr)
	f.BumpRevision = &ok
	saveFacts(ctx, st, f)
	return ok, nil
}
