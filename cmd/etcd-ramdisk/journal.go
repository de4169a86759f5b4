package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/urfave/cli/v2"
)

func journalCommand() *cli.Command {
	return &cli.Command{
		Name:      "journal",
		Usage:     "follow etcd's changes into a journal beside the snapshots, so that a power cut loses seconds (a service: runs until SIGTERM)",
		UsageText: "etcd-ramdisk journal [--interval 1s] [--state-file PATH] [--keep-last N ...]",
		Description: "Watches etcd (the manifest's loopback client URL, the healthcheck client certificate) from the newest good\n" +
			"snapshot's revision on and appends every revision to a chain under <backup-dir>/journal, one write and one fsync per\n" +
			"interval while something changed. A newer snapshot starts a new chain; a gap (etcd compacted past the chain, restored,\n" +
			"another cluster) takes a fresh snapshot (a backup with reason journal, pruned with the --keep-* policy) and starts\n" +
			"a new chain from it. Its state goes to --state-file for status and the metrics.",
		Flags: append([]cli.Flag{
			&cli.DurationFlag{Name: "interval", Value: journal.DefaultInterval, Usage: fmt.Sprintf("group commit interval: what a power cut may lose (at most %v)", journal.MaxInterval)},
			&cli.StringFlag{Name: "state-file", Value: journal.DefaultStatePath, Usage: "where the service publishes its state (keep it on a tmpfs)"},
		}, policyFlags()...),
		Action: func(c *cli.Context) error {
			return runJournal(c.Context, journalOptions{
				globalOptions: readGlobal(c),
				Interval:      c.Duration("interval"), StateFile: c.String("state-file"), Policy: readPolicy(c),
			}, newDeps(c))
		},
	}
}

type journalOptions struct {
	globalOptions
	Interval  time.Duration
	StateFile string
	Policy    store.Policy // for the backups the journal takes
}

// journalMemoryLimit is the journal service's soft memory limit.
const journalMemoryLimit = 32 << 20

// runJournal runs the journal service until SIGTERM; a clean stop exits 0.
func runJournal(ctx context.Context, o journalOptions, d deps) error {
	ctx = d.start(ctx)
	if o.Interval <= 0 || o.Interval > journal.MaxInterval {
		return usageError{fmt.Errorf("--interval %v: want more than 0 and at most %v", o.Interval, journal.MaxInterval)}
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A long-running service beside etcd on a small board: the GC works
		// harder rather than let the heap double (GOMEMLIMIT overrides).
		debug.SetMemoryLimit(journalMemoryLimit)
	}
	m, err := loadManifest(o.globalOptions)
	if err != nil {
		return err
	}
	st, err := openStore(o.globalOptions)
	if err != nil {
		return err
	}
	logging.G(ctx).Info("journal starting", "interval", o.Interval, "dir", st.JournalDir(), "state", o.StateFile)
	return journal.Serve(ctx, st, m, journal.ServeOptions{
		Interval: o.Interval, StatePath: o.StateFile, LockTimeout: o.LockTimeout,
		Snapshot: func(ctx context.Context) error { return journalSnapshot(ctx, o, d, st, m) },
	})
}

// journalSnapshot is the backup the journal asks for when no chain can go
// on: a hot snapshot of the running etcd, as cron's, with reason journal
// (the off-host copy waits for the next cron backup).
func journalSnapshot(ctx context.Context, o journalOptions, d deps, st *store.Store, m *manifest.Etcd) error {
	rt, rctx, err := openRuntime(ctx, o.globalOptions, d)
	if err != nil {
		return err
	}
	defer rt.Close()
	res, err := backup.Run(rctx, rt, st, m, backup.Options{
		Reason: store.ReasonJournal, Method: backup.MethodAuto, From: backup.FromEtcd,
		LockTimeout: o.LockTimeout, Policy: o.Policy,
	})
	if res != nil && res.Snapshot != nil {
		logging.G(ctx).Info("journal backup stored", "snapshot", res.Snapshot.Meta.ID, "kind", res.Snapshot.Kind, "revision", res.Snapshot.Meta.Etcd.Revision)
	}
	if err == nil && res != nil && res.Skipped {
		logging.G(ctx).Info("journal backup unchanged", "revision", res.Revision)
	}
	return err
}
