package main

import (
	"time"

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

// globalOptions are the flags every verb reads (see globalFlags).
type globalOptions struct {
	Manifest          string
	ContainerdAddress string
	Namespace         string
	BackupDir         string
	LockTimeout       time.Duration
	Runtime           string // erdrt.BackendContainerd or erdrt.BackendNerdctl
	Nerdctl           string
	Timeout           time.Duration
	PodUpdateWait     time.Duration
	OffhostConfig     string
	// OffhostConfigSet says --offhost-config was given: a file named
	// explicitly must exist, the default one may be missing (copies off).
	OffhostConfigSet bool
	Debug            bool
}

func readGlobal(c *cli.Context) globalOptions {
	return globalOptions{
		Manifest: c.String("manifest"), ContainerdAddress: c.String("containerd-address"),
		Namespace: c.String("namespace"), BackupDir: c.String("backup-dir"),
		LockTimeout: c.Duration("lock-timeout"), Runtime: c.String("runtime"), Nerdctl: c.String("nerdctl"),
		Timeout: c.Duration("timeout"), PodUpdateWait: c.Duration("pod-update-wait"),
		OffhostConfig: c.String("offhost-config"), OffhostConfigSet: c.IsSet("offhost-config"),
		Debug: c.Bool("debug"),
	}
}

func policyFlags() []cli.Flag {
	d := store.DefaultPolicy()
	return []cli.Flag{
		&cli.IntFlag{Name: "keep-last", Value: d.Last, Usage: "keep the newest N snapshots"},
		&cli.IntFlag{Name: "keep-hourly", Value: d.Hourly, Usage: "keep the newest snapshot of each of the last N hours"},
		&cli.IntFlag{Name: "keep-daily", Value: d.Daily, Usage: "keep the newest snapshot of each of the last N UTC days"},
		&cli.IntFlag{Name: "keep-weekly", Value: d.Weekly, Usage: "keep the newest snapshot of each of the last N weeks"},
		&cli.IntFlag{Name: "keep-monthly", Value: d.Monthly, Usage: "keep the newest snapshot of each of the last N months"},
	}
}

func readPolicy(c *cli.Context) store.Policy {
	return store.Policy{Last: c.Int("keep-last"), Hourly: c.Int("keep-hourly"), Daily: c.Int("keep-daily"), Weekly: c.Int("keep-weekly"), Monthly: c.Int("keep-monthly")}
}

func metricsFlag() cli.Flag {
	return &cli.StringFlag{Name: "metrics-file", EnvVars: []string{"ETCD_RAMDISK_METRICS_FILE"}, Usage: "record this run for node_exporter's textfile collector in `PATH` (*.prom; may be shared by backup, restore and defrag)"}
}

func identityFlag() cli.Flag {
	return &cli.StringFlag{Name: "offhost-identity", EnvVars: []string{"ETCD_RAMDISK_OFFHOST_IDENTITY"}, Usage: "age identity file (AGE-SECRET-KEY-1…) that decrypts the off-host copies (default: identityFile in the off-host config)"}
}
