package main

import (
	"context"
	"encoding/json"
	"fmt"

	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/status"
	"github.com/opencontainers/go-digest"
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
		images = runtimeImages{rt}
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

// runtimeImages answers status's image question from containerd. It lists
// rather than calling erdrt's ImageByDigest, which may re-create the image's
// name: status changes nothing.
type runtimeImages struct{ rt *erdrt.Runtime }

func (r runtimeImages) HasImage(ctx context.Context, _, dgst string) (bool, error) {
	if _, err := digest.Parse(dgst); err != nil {
		return false, err
	}
	all, err := r.rt.Client.ImageService().List(ctx, "target.digest=="+dgst)
	if err != nil {
		return false, fmt.Errorf("list images: %w", err)
	}
	return len(all) > 0, nil
}

// unreachable reports why containerd could not be asked.
type unreachable struct{ err error }

func (u unreachable) HasImage(context.Context, string, string) (bool, error) { return false, u.err }
