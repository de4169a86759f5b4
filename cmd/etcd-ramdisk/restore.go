package main

import (
	"fmt"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/metrics"
	"github.com/etcd-ramdisk/etcd-ramdisk/restore"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/urfave/cli/v2"
)

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore the newest good snapshot into the empty data dir (kubelet's ExecStartPre)",
		UsageText: "etcd-ramdisk restore [--snapshot ID] [--data-dir DIR] [--allow-empty]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "snapshot", Usage: "restore this snapshot id (may be a suspect one) instead of the newest good one"},
			&cli.StringFlag{Name: "data-dir", Usage: "host data dir (default: the manifest's etcd-data hostPath)"},
			&cli.BoolFlag{Name: "allow-empty", Usage: "exit 0 when there is no snapshot at all (a brand-new cluster)"},
			&cli.BoolFlag{Name: "bump-revision", Value: true, Usage: "restore with --bump-revision 1000000000 --mark-compacted, as etcd advises for Kubernetes"},
			identityFlag(),
			metricsFlag(),
		},
		Action: runRestore,
	}
}

func runRestore(c *cli.Context) (err error) {
	if id := c.String("snapshot"); id != "" && !store.ValidID(id) {
		return usageError{fmt.Errorf("--snapshot: invalid snapshot id %q: want the form 20061225T150405Z-r123 from `etcd-ramdisk list`", id)}
	}
	start := time.Now()
	var res *restore.Result
	defer func() { writeMetrics(c, metrics.RestoreRun(start, exitCode(err), res)) }()
	j, ctx, err := openJob(c)
	if err != nil {
		return err
	}
	defer j.rt.Close()
	ctx = logging.WithLogger(ctx, logger(c.Bool("debug")))
	res, err = restore.Run(ctx, j.rt, j.st, j.m, restore.Options{
		DataDir: c.String("data-dir"), Snapshot: c.String("snapshot"),
		AllowEmpty: c.Bool("allow-empty"), BumpRevision: c.Bool("bump-revision"),
		LockTimeout: c.Duration("lock-timeout"),
		Remote:      remoteSource(c),
	})
	if err != nil {
		return err
	}
	if res.NoOp != "" {
		fmt.Fprintf(c.App.Writer, "nothing to do: %s\n", res.NoOp)
		return nil
	}
	m := res.Snapshot.Meta
	fmt.Fprintf(c.App.Writer, "restored snapshot %s (revision %d, taken %s, %s old) into %s in %s\n",
		m.ID, m.Etcd.Revision, m.Time.Format(time.RFC3339), time.Since(m.Time).Round(time.Second), res.DataDir, res.Duration.Round(time.Millisecond))
	if res.FromOffhost != "" {
		fmt.Fprintf(c.App.Writer, "fetched from the off-host copies on %s (the backup dir had none)\n", res.FromOffhost)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(c.App.Writer, "skipped %s\n", s)
	}
	if res.Stale != "" {
		fmt.Fprintf(c.App.Writer, "WARNING: %s\n", res.Stale)
	}
	return nil
}
