package backup

import (
	"context"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// copyOffhost sends the target what it lacks, whatever this run's own outcome:
// the snapshots it sends are already durable, and a run that wrote nothing
// (etcd unchanged) still catches up on what an earlier run could not send.
// It runs without the store's lock and within the config's timeout, and its
// failure is only a warning. A shutdown backup sends nothing: the network may
// already be going down, and a shutdown must not wait for a target; the next
// run sends it.
func (r *run) copyOffhost(ctx context.Context, res *Result) *Result {
	if r.opts.Offhost == nil || r.opts.Reason == store.ReasonShutdown {
		return res
	}
	log := logging.G(ctx)
	cr := offhost.Copy(ctx, r.opts.Offhost, r.st, log)
	if res == nil {
		res = &Result{}
	}
	res.Offhost = cr
	if cr.Err != nil {
		log.Warn("off-host copy failed; the local snapshots are kept and the next run sends them", "err", cr.Err, "backlog", cr.Backlog)
		res.Warnings = append(res.Warnings, cr.Err.Error())
	}
	return res
}
