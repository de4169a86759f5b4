package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/install"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/urfave/cli/v2"
)

func installFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "binary", Value: thisExecutable(), Usage: "etcd-ramdisk as kubelet and cron call it (absolute path; default: this executable, /usr/bin/etcd-ramdisk from the package)"},
		&cli.StringFlag{Name: "root", Usage: "write the files under this directory instead of / and run no commands (image builders, tests)"},
		&cli.BoolFlag{Name: "dry-run", Usage: "print every file that would be written and every command that would run; change nothing"},
	}
}

// thisExecutable is the path of the running binary, which the drop-in and the
// cron table call by default: /usr/bin/etcd-ramdisk when installed from the
// package, wherever an operator put a built one.
func thisExecutable() string {
	p, err := os.Executable()
	if err != nil {
		return "/usr/local/bin/etcd-ramdisk"
	}
	return p
}

func installCommand() *cli.Command {
	return &cli.Command{
		Name:      "install",
		Usage:     "back up, then write the kubelet drop-in, the cron table and the fstab tmpfs line",
		UsageText: "etcd-ramdisk install [--binary PATH] [--now] [--dry-run] [--root DIR] [--skip-backup] [--offhost-dir DIR | --offhost-s3-endpoint URL --offhost-s3-bucket B ...] [--offhost-recipient age1...]",
		Flags: append(append(installFlags(),
			&cli.BoolFlag{Name: "now", Usage: "switch etcd to the tmpfs now: stop kubelet and etcd, mount, restore, start kubelet"},
			&cli.BoolFlag{Name: "skip-backup", Usage: "no first backup (image builders, where no etcd runs)"},
		), offhostInstallFlags()...),
		Action: func(c *cli.Context) error {
			return runInstall(c.Context, installOptions{
				uninstallOptions: readUninstall(c),
				Now:              c.Bool("now"), SkipBackup: c.Bool("skip-backup"),
				Offhost: readOffhostTarget(c),
			}, newDeps(c))
		},
	}
}

func uninstallCommand() *cli.Command {
	return &cli.Command{
		Name:      "uninstall",
		Usage:     "move etcd back to disk (backup, stop, unmount, restore) and remove what install added",
		UsageText: "etcd-ramdisk uninstall [--binary PATH] [--dry-run] [--root DIR]",
		Flags:     installFlags(),
		Action: func(c *cli.Context) error {
			return runUninstall(c.Context, readUninstall(c), newDeps(c))
		},
	}
}

// uninstallOptions are the flags install and uninstall share.
type uninstallOptions struct {
	globalOptions
	Binary string
	Root   string // "" for the live system
	DryRun bool
	Args   []string // none are expected
}

func readUninstall(c *cli.Context) uninstallOptions {
	return uninstallOptions{globalOptions: readGlobal(c), Binary: c.String("binary"), Root: c.String("root"), DryRun: c.Bool("dry-run"), Args: c.Args().Slice()}
}

type installOptions struct {
	uninstallOptions
	Now        bool
	SkipBackup bool
	Offhost    offhostTarget
}

func runInstall(ctx context.Context, o installOptions, d deps) error {
	ctx = d.start(ctx)
	if len(o.Args) > 0 {
		return usageError{errors.New("no arguments expected")}
	}
	if o.Now && o.Root != "" {
		return usageError{errors.New("--now switches this machine; it cannot be combined with --root")}
	}
	offConf, err := offhostInstallConfig(ctx, o.Offhost, !o.DryRun && o.Root == "")
	if err != nil {
		return err
	}
	opts := o.installOptions()
	opts.OffhostConfig, opts.Now, opts.SkipBackup = offConf, o.Now, o.SkipBackup
	res, err := install.Install(ctx, installDeps(o.globalOptions, d), opts)
	if res != nil {
		res.Report(d.Stdout)
	}
	return err
}

func runUninstall(ctx context.Context, o uninstallOptions, d deps) error {
	ctx = d.start(ctx)
	if len(o.Args) > 0 {
		return usageError{errors.New("no arguments expected")}
	}
	res, err := install.Uninstall(ctx, installDeps(o.globalOptions, d), o.installOptions())
	if res != nil {
		res.Report(d.Stdout)
	}
	return err
}

func (o uninstallOptions) installOptions() install.Options {
	return install.Options{
		OffhostConfigPath: o.OffhostConfig,
		Root:              o.Root, Binary: o.Binary, Manifest: o.Manifest,
		BackupDir: o.BackupDir, ContainerdAddress: o.ContainerdAddress,
		Namespace: o.Namespace, DryRun: o.DryRun,
	}
}

// installDeps opens containerd and the store only when a step needs them, so
// --skip-backup, --dry-run and --root work without containerd.
func installDeps(g globalOptions, d deps) install.Deps {
	return install.Deps{
		Run: install.ExecRunner(d.Stdout, d.Stderr),
		Backup: func(ctx context.Context, m *manifest.Etcd, reason, from string) (string, error) {
			st, err := openStore(g)
			if err != nil {
				return "", err
			}
			rt, ctx, err := openRuntime(ctx, g, d)
			if err != nil {
				return "", err
			}
			defer rt.Close()
			return install.TakeVerified(ctx, rt, st, m, backup.Options{
				Reason: reason, Method: backup.MethodAuto, From: from,
				LockTimeout: g.LockTimeout, Policy: store.DefaultPolicy(),
			})
		},
		StopEtcd: func(ctx context.Context, m *manifest.Etcd) error {
			rt, ctx, err := openRuntime(ctx, g, d)
			if err != nil {
				return err
			}
			defer rt.Close()
			return install.StopEtcd(ctx, rt, m, erdrt.StopGrace, logging.G(ctx))
		},
	}
}

