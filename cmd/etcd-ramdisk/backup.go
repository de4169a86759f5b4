package main

import (
	"fmt"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/metrics"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/systemd"
	"github.com/urfave/cli/v2"
)

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "take a verified snapshot of the running etcd inside its own image, store it, prune",
		UsageText: "etcd-ramdisk backup [--reason cron|shutdown|manual] [--method auto|exec|sidecar] [--from auto|etcd|data-dir] [--stop-etcd auto|always|never]",
		Description: "With --reason shutdown (kubelet's ExecStopPost) the backup holds etcd's last state: when systemd says the\n" +
			"system is going down it stops etcd (SIGTERM: etcd commits its database) and copies its data dir, and when etcd\n" +
			"is already gone (systemd, kubelet's graceful node shutdown or a crash stopped it) it copies the data dir too.\n" +
			"Its outcome is recorded for the restore at the next boot.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "reason", Value: store.ReasonManual, Usage: "why: cron, shutdown, manual or install (recorded in the metadata)"},
			&cli.StringFlag{Name: "method", Value: backup.MethodAuto, Usage: "exec in the etcd container, a sidecar from the same image digest, or auto"},
			&cli.StringFlag{Name: "from", Value: backup.FromAuto, Usage: "etcd (snapshot the running etcd), data-dir (copy the database of an etcd that has exited), or auto (etcd; a shutdown backup falls back to the data dir)"},
			&cli.StringFlag{Name: "stop-etcd", Value: stopAuto, Usage: "stop etcd first and copy its data dir: always, never, or auto (only for --reason shutdown while the system shuts down)"},
			&cli.BoolFlag{Name: "accept-reset", Usage: "accept a lower revision than the newest snapshot (a deliberate reset) as good"},
			metricsFlag(),
		}, policyFlags()...),
		Action: runBackup,
	}
}

func runBackup(c *cli.Context) (err error) {
	start := time.Now()
	var res *backup.Result
	defer func() { writeMetrics(c, metrics.BackupRun(start, exitCode(err), c.String("reason"), res)) }()
	switch c.String("method") {
	case backup.MethodAuto, backup.MethodExec, backup.MethodSidecar:
	default:
		return usageError{fmt.Errorf("--method %q: want auto, exec or sidecar", c.String("method"))}
	}
	switch c.String("from") {
	case backup.FromAuto, backup.FromEtcd, backup.FromDataDir:
	default:
		return usageError{fmt.Errorf("--from %q: want auto, etcd or data-dir", c.String("from"))}
	}
	stop, systemDown, err := shutdownPlan(c)
	if err != nil {
		return err
	}
	j, ctx, err := openJob(c)
	if err != nil {
		if c.String("reason") == store.ReasonShutdown {
			// containerd gone or the manifest broken: the next boot must still
			// learn that this shutdown backup failed.
			if st, serr := store.Open(c.String("backup-dir")); serr == nil {
				backup.RecordShutdownFailure(logging.WithLogger(c.Context, logger(c.Bool("debug"))), st, systemDown, err)
			}
		}
		return err
	}
	defer j.rt.Close()
	off, offErr := loadOffhost(c)
	if offErr != nil {
		// Never at the local backup's expense: it runs, status reports the config.
		logger(c.Bool("debug")).Warn("off-host copies skipped: their config is unusable", "err", offErr)
	}
	ctx = logging.WithLogger(ctx, logger(c.Bool("debug")))
	res, err = backup.Run(ctx, j.rt, j.st, j.m, backup.Options{
		Reason: c.String("reason"), Method: c.String("method"),
		From: c.String("from"), StopEtcd: stop, SystemShutdown: systemDown,
		AcceptReset: c.Bool("accept-reset"), LockTimeout: c.Duration("lock-timeout"),
		Policy: policy(c), Offhost: off,
	})
	if res != nil {
		defer printCopy(c, res.Offhost)
		switch {
		case res.NoData != "":
			fmt.Fprintf(c.App.Writer, "nothing to back up: %s\n", res.NoData)
		case res.Skipped:
			fmt.Fprintf(c.App.Writer, "unchanged at revision %d: no new snapshot\n", res.Revision)
		case res.Snapshot != nil:
			m := res.Snapshot.Meta
			how := res.Method
			if m.FromDataDir() {
				how = "from the data dir"
				if res.EtcdStopped != "" {
					how += " after stopping etcd with " + res.EtcdStopped
				}
			}
			fmt.Fprintf(c.App.Writer, "%s %s revision %d db-keys %d raw %d stored %d (%s, %s)\n", res.Snapshot.Kind, m.ID, m.Etcd.Revision, m.Etcd.TotalKeys, m.RawSize, m.StoredSize, how, res.Duration.Round(1e6))
		}
	}
	return err
}

const (
	stopAuto   = "auto"
	stopAlways = "always"
	stopNever  = "never"
)

// shutdownPlan reads the system's state for a shutdown backup and decides
// --stop-etcd. auto stops etcd only while systemd takes the system down: after
// kubelet has stopped, so nothing starts etcd again, and never on a mere
// `systemctl restart kubelet`.
func shutdownPlan(c *cli.Context) (stop, systemDown bool, err error) {
	v := c.String("stop-etcd")
	switch v {
	case stopAuto, stopAlways, stopNever:
	default:
		return false, false, usageError{fmt.Errorf("--stop-etcd %q: want auto, always or never", v)}
	}
	if c.String("reason") == store.ReasonShutdown {
		state := systemd.SystemState(c.Context)
		logger(c.Bool("debug")).Info("system state", "systemd", state)
		systemDown = state == "stopping"
	}
	return v == stopAlways || (v == stopAuto && systemDown), systemDown, nil
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

func policy(c *cli.Context) store.Policy {
	return store.Policy{Last: c.Int("keep-last"), Hourly: c.Int("keep-hourly"), Daily: c.Int("keep-daily"), Weekly: c.Int("keep-weekly"), Monthly: c.Int("keep-monthly")}
}

func metricsFlag() cli.Flag {
	return &cli.StringFlag{Name: "metrics-file", EnvVars: []string{"ETCD_RAMDISK_METRICS_FILE"}, Usage: "record this run for node_exporter's textfile collector in `PATH` (*.prom; may be shared by backup, restore and defrag)"}
}

// writeMetrics records a run in --metrics-file. Metrics never change a job's
// outcome: a failure to write them only warns.
func writeMetrics(c *cli.Context, run metrics.Run) {
	path := c.String("metrics-file")
	if path == "" {
		return
	}
	if err := metrics.Write(path, run); err != nil {
		logger(c.Bool("debug")).Warn("metrics not written", "file", path, "err", err)
	}
}
