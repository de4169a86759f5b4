package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/metrics"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	"github.com/etcd-ramdisk/etcd-ramdisk/status"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
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
			&cli.DurationFlag{Name: "min-age", Usage: "no new snapshot while the newest good one is younger than this (cron's runs, which come more often than snapshots); 0: always"},
			&cli.DurationFlag{Name: "journal-covers", Usage: "no new snapshot while the journal service follows etcd from the newest snapshot and that snapshot is younger than this (cron's backups with the journal on); 0: always"},
			&cli.StringFlag{Name: "journal-state", Value: journal.DefaultStatePath, Usage: "the journal service's published state, for --journal-covers"},
			metricsFlag(),
		}, policyFlags()...),
		Action: func(c *cli.Context) error {
			return runBackup(c.Context, backupOptions{
				globalOptions: readGlobal(c),
				Reason:        c.String("reason"), Method: c.String("method"), From: c.String("from"),
				StopEtcd: c.String("stop-etcd"), AcceptReset: c.Bool("accept-reset"),
				JournalCovers: c.Duration("journal-covers"), JournalState: c.String("journal-state"),
				MinAge:      c.Duration("min-age"),
				MetricsFile: c.String("metrics-file"), Policy: readPolicy(c),
			}, newDeps(c))
		},
	}
}

type backupOptions struct {
	globalOptions
	Reason      string // store.Reason*
	Method      string // backup.Method*
	From        string // backup.From*
	StopEtcd    string // stopAuto, stopAlways or stopNever
	AcceptReset bool
	// JournalCovers > 0: skip the snapshot while the journal covers the
	// changes since a newest snapshot younger than this.
	JournalCovers time.Duration
	JournalState  string
	MinAge        time.Duration // > 0: skip the snapshot while the newest is younger

	MetricsFile string
	Policy      store.Policy
}

func runBackup(ctx context.Context, o backupOptions, d deps) (err error) {
	ctx = d.start(ctx)
	start := time.Now()
	var res *backup.Result
	defer func() {
		writeMetrics(ctx, o.MetricsFile, metrics.BackupRun(start, exitCode(err), backupMetrics(o.Reason, res)))
	}()
	// Every argument is checked before anything runs: a mistyped cron line
	// fails at once and visibly, never after a snapshot or with exit 0.
	if !store.ValidReason(o.Reason) {
		return usageError{fmt.Errorf("--reason %q: want cron, shutdown, manual or install", o.Reason)}
	}
	if err := o.Policy.Validate(); err != nil {
		return usageError{fmt.Errorf("--keep-*: %w", err)}
	}
	switch o.Method {
	case backup.MethodAuto, backup.MethodExec, backup.MethodSidecar:
	default:
		return usageError{fmt.Errorf("--method %q: want auto, exec or sidecar", o.Method)}
	}
	switch o.From {
	case backup.FromAuto, backup.FromEtcd, backup.FromDataDir:
	default:
		return usageError{fmt.Errorf("--from %q: want auto, etcd or data-dir", o.From)}
	}
	if o.JournalCovers < 0 {
		return usageError{fmt.Errorf("--journal-covers %v: want 0 (off) or more", o.JournalCovers)}
	}
	if o.MinAge < 0 {
		return usageError{fmt.Errorf("--min-age %v: want 0 (off) or more", o.MinAge)}
	}
	stop, systemDown, err := shutdownPlan(ctx, o, d)
	if err != nil {
		return err
	}
	j, ctx, err := openJob(ctx, o.globalOptions, d, true)
	if err != nil {
		if o.Reason == store.ReasonShutdown {
			// containerd gone or the manifest broken: the next boot must still
			// learn that this shutdown backup failed.
			if st, serr := store.Open(o.BackupDir); serr == nil {
				backup.RecordShutdownFailure(ctx, st, systemDown, err)
			}
		}
		return err
	}
	defer j.rt.Close()
	off, offErr := loadOffhost(o.globalOptions)
	if offErr != nil {
		// Never at the local backup's expense: it runs, status reports the config.
		logging.G(ctx).Warn("off-host copies skipped: their config is unusable", "err", offErr)
	}
	var cover *backup.JournalCover
	if o.JournalCovers > 0 {
		cover = &backup.JournalCover{StatePath: o.JournalState, Within: o.JournalCovers}
	}
	res, err = backup.Run(ctx, j.rt, j.st, j.m, backup.Options{
		Reason: o.Reason, Method: o.Method,
		From: o.From, StopEtcd: stop, SystemShutdown: systemDown,
		AcceptReset: o.AcceptReset, LockTimeout: o.LockTimeout,
		Policy: o.Policy, Offhost: off, Journal: cover, MinAge: o.MinAge,
	})
	printBackup(d.Stdout, res)
	return err
}

