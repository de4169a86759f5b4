package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// DefragOptions for one defrag.
type DefragOptions struct {
	LockTimeout time.Duration
	Logger      *slog.Logger
}

// Defrag runs `etcdctl defrag` inside the running etcd container, under the store
// lock so it never overlaps a backup. m is the parsed manifest.
func Defrag(ctx context.Context, rt *erdrt.Runtime, st *store.Store, m *manifest.Etcd, o DefragOptions) (string, error) {
	log := o.Logger
	unlock, err := st.Lock(ctx, o.LockTimeout, "defrag")
	if err != nil {
		return "", err
	}
	defer unlock()
	removeLeftoverIO(rt, log)
	ec, err := rt.FindEtcd(ctx, m.Namespace, "etcd", m.Image)
	if err != nil {
		return "", err
	}
	facts, err := imageFacts(ctx, rt, st, &ec.Image, true, log)
	if err != nil {
		return "", err
	}
	tools := factsTools(facts)
	tls, err := clientTLS(m)
	if err != nil {
		return "", err
	}
	tgt, err := execTarget(rt, ec, m, tools, tls)
	if err != nil {
		return "", err
	}
	defer tgt.cleanupTarget()
	out, err := tgt.runOK(ctx, "etcdctl defrag", defragArgs(tools, tls))
	log.Debug("defrag done", "output", string(out))
	return string(out), err
}
