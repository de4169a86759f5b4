package backup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// hot snapshots the running etcd ec with etcdctl inside its own image.
func (r *run) hot(ctx context.Context, ec *erdrt.EtcdContainer) (*Result, error) {
	logging.G(ctx).Info("found etcd", "container", ec.ID, "image", ec.Image.Reference, "digest", ec.Image.Digest, "backend", r.rt.Backend())
	r.logPodUpdate(ctx, ec)
	doneFacts := logging.Step(ctx, "backup", "image facts")
	facts, err := etcdtool.ImageFacts(ctx, r.rt, r.st, &ec.Image, true)
	doneFacts()
	if err != nil {
		return nil, err
	}
	e, err := etcdtool.NewEtcd(r.rt, ec, r.m, etcdtool.FactsTools(facts))
	if err != nil {
		return nil, err
	}
	r.ec, r.etcd = ec, e
	res, tgt, err := r.snapshotEtcd(ctx)
	if tgt != nil {
		defer tgt.Close()
	}
	if err == nil && tgt != nil {
		tgt.LearnBump(ctx, r.st, facts)
	}
	if err != nil && !errors.Is(err, ErrSuspect) && !r.rt.Running(ctx, ec) {
		return nil, fmt.Errorf("%w: etcd container %s stopped during the backup (%w)", erdrt.ErrEtcdNotRunning, ec.ID, err)
	}
	if res != nil {
		res.Source, res.etcd = store.SourceEtcd, ec
		if tgt != nil {
			res.Method = tgt.Method()
		}
	}
	return res, err
}

// snapshotEtcd asks etcd for its revision, and unless there is nothing new
// takes the snapshot where etcd's tools run (OpenTarget). Asked over etcd's
// JSON gateway, the revision costs no process in etcd's container, and the
// save is the first tool run; when the gateway does not answer, etcdctl's
// `endpoint status` is, as before. tgt is nil when no tool ran.
func (r *run) snapshotEtcd(ctx context.Context) (*Result, *etcdtool.Target, error) {
	name := fmt.Sprintf("snapshot-%d.db", time.Now().UnixNano())
	doneAsk := logging.Step(ctx, "backup", "etcd status (JSON gateway)")
	now, gwErr := r.etcd.GatewayStatus(ctx)
	doneAsk()
	var first func(*etcdtool.Target) error
	if gwErr == nil {
		if res, err := nothingNew(ctx, r.st, now); res != nil || err != nil {
			return res, nil, err
		}
		first = func(t *etcdtool.Target) error { return saveSnapshot(ctx, t, name) }
	} else {
		logging.G(ctx).Info("etcd's JSON gateway did not answer; asking etcdctl for the revision", "err", gwErr)
		first = func(t *etcdtool.Target) (err error) {
			now, err = endpointRevision(ctx, t)
			return err
		}
	}
	tgt, err := r.etcd.OpenTarget(ctx, r.opts.Method, r.st.StagingDir(), first)
	if err != nil {
		return nil, nil, err
	}
	if gwErr != nil {
		if res, err := nothingNew(ctx, r.st, now); res != nil || err != nil {
			return res, tgt, err
		}
		if err := saveSnapshot(ctx, tgt, name); err != nil {
			return nil, tgt, err
		}
	}
	res, err := r.storeSnapshot(ctx, tgt, name, now)
	return res, tgt, err
}

// logPodUpdate says how etcd was told apart from an overlapping pod, and when
// the etcd that runs is not the manifest's image: the image recorded is always
// the one etcd runs, which its data is restored with.
func (r *run) logPodUpdate(ctx context.Context, ec *erdrt.EtcdContainer) {
	log := logging.G(ctx)
	if ec.Waited > 0 || len(ec.Others) > 0 {
		log.Info("kubelet was replacing the etcd pod; chose the container from the manifest's image", "container", ec.ID, "waited", ec.Waited.Round(time.Millisecond), "passed_over", ec.Others)
	}
	if r.m.Image != "" && ec.Image.Reference != r.m.Image {
		log.Warn("the running etcd's image is not the manifest's (kubelet has not replaced the pod yet?); recording the image etcd runs", "running", ec.Image.Reference, "manifest", r.m.Image)
	}
}

// endpointRevision asks the running etcd for its current revision, server
// version and IDs with etcdctl.
func endpointRevision(ctx context.Context, tgt *etcdtool.Target) (etcdtool.Status, error) {
	defer logging.Step(ctx, "backup", "etcdctl endpoint status")()
	return tgt.EndpointStatus(ctx)
}

// nothingNew returns a skipped result when etcd as asked holds nothing to
// back up: no write yet, or nothing since the newest snapshot. Both nil: go on.
func nothingNew(ctx context.Context, st *store.Store, now etcdtool.Status) (*Result, error) {
	rev := now.Revision
	if rev <= 1 {
		// A cluster nobody has written to yet: its snapshot would hold nothing
		// and etcd's own status reads it as revision 0.
		logging.G(ctx).Info("etcd holds no writes yet; nothing to back up", "revision", rev)
		return &Result{Skipped: true, Revision: rev}, nil
	}
	if skip, err := unchanged(ctx, st, store.EtcdStatus{Revision: rev, Identity: now.Identity}); skip || err != nil {
		return &Result{Skipped: true, Revision: rev}, err
	}
	return nil, nil
}

// saveSnapshot runs etcdctl's save into the target's staging directory.
func saveSnapshot(ctx context.Context, tgt *etcdtool.Target, name string) error {
	defer logging.Step(ctx, "backup", "etcdctl snapshot save")()
	return tgt.Save(ctx, name)
}
