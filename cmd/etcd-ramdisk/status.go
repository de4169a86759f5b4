package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/clock"
	"github.com/etcd-ramdisk/etcd-ramdisk/metrics"
	"github.com/etcd-ramdisk/etcd-ramdisk/status"
	"github.com/urfave/cli/v2"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "one screen answering \"am I safe?\"; exits 17 when backups cannot work, 10 when something else needs attention (never locks or writes)",
		UsageText: "etcd-ramdisk status [--json] [--max-backup-age 1h] [--root /] [--metrics-file PATH]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
			&cli.DurationFlag{Name: "max-backup-age", Value: status.DefaultMaxBackupAge, Usage: "warn when the newest good backup is older"},
			&cli.StringFlag{Name: "data-dir", Usage: "host data dir (default: the manifest's etcd-data hostPath)"},
			&cli.StringFlag{Name: "root", Value: "/", Usage: "the install root, as for `install --root`: look for what install writes there (drop-in, cron file, fstab, kubelet's config) and the journal's state under it; the manifest and the backup dir come from their own flags"},
			// No environment variable, unlike the jobs' --metrics-file: status
			// writes nothing unless asked on its command line.
			&cli.StringFlag{Name: "metrics-file", Usage: "record the journal's figures for node_exporter's textfile collector in `PATH` (*.prom; may be shared with backup, restore and defrag)"},
		},
		Action: func(c *cli.Context) error {
			return runStatus(c.Context, statusOptions{
				globalOptions: readGlobal(c), JSON: c.Bool("json"), MaxBackupAge: c.Duration("max-backup-age"),
				DataDir: c.String("data-dir"), Root: c.String("root"), MetricsFile: c.String("metrics-file"),
			}, newDeps(c))
		},
	}
}

type statusOptions struct {
	globalOptions
	JSON         bool
	MaxBackupAge time.Duration
	DataDir      string // "" for the manifest's
	Root         string // where the install assets are looked for
	MetricsFile  string // "" for none: where to record the journal's figures
}

func runStatus(ctx context.Context, o statusOptions, d deps) error {
	ctx = d.start(ctx)
	var images status.ImageChecker
	var etcd status.EtcdChecker
	rt, ctx, rtErr := openRuntime(ctx, o.globalOptions, d)
	if rtErr != nil {
		images = unreachable{rtErr}
	} else {
		defer rt.Close()
		images, etcd = rt, rt
	}
	off, offErr := loadOffhost(o.globalOptions)
	rep, err := status.Gather(ctx, status.Options{
		Offhost: off, OffhostError: offErr,
		Manifest: o.Manifest, DataDir: o.DataDir, BackupDir: o.BackupDir,
		Root: o.Root, MaxBackupAge: o.MaxBackupAge, Images: images,
		ContainerdError: rtErr, Etcd: etcd,
	})
	if err != nil {
		return usageError{err}
	}
	writeMetrics(ctx, o.MetricsFile, metrics.JournalSample(clock.Now(), journalMetrics(&rep.Journal)))
	if o.JSON {
		err = printJSON(d.Stdout, rep)
	} else {
		err = rep.WriteText(d.Stdout)
	}
	if err != nil {
		return err
	}
	if len(rep.Broken) > 0 {
		return fmt.Errorf("%w: %s", errBroken, strings.Join(rep.Broken, "; "))
	}
	if rep.NeedsAttention {
		return fmt.Errorf("%w: %d warning(s)", errNeedsAction, len(rep.Warnings))
	}
	return nil
}

// unreachable reports why containerd could not be asked.
type unreachable struct{ err error }

func (u unreachable) HasImage(context.Context, string, string) (bool, error) { return false, u.err }
