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

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	"github.com/etcd-ramdisk/etcd-ramdisk/restore"
	"github.com/etcd-ramdisk/etcd-ramdisk/status"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/verify"
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
	return &cli.StringFlag{Name: "offhost-identity", EnvVars: []string{"ETCD_RAMDISK_OFFHOST_IDENTITY"}, Usage: "age identity file (AGE-SECRET-KEY-1…) that decrypts the off-host copies (default: identityFile in the off-host config)"}
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
func remoteSource(c *cli.Context) restore.RemoteSource {
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
	verdicts, err := verify.Remote(logging.WithLogger(ctx, log), rt, src, c.Args().Slice(), c.Bool("all"), os.TempDir())
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

func offhostInstallFlags() []cli.Flag {
	k := offhost.DefaultKeep()
	return []cli.Flag{
		&cli.StringFlag{Name: "offhost-dir", Usage: "copy snapshots off the node into this directory (an NFS or SMB mount of a NAS; it must exist)"},
		&cli.StringFlag{Name: "offhost-s3-endpoint", Usage: "copy snapshots to an S3-compatible server: https://host[:port]"},
		&cli.StringFlag{Name: "offhost-s3-bucket", Usage: "S3 bucket (it must exist)"},
		&cli.StringFlag{Name: "offhost-s3-prefix", Usage: "S3 key prefix, e.g. node1/"},
		&cli.StringFlag{Name: "offhost-s3-region", Usage: "S3 region (default: the server's)"},
		&cli.BoolFlag{Name: "offhost-s3-path-style", Usage: "path-style bucket URLs (MinIO, versitygw, most self-hosted servers)"},
		&cli.StringFlag{Name: "offhost-s3-ca-file", Usage: "PEM CA certificate(s) the S3 server's TLS certificate is checked against"},
		&cli.StringFlag{Name: "offhost-s3-credentials-file", Usage: "root-only file with aws_access_key_id and aws_secret_access_key (credentials never go on the command line)"},
		&cli.StringSliceFlag{Name: "offhost-recipient", Usage: "age public key (age1…) to encrypt copies to; repeat for several"},
		&cli.StringFlag{Name: "offhost-recipients-file", Usage: "file of age public keys, one per line"},
		&cli.BoolFlag{Name: "offhost-insecure-plaintext-with-all-secrets", Usage: "copy snapshots UNENCRYPTED: every Kubernetes Secret readable on the target"},
		&cli.StringFlag{Name: "offhost-timeout", Value: offhost.DefaultTimeout.String(), Usage: "bound on one run's copying; the local backup never waits longer"},
		&cli.IntFlag{Name: "offhost-keep-last", Value: k.Last, Usage: "remote retention: keep the newest N copies"},
		&cli.IntFlag{Name: "offhost-keep-daily", Value: k.Daily, Usage: "remote retention: one copy a day for N days"},
		&cli.IntFlag{Name: "offhost-keep-weekly", Value: k.Weekly, Usage: "remote retention: one copy a week for N weeks"},
		&cli.IntFlag{Name: "offhost-keep-monthly", Value: k.Monthly, Usage: "remote retention: one copy a month for N months"},
	}
}

// offhostInstallConfig renders the off-host config install writes, or nil
// when no target is given. On a live install the target is probed first.
func offhostInstallConfig(c *cli.Context) ([]byte, error) {
	dir, endpoint := c.String("offhost-dir"), c.String("offhost-s3-endpoint")
	if dir == "" && endpoint == "" && c.String("offhost-s3-bucket") == "" {
		return nil, nil
	}
	cfg := &offhost.Config{
		Dir: dir, Recipients: c.StringSlice("offhost-recipient"), RecipientsFile: c.String("offhost-recipients-file"),
		InsecurePlaintext: c.Bool("offhost-insecure-plaintext-with-all-secrets"), Timeout: c.String("offhost-timeout"),
		Keep: &offhost.Keep{Last: c.Int("offhost-keep-last"), Daily: c.Int("offhost-keep-daily"), Weekly: c.Int("offhost-keep-weekly"), Monthly: c.Int("offhost-keep-monthly")},
	}
	if endpoint != "" || c.String("offhost-s3-bucket") != "" {
		cfg.S3 = &offhost.S3Config{Endpoint: endpoint, Bucket: c.String("offhost-s3-bucket"), Prefix: c.String("offhost-s3-prefix"),
			Region: c.String("offhost-s3-region"), PathStyle: c.Bool("offhost-s3-path-style"), CAFile: c.String("offhost-s3-ca-file"),
			CredentialsFile: c.String("offhost-s3-credentials-file")}
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageError{fmt.Errorf("off-host target: %w", err)}
	}
	if !c.Bool("dry-run") && c.String("root") == "" {
		ctx, cancel := context.WithTimeout(c.Context, time.Minute)
		defer cancel()
		if err := offhost.Probe(ctx, cfg); err != nil {
			return nil, configError{fmt.Errorf("off-host target (nothing installed): %w", err)}
		}
	}
	return cfg.Marshal()
}
