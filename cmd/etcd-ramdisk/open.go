package main

import (
	"context"
	"fmt"

	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

func openStore(g globalOptions) (*store.Store, error) {
	st, err := store.Open(g.BackupDir)
	if err != nil {
		return nil, configError{err}
	}
	return st, nil
}

// openRuntime connects to containerd; the returned context carries the namespace
// and the run's --timeout, which ends when the runtime is closed.
func openRuntime(ctx context.Context, g globalOptions, d deps) (*erdrt.Runtime, context.Context, error) {
	ctx, cancel := context.WithTimeout(ctx, g.Timeout)
	rt, ctx, err := d.OpenRuntime(ctx, g.ContainerdAddress, g.Namespace)
	if err != nil {
		cancel()
		return nil, ctx, err
	}
	rt.OnClose(cancel)
	rt.PodUpdateWait = g.PodUpdateWait
	switch g.Runtime {
	case erdrt.BackendContainerd:
	case erdrt.BackendNerdctl:
		if err := rt.UseNerdctl(g.Nerdctl); err != nil {
			rt.Close()
			return nil, ctx, configError{err}
		}
	default:
		rt.Close()
		return nil, ctx, usageError{fmt.Errorf("--runtime %q: want containerd or nerdctl", g.Runtime)}
	}
	return rt, ctx, nil
}

func loadManifest(g globalOptions) (*manifest.Etcd, error) {
	m, err := manifest.Load(g.Manifest)
	if err != nil {
		return nil, configError{err}
	}
	return m, nil
}

// job is what backup, restore and defrag all need: the manifest, parsed once
// here and handed to the job, the store and the runtime.
type job struct {
	m  *manifest.Etcd
	st *store.Store
	rt *erdrt.Runtime
}

// openJob opens a job's parts in the order that reports mistakes before
// anything is created: the manifest (only read), the backup dir (created when
// missing; with writes, one this run cannot write into is a config error, a
// read-only mount found before etcd is asked for anything), containerd. Close
// the runtime when done. On failure the context returned is ctx, so that the
// caller can still log with it.
func openJob(ctx context.Context, g globalOptions, d deps, writes bool) (*job, context.Context, error) {
	m, err := loadManifest(g)
	if err != nil {
		return nil, ctx, err
	}
	st, err := openStore(g)
	if err != nil {
		return nil, ctx, err
	}
	if writes {
		if err := st.Writable(); err != nil {
			return nil, ctx, configError{err}
		}
	}
	rt, rctx, err := openRuntime(ctx, g, d)
	if err != nil {
		return nil, ctx, err
	}
	return &job{m: m, st: st, rt: rt}, rctx, nil
}

// loadOffhost reads the off-host settings: nil when copies are off (no file at
// the default path). A file named explicitly must exist.
func loadOffhost(g globalOptions) (*offhost.Config, error) {
	cfg, err := offhost.LoadConfig(g.OffhostConfig, !g.OffhostConfigSet)
	if err != nil {
		return nil, configError{err}
	}
	return cfg, nil
}

// requireOffhost is loadOffhost for --offhost, where copies must be on.
func requireOffhost(g globalOptions) (*offhost.Config, error) {
	cfg, err := loadOffhost(g)
	if err == nil && cfg == nil {
		err = usageError{fmt.Errorf("--offhost: no off-host config at %s (install --offhost-dir or --offhost-s3-bucket writes it)", g.OffhostConfig)}
	}
	return cfg, err
}
