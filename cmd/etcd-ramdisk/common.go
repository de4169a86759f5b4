package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/urfave/cli/v2"
)

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "manifest", Value: "/etc/kubernetes/manifests/etcd.yaml", EnvVars: []string{"ETCD_RAMDISK_MANIFEST"}, Usage: "kubeadm's etcd static pod manifest"},
		&cli.StringFlag{Name: "containerd-address", Value: erdrt.DefaultAddress, EnvVars: []string{"ETCD_RAMDISK_CONTAINERD_ADDRESS"}, Usage: "containerd's socket"},
		&cli.StringFlag{Name: "namespace", Value: "k8s.io", EnvVars: []string{"ETCD_RAMDISK_NAMESPACE"}, Usage: "containerd namespace of the Kubernetes containers"},
		&cli.StringFlag{Name: "backup-dir", Value: "/var/lib/etcd-ramdisk", EnvVars: []string{"ETCD_RAMDISK_BACKUP_DIR"}, Usage: "where snapshots are kept (persistent disk)"},
		&cli.DurationFlag{Name: "lock-timeout", Value: 5 * time.Minute, EnvVars: []string{"ETCD_RAMDISK_LOCK_TIMEOUT"}, Usage: "how long to wait for another run to finish"},
		&cli.StringFlag{Name: "runtime", Value: erdrt.BackendContainerd, EnvVars: []string{"ETCD_RAMDISK_RUNTIME"}, Usage: "who runs etcd's tools: containerd (its API) or nerdctl (the CLI)"},
		&cli.StringFlag{Name: "nerdctl", Value: "nerdctl", EnvVars: []string{"ETCD_RAMDISK_NERDCTL"}, Usage: "nerdctl binary for --runtime nerdctl"},
		&cli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, EnvVars: []string{"ETCD_RAMDISK_TIMEOUT"}, Usage: "give up on a run after this long (etcdctl can hang on a dead endpoint)"},
		&cli.DurationFlag{Name: "pod-update-wait", Value: erdrt.DefaultPodUpdateWait, EnvVars: []string{"ETCD_RAMDISK_POD_UPDATE_WAIT"}, Usage: "when two etcd containers run (kubelet replacing the static pod), wait this long for one from the manifest's image to remain"},
		&cli.StringFlag{Name: "offhost-config", Value: offhost.DefaultConfigPath, EnvVars: []string{"ETCD_RAMDISK_OFFHOST_CONFIG"}, Usage: "off-host copies' settings (YAML, root-only; written by install); without the file at the default path copies are off"},
		&cli.BoolFlag{Name: "debug", EnvVars: []string{"ETCD_RAMDISK_DEBUG"}, Usage: "log debug messages"},
	}
}

// logger writes structured logs to stderr, which journald and cron logs keep;
// stdout is left for results.
func logger(debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func openStore(c *cli.Context) (*store.Store, error) {
	st, err := store.Open(c.String("backup-dir"))
	if err != nil {
		return nil, configError{err}
	}
	return st, nil
}

// openRuntime connects to containerd; the returned context carries the namespace
// and the run's --timeout, which ends when the runtime is closed.
func openRuntime(c *cli.Context) (*erdrt.Runtime, context.Context, error) {
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	rt, ctx, err := erdrt.Open(ctx, c.String("containerd-address"), c.String("namespace"))
	if err != nil {
		cancel()
		return nil, ctx, err
	}
	rt.OnClose(cancel)
	rt.PodUpdateWait = c.Duration("pod-update-wait")
	switch c.String("runtime") {
	case erdrt.BackendContainerd:
	case erdrt.BackendNerdctl:
		if err := rt.UseNerdctl(c.String("nerdctl")); err != nil {
			rt.Close()
			return nil, ctx, configError{err}
		}
	default:
		rt.Close()
		return nil, ctx, usageError{fmt.Errorf("--runtime %q: want containerd or nerdctl", c.String("runtime"))}
	}
	return rt, ctx, nil
}

func loadManifest(c *cli.Context) (*manifest.Etcd, error) {
	m, err := manifest.Load(c.String("manifest"))
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
// missing), containerd. Close the runtime when done.
func openJob(c *cli.Context) (*job, context.Context, error) {
	m, err := loadManifest(c)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(c)
	if err != nil {
		return nil, nil, err
	}
	rt, ctx, err := openRuntime(c)
	if err != nil {
		return nil, nil, err
	}
	return &job{m: m, st: st, rt: rt}, ctx, nil
}