// printBackup says what the backup wrote, then what its off-host copy did.
func printBackup(w io.Writer, res *backup.Result) {
	if res == nil {
		return
	}
	switch {
	case res.NoData != "":
		fmt.Fprintf(w, "nothing to back up: %s\n", res.NoData)
	case res.Recent != "":
		fmt.Fprintf(w, "recent enough: no new snapshot (%s)\n", res.Recent)
	case res.Covered != "":
		fmt.Fprintf(w, "covered by the journal: no new snapshot (%s)\n", res.Covered)
	case res.Skipped:
		fmt.Fprintf(w, "unchanged at revision %d: no new snapshot\n", res.Revision)
	case res.Snapshot != nil:
		m := res.Snapshot.Meta
		how := res.Method
		if m.FromDataDir() {
			how = "from the data dir"
			if res.EtcdStopped != "" {
				how += " after stopping etcd with " + res.EtcdStopped
			}
		}
		fmt.Fprintf(w, "%s %s revision %d db-keys %d raw %d stored %d (%s, %s)\n", res.Snapshot.Kind, m.ID, m.Etcd.Revision, m.Etcd.TotalKeys, m.RawSize, m.StoredSize, how, res.Duration.Round(1e6))
	}
	printCopy(w, res.Offhost)
}

// printCopy says what the off-host copy after a backup did.
func printCopy(w io.Writer, r *offhost.Result) {
	switch {
	case r == nil:
	case r.Skipped != "":
		fmt.Fprintf(w, "off-host: skipped (%s)\n", r.Skipped)
	case r.Err != nil:
		fmt.Fprintf(w, "off-host: WARNING copy failed, %d snapshot(s) waiting, local snapshots kept: %v\n", r.Backlog, r.Err)
	case len(r.Uploaded) > 0:
		fmt.Fprintf(w, "off-host: copied %s (%s) to %s in %s; %d on the target, %d waiting\n", strings.Join(r.Uploaded, ", "), status.Human(r.UploadedBytes), r.Target, r.Duration.Round(time.Millisecond), r.RemoteSnapshots, r.Backlog)
	default:
		fmt.Fprintf(w, "off-host: up to date (%s)\n", r.Target)
	}
}

// backupMetrics is what metrics records of a backup: the snapshot only when
// a good one was written (a suspect one is kept aside, not counted).
func backupMetrics(reason string, res *backup.Result) metrics.Backup {
	b := metrics.Backup{Shutdown: reason == store.ReasonShutdown}
	if res == nil {
		return b
	}
	if oh := res.Offhost; oh != nil && oh.Skipped == "" {
		b.Offhost = &metrics.Offhost{OK: oh.Err == nil, Backlog: oh.Backlog, UploadedBytes: oh.UploadedBytes, RemoteSnapshots: oh.RemoteSnapshots, LastCopy: oh.LastCopy}
	}
	switch {
	case res.Skipped:
		b.Skipped, b.Revision = true, res.Revision
	case res.Snapshot != nil && res.Snapshot.Kind == store.Good:
		m := res.Snapshot.Meta
		b.Stored, b.Revision, b.Keys = true, m.Etcd.Revision, m.Etcd.TotalKeys
		b.RawBytes, b.StoredBytes = m.RawSize, m.StoredSize
	}
	return b
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
func shutdownPlan(ctx context.Context, o backupOptions, d deps) (stop, systemDown bool, err error) {
	switch o.StopEtcd {
	case stopAuto, stopAlways, stopNever:
	default:
		return false, false, usageError{fmt.Errorf("--stop-etcd %q: want auto, always or never", o.StopEtcd)}
	}
	if o.Reason == store.ReasonShutdown {
		state := d.SystemState(ctx)
		logging.G(ctx).Info("system state", "systemd", state)
		systemDown = state == "stopping"
	}
	return o.StopEtcd == stopAlways || (o.StopEtcd == stopAuto && systemDown), systemDown, nil
}