func offhostInstallFlags() []cli.Flag {
	k := offhost.DefaultKeep()
	return []cli.Flag{
		&cli.StringFlag{Name: "offhost-dir", Usage: "copy snapshots off the node into this directory (an NFS or SMB mount of a NAS; it must exist)"},
		&cli.StringFlag{Name: "offhost-s3-endpoint", Usage: "copy snapshots to an S3-compatible server: https://host[:port]"},
		&cli.StringFlag{Name: "offhost-s3-bucket", Usage: "S3 bucket (it must exist)"},
		&cli.StringFlag{Name: "offhost-s3-prefix", Usage: "S3 key prefix, e.g. node1/"},
		&cli.StringFlag{Name: "offhost-s3-region", Usage: "S3 region (default: the server's)"},
		&cli.BoolFlag{Name: "offhost-s3-path-style", Usage: "path-style bucket URLs (MinIO, versitygw, most self-hosted servers)"},
		&cli.StringFlag{Name: "offhost-s3-ca-file", Usage: "PEM CA certificate(s) the S3 server's TLS certificate is checked against"},
		&cli.StringFlag{Name: "offhost-s3-credentials-file", Usage: "root-only file with aws_access_key_id and aws_secret_access_key (credentials never go on the command line)"},
		&cli.StringSliceFlag{Name: "offhost-recipient", Usage: "age public key (age1…) to encrypt copies to; repeat for several"},
		&cli.StringFlag{Name: "offhost-recipients-file", Usage: "file of age public keys, one per line"},
		&cli.BoolFlag{Name: "offhost-insecure-plaintext-with-all-secrets", Usage: "copy snapshots UNENCRYPTED: every Kubernetes Secret readable on the target"},
		&cli.StringFlag{Name: "offhost-timeout", Value: offhost.DefaultTimeout.String(), Usage: "bound on one run's copying; the local backup never waits longer"},
		&cli.IntFlag{Name: "offhost-keep-last", Value: k.Last, Usage: "remote retention: keep the newest N copies"},
		&cli.IntFlag{Name: "offhost-keep-daily", Value: k.Daily, Usage: "remote retention: one copy a day for N days"},
		&cli.IntFlag{Name: "offhost-keep-weekly", Value: k.Weekly, Usage: "remote retention: one copy a week for N weeks"},
		&cli.IntFlag{Name: "offhost-keep-monthly", Value: k.Monthly, Usage: "remote retention: one copy a month for N months"},
	}
}

// offhostTarget is the off-host target install's flags describe: the
// directory or the S3 settings, how copies are encrypted and kept.
type offhostTarget struct {
	Dir               string
	S3                offhost.S3Config
	Recipients        []string
	RecipientsFile    string
	InsecurePlaintext bool
	Timeout           string
	Keep              offhost.Keep
}

func readOffhostTarget(c *cli.Context) offhostTarget {
	return offhostTarget{
		Dir: c.String("offhost-dir"),
		S3: offhost.S3Config{Endpoint: c.String("offhost-s3-endpoint"), Bucket: c.String("offhost-s3-bucket"), Prefix: c.String("offhost-s3-prefix"),
			Region: c.String("offhost-s3-region"), PathStyle: c.Bool("offhost-s3-path-style"), CAFile: c.String("offhost-s3-ca-file"),
			CredentialsFile: c.String("offhost-s3-credentials-file")},
		Recipients: c.StringSlice("offhost-recipient"), RecipientsFile: c.String("offhost-recipients-file"),
		InsecurePlaintext: c.Bool("offhost-insecure-plaintext-with-all-secrets"), Timeout: c.String("offhost-timeout"),
		Keep: offhost.Keep{Last: c.Int("offhost-keep-last"), Daily: c.Int("offhost-keep-daily"), Weekly: c.Int("offhost-keep-weekly"), Monthly: c.Int("offhost-keep-monthly")},
	}
}

// offhostInstallConfig renders the off-host config install writes, or nil
// when no target is given. With probe (a live install) the target is probed
// first.
func offhostInstallConfig(ctx context.Context, t offhostTarget, probe bool) ([]byte, error) {
	if t.Dir == "" && t.S3.Endpoint == "" && t.S3.Bucket == "" {
		return nil, nil
	}
	keep := t.Keep
	cfg := &offhost.Config{
		Dir: t.Dir, Recipients: t.Recipients, RecipientsFile: t.RecipientsFile,
		InsecurePlaintext: t.InsecurePlaintext, Timeout: t.Timeout, Keep: &keep,
	}
	if t.S3.Endpoint != "" || t.S3.Bucket != "" {
		s3 := t.S3
		cfg.S3 = &s3
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageError{fmt.Errorf("off-host target: %w", err)}
	}
	if probe {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := offhost.Probe(ctx, cfg); err != nil {
			return nil, configError{fmt.Errorf("off-host target (nothing installed): %w", err)}
		}
	}
	return cfg.Marshal()
}
