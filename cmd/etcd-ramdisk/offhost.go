package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	"github.com/etcd-ramdisk/etcd-ramdisk/status"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/urfave/cli/v2"
)

// loadOffhost reads the off-host settings: nil when copies are off (no file at
// the default path). A file named explicitly must exist.
func loadOffhost(c *cli.Context) (*offhost.Config, error) {
	cfg, err := offhost.LoadConfig(c.String("offhost-config"), !c.IsSet("offhost-config"))
	if err != nil {
		return nil, configError{err}
	}
	return cfg, nil
}

func identityFlag() cli.Flag {
	return &cli.StringFlag{Name: "offhost-identity", EnvVars: []string{"ETCD_RAMDISK_OFFHOST_IDENTITY"}, Usage: "age identity file (AGE-SECRET-KEY-1…, root-only) that decrypts the off-host copies (default: identityFile in the off-host config)"}
}

// printCopy says what the off-host copy after a backup did.
func printCopy(c *cli.Context, r *offhost.Result) {
	w := c.App.Writer
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

// remoteSource is where restore looks when the backup dir is empty; nil when
// copies are off. A broken config only matters then, so it is reported then.
func remoteSource(c *cli.Context) backup.RemoteSource {
	cfg, err := loadOffhost(c)
	switch {
	case err != nil:
		return brokenSource{err}
	case cfg == nil:
		return nil
	}
	return offhost.NewSource(cfg, c.String("offhost-identity"), logger(c.Bool("debug")))
}

type brokenSource struct{ err error }

func (b brokenSource) String() string { return "the off-host target" }
func (b brokenSource) Snapshots(context.Context) ([]store.Metadata, error) {
	return nil, b.err
}
func (b brokenSource) Import(context.Context, *store.Store, *store.Metadata) (*store.Snapshot, error) {
	return nil, b.err
}

func requireOffhost(c *cli.Context) (*offhost.Config, error) {
	cfg, err := loadOffhost(c)
	if err == nil && cfg == nil {
		err = usageError{fmt.Errorf("--offhost: no off-host config at %s (install --offhost-dir or --offhost-s3-bucket writes it)", c.String("offhost-config"))}
	}
	return cfg, err
}

func runListOffhost(c *cli.Context) error {
	cfg, err := requireOffhost(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	defer cancel()
	l, err := offhost.List(ctx, cfg)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(l)
	}
	fmt.Fprintf(c.App.Writer, "target: %s\n", l.Target)
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEQ\tTIME (UTC)\tREASON\tREVISION\tDB KEYS\tSIZE\tENCRYPTION\tIMAGE\tCOPIED (UTC)")
	for _, r := range l.Snapshots {
		m := r.Snapshot
		img := "no"
		if r.Image != nil {
			img = "yes"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", m.ID, m.Seq, m.Time.UTC().Format("2006-01-02 15:04:05"), m.Reason, m.Etcd.Revision, m.Etcd.TotalKeys, status.Human(r.Data.Size), r.Encryption, img, r.Uploaded.UTC().Format("2006-01-02 15:04:05"))
	}
	tw.Flush()
	for _, p := range l.Problems {
		fmt.Fprintf(c.App.Writer, "problem: %s: %s\n", p.Name, p.Err)
	}
	return nil
}

func runVerifyOffhost(c *cli.Context) error {
	cfg, err := requireOffhost(c)
	if err != nil {
		return err
	}
	rt, ctx, err := openRuntime(c)
	if err != nil {
		return err
	}
	defer rt.Close()
	log := logger(c.Bool("debug"))
	src := offhost.NewSource(cfg, c.String("offhost-identity"), log)
	verdicts, err := backup.VerifyRemote(ctx, rt, src, c.Args().Slice(), c.Bool("all"), os.TempDir(), log)
	if err != nil {
		return err
	}
	var failed []error
	for _, v := range verdicts {
		if v.Err != nil {
			fmt.Fprintf(c.App.Writer, "FAIL %s (off-host): %v\n", v.Meta.ID, v.Err)
			failed = append(failed, v.Err)
			continue
		}
		how := "decrypted, sha256 and etcd's status in its image"
		if !v.Full {
			how = "stored bytes only (size and sha256): no identity to decrypt with"
		}
		fmt.Fprintf(c.App.Writer, "ok   %s (off-host) revision %d: %s\n", v.Meta.ID, v.Meta.Etcd.Revision, how)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d off-host copies failed: %w", len(failed), len(verdicts), errors.Join(failed...))
	}
	return nil
}
