package etcdtool

import (
	"context"
	"errors"
	"fmt"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
)

// OpenTarget chooses where etcd's tools run (chooseTarget) and runs the first
// of them there with first: the save, or etcdctl's `endpoint status` when
// etcd's gateway did not answer. An exec the etcd container refuses falls
// back to a sidecar staging in sidecarStaging, where first runs again, unless
// method is MethodExec; an etcd that stopped meanwhile ends the backup, since
// a sidecar would only wait on a dead endpoint, holding the lock.
func (e *Etcd) OpenTarget(ctx context.Context, method, sidecarStaging string, first func(*Target) error) (*Target, error) {
	tgt, err := e.chooseTarget(ctx, method, sidecarStaging)
	if err != nil {
		return nil, err
	}
	err = first(tgt)
	if err != nil && !e.r.Running(ctx, e.ec) {
		tgt.Close()
		return nil, fmt.Errorf("%w: etcd container %s stopped during the backup (%w)", erdrt.ErrEtcdNotRunning, e.ec.ID, err)
	}
	if err != nil && tgt.method == MethodExec && method != MethodExec && errors.Is(err, errExecFailed) {
		logging.G(ctx).Warn("exec in the etcd container refused; using a sidecar", "err", err)
		tgt.Close()
		if tgt, err = e.sidecarTarget(sidecarStaging); err != nil {
			return nil, err
		}
		err = first(tgt)
	}
	if err != nil {
		tgt.Close()
		return nil, err
	}
	return tgt, nil
}

// chooseTarget prefers exec in the etcd container, staging on its tmpfs; it falls
// back to a sidecar staging in sidecarStaging when the tmpfs lacks room.
func (e *Etcd) chooseTarget(ctx context.Context, method, sidecarStaging string) (*Target, error) {
	switch method {
	case MethodSidecar:
		return e.sidecarTarget(sidecarStaging)
	case MethodExec:
		return e.ExecTarget()
	}
	dataDir := e.m.Member.HostDataDir
	need := DBSize(dataDir)*11/10 + 8*MiB
	free, err := FreeBytes(dataDir)
	if err == nil && free >= need {
		return e.ExecTarget()
	}
	logging.G(ctx).Warn("staging outside the tmpfs in a sidecar", "reason", NoStagingRoom, "need", HumanMiB(need), "free", HumanMiB(free))
	return e.sidecarTarget(sidecarStaging)
}
