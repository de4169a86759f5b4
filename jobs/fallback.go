package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/etcd-ramdisk/etcd-ramdisk/images"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// openTarget chooses where etcd's tools run (chooseTarget) and runs the first
// of them there with first: the save, or etcdctl's `endpoint status` when
// etcd's gateway did not answer. An exec the etcd container refuses falls
// back to a sidecar, where first runs again, unless method is MethodExec; an
// etcd that stopped meanwhile ends the backup, since a sidecar would only
// wait on a dead endpoint, holding the lock.
func openTarget(ctx context.Context, r erdrt.ToolRunner, ec *erdrt.EtcdContainer, m *manifest.Etcd, st *store.Store, tools images.Tools, tls tlsArgs, method string, first func(*target) error, log *slog.Logger) (*target, error) {
	tgt, err := chooseTarget(r, ec, m, st, tools, tls, method, log)
	if err != nil {
		return nil, err
	}
	err = first(tgt)
	if err != nil && !r.Running(ctx, ec) {
		tgt.cleanupTarget()
		return nil, fmt.Errorf("%w: etcd container %s stopped during the backup (%w)", erdrt.ErrEtcdNotRunning, ec.ID, err)
	}
	if err != nil && tgt.method == MethodExec && method != MethodExec && errors.Is(err, errExecFailed) {
		log.Warn("exec in the etcd container refused; using a sidecar", "err", err)
		tgt.cleanupTarget()
		if tgt, err = sidecarTarget(r, ec, m, tools, tls, st.StagingDir()); err != nil {
			return nil, err
		}
		err = first(tgt)
	}
	if err != nil {
		tgt.cleanupTarget()
		return nil, err
	}
	return tgt, nil
}
