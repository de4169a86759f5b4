package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/metrics"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
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
			&cli.StringFlag{Name: "data-dir", Usage: "host data dir (default: the manifest's etcd-data hostPath); another one (its parent must exist) gets the data but leaves the restore record and status alone"},
			&cli.BoolFlag{Name: "allow-empty", Usage: "exit 0 when there is no snapshot at all (a brand-new cluster)"},
			&cli.BoolFlag{Name: "bump-revision", Value: true, Usage: "restore with --bump-revision 1000000000 --mark-compacted, as etcd advises for Kubernetes"},
			&cli.BoolFlag{Name: "no-journal", Usage: "restore the snapshot alone, without replaying the journal chain that follows it"},
			&cli.StringFlag{Name: "journal-replay", Value: restore.ReplayDB, Usage: "how the journal is applied: db (written into the snapshot's database in etcd's layout; through etcd if that fails) or etcd (etcd from the snapshot's image replays it, one txn per revision: slower)"},
			identityFlag(),
			metricsFlag(),
		},
		Action: func(c *cli.Context) error {
			return runRestore(c.Context, restoreOptions{
				globalOptions: readGlobal(c),
				Snapshot:      c.String("snapshot"), DataDir: c.String("data-dir"),
				AllowEmpty: c.Bool("allow-empty"), BumpRevision: c.Bool("bump-revision"),
				NoJournal: c.Bool("no-journal"), JournalReplay: c.String("journal-replay"),
				Identity: c.String("offhost-identity"), MetricsFile: c.String("metrics-file"),
			}, newDeps(c))
		},
	}
}

type restoreOptions struct {
	globalOptions
	Snapshot      string // a snapshot id; "" for the newest good one
	DataDir       string // "" for the manifest's
	AllowEmpty    bool
	BumpRevision  bool
	NoJournal     bool
	JournalReplay string // restore.ReplayDB or restore.ReplayEtcd
	Identity      string // age identity file for the off-host copies
	MetricsFile   string
}

func runRestore(ctx context.Context, o restoreOptions, d deps) (err error) {
	ctx = d.start(ctx)
	if id := o.Snapshot; id != "" && !store.ValidID(id) {
		return usageError{fmt.Errorf("--snapshot: invalid snapshot id %q: want the form 20061225T150405Z-r123 from `etcd-ramdisk list`", id)}
	}
	if r := o.JournalReplay; r != "" && r != restore.ReplayDB && r != restore.ReplayEtcd {
		return usageError{fmt.Errorf("--journal-replay: %q: want %s or %s", r, restore.ReplayDB, restore.ReplayEtcd)}
	}
	// A mistyped --data-dir fails before anything runs (exit 3).
	if o.DataDir != "" {
		if err := restore.CheckDataDir(o.DataDir); err != nil {
			return err
		}
	}
	start := time.Now()
	var res *restore.Result
	defer func() {
		writeMetrics(ctx, o.MetricsFile, metrics.RestoreRun(start, exitCode(err), restoreMetrics(res)))
	}()
	j, ctx, err := openJob(ctx, o.globalOptions, d, false)
	if err != nil {
		return err
	}
	defer j.rt.Close()
	res, err = restore.Run(ctx, j.rt, j.st, j.m, restore.Options{
		DataDir: o.DataDir, Snapshot: o.Snapshot,
		AllowEmpty: o.AllowEmpty, BumpRevision: o.BumpRevision, NoJournal: o.NoJournal,
		JournalReplay: o.JournalReplay,
		LockTimeout:   o.LockTimeout,
		Remote:        remoteSource(ctx, o),
	})
	if err != nil {
		return err
	}
	printRestore(d.Stdout, res)
	return nil
}

func printRestore(w io.Writer, res *restore.Result) {
	if res.NoOp != "" {
		fmt.Fprintf(w, "nothing to do: %s\n", res.NoOp)
		return
	}
	m := res.Snapshot.Meta
	fmt.Fprintf(w, "restored snapshot %s (revision %d, taken %s, %s old) into %s in %s\n",
		m.ID, m.Etcd.Revision, m.Time.Format(time.RFC3339), time.Since(m.Time).Round(time.Second), res.DataDir, res.Duration.Round(time.Millisecond))
	if res.Elsewhere {
		fmt.Fprintf(w, "%s is not the manifest's data dir: etcd does not start from it, and status and the restore record still speak of the live one\n", res.DataDir)
	}
	if res.FromOffhost != "" {
		fmt.Fprintf(w, "fetched from the off-host copies on %s (the backup dir had none)\n", res.FromOffhost)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(w, "skipped %s\n", s)
	}
	if j := res.Journal; j != nil {
		how := "written into the snapshot's database"
		if j.Method == restore.ReplayEtcd {
			how = "applied through etcd, one txn per revision"
		}
		fmt.Fprintf(w, "replayed journal %s: %d revisions after the snapshot, up to revision %d (seen %s), %s\n", j.ChainID, j.Revisions, j.LastRev, j.UpTo.UTC().Format(time.RFC3339), how)
		if j.TornBytes > 0 {
			fmt.Fprintf(w, "cut a torn tail of %d bytes at the journal's end: a commit that a power cut interrupted, never acknowledged as durable, not replayed\n", j.TornBytes)
		}
	}
	if res.JournalNote != "" {
		fmt.Fprintf(w, "WARNING: journal not replayed: %s\n", res.JournalNote)
	}
	if res.Stale != "" {
		fmt.Fprintf(w, "WARNING: %s\n", res.Stale)
	}
}

func restoreMetrics(res *restore.Result) metrics.Restore {
	if res == nil || res.Snapshot == nil {
		return metrics.Restore{}
	}
	m := res.Snapshot.Meta
	return metrics.Restore{Restored: true, Revision: m.Etcd.Revision, Taken: m.Time, Stale: res.Stale != ""}
}

// remoteSource is where restore looks when the backup dir is empty; nil when
// copies are off. A broken config only matters then, so it is reported then.
func remoteSource(ctx context.Context, o restoreOptions) restore.RemoteSource {
	cfg, err := loadOffhost(o.globalOptions)
	switch {
	case err != nil:
		return brokenSource{err}
	case cfg == nil:
		return nil
	}
	return offhost.NewSource(cfg, o.Identity, logging.G(ctx))
}

type brokenSource struct{ err error }

func (b brokenSource) String() string { return "the off-host target" }
func (b brokenSource) Snapshots(context.Context) ([]store.Metadata, error) {
	return nil, b.err
}
func (b brokenSource) Import(context.Context, *store.Store, *store.Metadata) (*store.Snapshot, error) {
	return nil, b.err
}
