package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/etcd-ramdisk/etcd-ramdisk/status"
	"github.com/urfave/cli/v2"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "one screen answering \"am I safe?\"; exits 10 when something needs attention (never locks or writes)",
		UsageText: "etcd-ramdisk status [--json] [--max-backup-age 1h] [--root /]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
			&cli.DurationFlag{Name: "max-backup-age", Value: status.DefaultMaxBackupAge, Usage: "warn when the newest good backup is older"},
			&cli.StringFlag{Name: "data-dir", Usage: "host data dir (default: the manifest's etcd-data hostPath)"},
			&cli.StringFlag{Name: "root", Value: "/", Usage: "look for the drop-in, cron file and fstab under this root"},
		},
		Action: runStatus,
	}
}

func runStatus(c *cli.Context) error {
	var images status.ImageChecker
	rt, ctx, err := openRuntime(c)
	if err != nil {
		images = unreachable{err}
	} else {
		defer rt.Close()
		images = rt
	}
	off, offErr := loadOffhost(c)
	rep, err := status.Gather(ctx, status.Options{
		Offhost: off, OffhostError: offErr,
		Manifest: c.String("manifest"), DataDir: c.String("data-dir"), BackupDir: c.String("backup-dir"),
		Root: c.String("root"), MaxBackupAge: c.Duration("max-backup-age"), Images: images,
	})
	if err != nil {
		return usageError{err}
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(c.App.Writer)
	}
	if err != nil {
		return err
	}
	if rep.NeedsAttention {
		return fmt.Errorf("%w: %d warning(s)", errNeedsAction, len(rep.Warnings))
	}
	return nil
}

// unreachable reports why containerd could not be asked.
type unreachable struct{ err error }

func (u unreachable) HasImage(context.Context, string, string) (bool, error) { return false, u.err }
