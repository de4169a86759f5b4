package defrag

import (
	"context"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Options for one defrag.
type Options struct {
	LockTimeout time.Duration
}

// Run runs `etcdctl defrag` inside the running etcd container, under the store
// lock so it never overlaps a backup. m is the parsed manifest.
func Run(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, opts Options) (string, error) {
	unlock, err := st.Lock(ctx, opts.LockTimeout, "defrag")
	if err != nil {
		return "", err
	}
	defer unlock()
	etcdtool.RemoveLeftoverIO(ctx, rt)
	ec, err := rt.FindEtcd(ctx, m.Namespace, "etcd", m.Image)
	if err != nil {
		return "", err
	}
	facts, err := etcdtool.ImageFacts(ctx, rt, st, &ec.Image, true)
	if err != nil {
		return "", err
	}
	e, err := etcdtool.NewEtcd(rt, ec, m, etcdtool.FactsTools(facts))
	if err != nil {
		return "", err
	}
	tgt, err := e.ExecTarget()
	if err != nil {
		return "", err
	}
	defer tgt.Close()
	out, err := tgt.Defrag(ctx)
	logging.G(ctx).Debug("defrag done", "output", string(out))
	return string(out), err
}
