package main

import (
	"context"
	"errors"
	"os"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/install"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/urfave/cli/v2"
)

func installFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "binary", Value: "/usr/local/bin/etcd-ramdisk", Usage: "etcd-ramdisk as kubelet and cron call it (absolute path)"},
		&cli.StringFlag{Name: "root", Usage: "write the files under this directory instead of / and run no commands (image builders, tests)"},
		&cli.BoolFlag{Name: "dry-run", Usage: "print every file that would be written and every command that would run; change nothing"},
	}
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
		Action: func(c *cli.Context) error { return runInstall(c, install.Install) },
	}
}

func uninstallCommand() *cli.Command {
	return &cli.Command{
		Name:      "uninstall",
		Usage:     "move etcd back to disk (backup, stop, unmount, restore) and remove what install added",
		UsageText: "etcd-ramdisk uninstall [--binary PATH] [--dry-run] [--root DIR]",
		Flags:     installFlags(),
		Action:    func(c *cli.Context) error { return runInstall(c, install.Uninstall) },
	}
}

func runInstall(c *cli.Context, do func(context.Context, install.Deps, install.Options) (*install.Result, error)) error {
	if c.NArg() > 0 {
		return usageError{errors.New("no arguments expected")}
	}
	if c.Bool("now") && c.String("root") != "" {
		return usageError{errors.New("--now switches this machine; it cannot be combined with --root")}
	}
	offConf, err := offhostInstallConfig(c)
	if err != nil {
		return err
	}
	res, err := do(c.Context, installDeps(c), install.Options{
		OffhostConfig: offConf, OffhostConfigPath: c.String("offhost-config"),
		Root: c.String("root"), Binary: c.String("binary"), Manifest: c.String("manifest"),
		BackupDir: c.String("backup-dir"), ContainerdAddress: c.String("containerd-address"),
		Namespace: c.String("namespace"), DryRun: c.Bool("dry-run"), Now: c.Bool("now"),
		SkipBackup: c.Bool("skip-backup"),
	})
	if res != nil {
		res.Report(c.App.Writer)
	}
	return err
}

// installDeps opens containerd and the store only when a step needs them, so
// --skip-backup, --dry-run and --root work without containerd.
func installDeps(c *cli.Context) install.Deps {
	log := logger(c.Bool("debug"))
	return install.Deps{
		Run: install.ExecRunner(c.App.Writer, os.Stderr),
		Backup: func(ctx context.Context, m *manifest.Etcd, reason, from string) (string, error) {
			st, err := openStore(c)
			if err != nil {
				return "", err
			}
			rt, ctx, err := openRuntime(c)
			if err != nil {
				return "", err
			}
			defer rt.Close()
			ctx = logging.WithLogger(ctx, log)
			return install.TakeVerified(ctx, rt, st, m, backup.Options{
				Reason: reason, Method: backup.MethodAuto, From: from,
				LockTimeout: c.Duration("lock-timeout"), Policy: store.DefaultPolicy(),
			})
		},
		StopEtcd: func(ctx context.Context, m *manifest.Etcd) error {
			rt, ctx, err := openRuntime(c)
			if err != nil {
				return err
			}
			defer rt.Close()
			return install.StopEtcd(ctx, rt, m, erdrt.StopGrace, log)
		},
	}
}
