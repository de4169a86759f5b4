package etcdtool

import (
	"context"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
)

// CleanRuntimeLeftovers removes what a killed run left in the runtime: its
// FIFO directories first (a shim waiting on one answers nothing until they
// are released), then its sidecar containers. Called under the lock.
func CleanRuntimeLeftovers(ctx context.Context, rt *erdrt.Runtime) {
	RemoveLeftoverIO(ctx, rt)
	if n, err := rt.RemoveLeftoverSidecars(ctx); err == nil && n > 0 {
		logging.G(ctx).Info("removed leftover sidecar containers", "count", n)
	}
}

// RemoveLeftoverIO releases and removes the FIFO directories of runs killed
// before they could; only those whose owner is gone. Called under the lock,
// before the job's first containerd call about etcd.
func RemoveLeftoverIO(ctx context.Context, rt *erdrt.Runtime) {
	log := logging.G(ctx)
	removed, err := rt.RemoveLeftoverIO()
	if err != nil {
		log.Warn("remove leftover FIFO directories", "err", err)
	}
	if len(removed) > 0 {
		log.Info("removed FIFO directories of interrupted runs", "dirs", removed)
	}
}
