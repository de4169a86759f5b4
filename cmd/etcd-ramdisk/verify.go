package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/verify"
	"github.com/urfave/cli/v2"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check snapshots: sha256, then etcd's own status in the recorded image",
		UsageText: "etcd-ramdisk verify [--all] [--offhost [--offhost-identity FILE]] [ID...]   (default: the newest snapshot)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "verify every snapshot, suspect ones included"},
			&cli.BoolFlag{Name: "offhost", Usage: "verify the copies on the off-host target: with the identity fetched, decrypted and checked like local ones; without it their stored bytes only"},
			identityFlag(),
		},
		Action: func(c *cli.Context) error {
			return runVerify(c.Context, verifyOptions{
				globalOptions: readGlobal(c), IDs: c.Args().Slice(),
				All: c.Bool("all"), Offhost: c.Bool("offhost"), Identity: c.String("offhost-identity"),
			}, newDeps(c))
		},
	}
}

type verifyOptions struct {
	globalOptions
	IDs      []string // the snapshots to verify; none for the newest (or --all)
	All      bool
	Offhost  bool   // the copies on the off-host target instead
	Identity string // age identity file for the off-host copies
}

func runVerify(ctx context.Context, o verifyOptions, d deps) error {
	ctx = d.start(ctx)
	if o.Offhost {
		return verifyOffhost(ctx, o, d)
	}
	st, err := openStore(o.globalOptions)
	if err != nil {
		return err
	}
	snaps, err := verifyTargets(st, o)
	if err != nil {
		return err
	}
	rt, ctx, err := openRuntime(ctx, o.globalOptions, d)
	if err != nil {
		return err
	}
	defer rt.Close()
	var failed []error
	for i := range snaps {
		s := &snaps[i]
		if err := verify.Snapshot(ctx, rt, st, s, os.TempDir()); err != nil {
			fmt.Fprintf(d.Stdout, "FAIL %s: %v\n", s.Meta.ID, err)
			failed = append(failed, err)
			continue
		}
		fmt.Fprintf(d.Stdout, "ok   %s revision %d\n", s.Meta.ID, s.Meta.Etcd.Revision)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d snapshots failed: %w", len(failed), len(snaps), errors.Join(failed...))
	}
	return nil
}

func verifyTargets(st *store.Store, o verifyOptions) ([]store.Snapshot, error) {
	if len(o.IDs) > 0 {
		var out []store.Snapshot
		for _, id := range o.IDs {
			s, err := st.Get(id)
			if err != nil {
				return nil, usageError{err}
			}
			out = append(out, *s)
		}
		return out, nil
	}
	good, _, err := st.List()
	if err != nil {
		return nil, err
	}
	if o.All {
		sus, _, err := st.ListSuspect()
		if err != nil {
			return nil, err
		}
		return append(good, sus...), nil
	}
	if len(good) == 0 {
		return nil, fmt.Errorf("%w in %s", store.ErrNoSnapshot, st.Dir)
	}
	return good[:1], nil
}

// verifyOffhost is verify --offhost: the copies on the target, decrypted and
// checked like local ones with the identity, their stored bytes only without.
func verifyOffhost(ctx context.Context, o verifyOptions, d deps) error {
	cfg, err := requireOffhost(o.globalOptions)
	if err != nil {
		return err
	}
	rt, ctx, err := openRuntime(ctx, o.globalOptions, d)
	if err != nil {
		return err
	}
	defer rt.Close()
	src := offhost.NewSource(cfg, o.Identity, logging.G(ctx))
	verdicts, err := verify.Remote(ctx, rt, src, o.IDs, o.All, os.TempDir())
	if err != nil {
		return err
	}
	var failed []error
	for _, v := range verdicts {
		if v.Err != nil {
			fmt.Fprintf(d.Stdout, "FAIL %s (off-host): %v\n", v.Meta.ID, v.Err)
			failed = append(failed, v.Err)
			continue
		}
		how := "decrypted, sha256 and etcd's status in its image"
		if !v.Full {
			how = "stored bytes only (size and sha256): no identity to decrypt with"
		}
		fmt.Fprintf(d.Stdout, "ok   %s (off-host) revision %d: %s\n", v.Meta.ID, v.Meta.Etcd.Revision, how)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d off-host copies failed: %w", len(failed), len(verdicts), errors.Join(failed...))
	}
	return nil
}
