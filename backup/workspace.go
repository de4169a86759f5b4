package backup

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/etcd-ramdisk/etcd-ramdisk/images"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

var errNoSpace = syscall.ENOSPC

// workspace runs etcd's tools on a staged snapshot in sidecars from the recorded
// image: no network, read-only root, the snapshot read-only, and only the work
// directory writable.
type workspace struct {
	rt       *erdrt.Runtime
	img      *erdrt.Image
	tools    images.Tools
	hostWork string
}

const ctWork = "/var/lib/etcd-ramdisk-restore"

func (w *workspace) run(ctx context.Context, purpose string, args []string, writable bool) (*erdrt.Result, error) {
	mounts := []erdrt.Mount{{Host: filepath.Join(w.hostWork, "snapshot.db"), Container: ctWork + "/snapshot.db", ReadOnly: true}}
	if writable {
		if err := os.MkdirAll(filepath.Join(w.hostWork, "out"), 0o700); err != nil {
			return nil, err
		}
		mounts = append(mounts, erdrt.Mount{Host: filepath.Join(w.hostWork, "out"), Container: ctWork + "/out"})
	}
	return w.rt.RunSidecar(ctx, erdrt.SidecarOptions{Image: w.img, Args: args, Mounts: mounts, Purpose: purpose})
}

// status reads the staged file with etcd's own tool.
func (w *workspace) status(ctx context.Context) (store.EtcdStatus, error) {
	res, err := w.run(ctx, "verify", statusArgs(w.tools, ctWork+"/snapshot.db"), false)
	if err != nil {
		return store.EtcdStatus{}, fmt.Errorf("snapshot status in %s: %w", w.img.Reference, err)
	}
	if err := res.Err("snapshot status"); err != nil {
		return store.EtcdStatus{}, fmt.Errorf("%w: %w", errBadSnapshot, err)
	}
	got, err := parseSnapshotStatus(res.Stdout)
	if err != nil {
		return store.EtcdStatus{}, fmt.Errorf("%w: %w", errBadSnapshot, err)
	}
	return got, nil
}

// checkStatus reads the staged file with etcd's own tool and compares it with
// what was recorded when it was taken.
func (w *workspace) checkStatus(ctx context.Context, snap *store.Snapshot) error {
	got, err := w.status(ctx)
	if err != nil {
		return err
	}
	want := snap.Meta.Etcd
	if got.Revision != want.Revision || got.Hash != want.Hash {
		return fmt.Errorf("%w: status says revision %d hash %d, metadata says revision %d hash %d", errBadSnapshot, got.Revision, got.Hash, want.Revision, want.Hash)
	}
	return nil
}

// restore runs `snapshot restore` into the work dir's out/ with the manifest's
// member settings.
func (w *workspace) restore(ctx context.Context, m *manifest.Etcd, snap *store.Snapshot, bump bool, log *slog.Logger) error {
	tool := w.tools.Etcdutl
	if tool == "" {
		tool = w.tools.Etcdctl
	}
	args := []string{tool, "snapshot", "restore", ctWork + "/snapshot.db",
		"--data-dir", ctWork + "/out/data",
		"--name", m.Member.Name,
		"--initial-cluster", m.Member.InitialCluster,
		"--initial-cluster-token", m.Member.InitialClusterToken,
		"--initial-advertise-peer-urls", strings.Join(m.Member.InitialAdvertisePeerURLs, ","),
	}
	if snap.Meta.FromDataDir() {
		// A database copied from a data dir has no sha256 trailer (only
		// `snapshot save` appends one); the store's own sha256 guarded it.
		args = append(args, "--skip-hash-check")
	}
	if bump {
		ok, err := w.supportsBump(ctx, tool)
		if err != nil {
			return err
		}
		if ok {
			args = append(args, "--bump-revision", bumpBy, "--mark-compacted")
		} else {
			log.Warn("this image's tool cannot bump the revision; restoring without it", "tool", tool, "image", w.img.Reference)
		}
	}
	res, err := w.run(ctx, "restore", args, true)
	if err != nil {
		return fmt.Errorf("snapshot restore in %s: %w", w.img.Reference, err)
	}
	if err := res.Err("snapshot restore"); err != nil {
		if strings.Contains(strings.ToLower(string(res.Stderr)), "no space left") {
			return fmt.Errorf("%w: %w", ErrNoRoom, err)
		}
		return err
	}
	// etcd's tool writes <data-dir>/member; lift it to out/member for the commit.
	return os.Rename(filepath.Join(w.hostWork, "out/data/member"), filepath.Join(w.hostWork, "out/member"))
}

func (w *workspace) supportsBump(ctx context.Context, tool string) (bool, error) {
	res, err := w.run(ctx, "help", []string{tool, "snapshot", "restore", "--help"}, false)
	if err != nil {
		return false, fmt.Errorf("read %s help: %w", tool, err)
	}
	return strings.Contains(string(res.Stdout)+string(res.Stderr), "--bump-revision"), nil
}

// syncTree fsyncs every file and directory below root, so the rename that
// publishes it publishes durable data.
func syncTree(root string) error {
	return filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
