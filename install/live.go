package install

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/verify"
)

// ExecRunner runs commands as child processes with the given output.
func ExecRunner(stdout, stderr io.Writer) func(context.Context, []string) error {
	return func(ctx context.Context, argv []string) error {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		return cmd.Run()
	}
}

// TakeVerified takes a backup and verifies the snapshot that holds etcd's
// current revision (the newest one when the revision had not moved).
func TakeVerified(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, o backup.Options) (string, error) {
	res, err := backup.Run(ctx, rt, st, m, o)
	if err != nil {
		return "", err
	}
	snap := res.Snapshot
	if snap == nil {
		good, _, err := st.List()
		if err != nil {
			return "", err
		}
		if len(good) == 0 {
			return "", fmt.Errorf("%w in %s", store.ErrNoSnapshot, st.Dir)
		}
		snap = &good[0]
	}
	if err := verify.Snapshot(ctx, rt, st, snap, st.Dir); err != nil {
		return "", err
	}
	return fmt.Sprintf("snapshot %s revision %d verified", snap.Meta.ID, snap.Meta.Etcd.Revision), nil
}

// StopEtcd stops the running etcd container (SIGTERM, SIGKILL after grace).
// kubelet must be stopped already, or it would start etcd again. No running
// etcd is not an error.
func StopEtcd(ctx context.Context, rt *erdrt.Runtime, m *manifest.Etcd, grace time.Duration, log *slog.Logger) error {
	ec, sig, err := rt.StopEtcd(ctx, m.Namespace, m.Image, grace)
	if err != nil {
		return err
	}
	if ec == nil {
		log.Info("etcd is not running")
		return nil
	}
	log.Info("stopped etcd", "container", ec.ID, "signal", sig)
	return nil
}
