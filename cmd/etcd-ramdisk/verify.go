package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
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
	targets, err := verifyTargets(st, o)
	if err != nil {
		return err
	}
	// Damaged snapshots fail without containerd: a run of only those does
	// not need it.
	var rt *erdrt.Runtime
	if len(targets) == 0 || slices.ContainsFunc(targets, func(k store.Known) bool { return k.Snap != nil }) {
		if rt, ctx, err = openRuntime(ctx, o.globalOptions, d); err != nil {
			return err
		}
		defer rt.Close()
	}
	work, done, err := verify.WorkDir(st)
	if err != nil {
		return err
	}
	defer done()
	var failed []error
	for _, k := range targets {
		var err error
		if k.Snap == nil {
			err = fmt.Errorf("%w: %w", etcdtool.ErrVerify, k.Err)
		} else {
			err = verify.Snapshot(ctx, rt, st, k.Snap, work)
		}
		if err != nil {
			fmt.Fprintf(d.Stdout, "FAIL %s: %v\n", k.Meta.ID, err)
			failed = append(failed, err)
			continue
		}
		fmt.Fprintf(d.Stdout, "ok   %s revision %d\n", k.Meta.ID, k.Meta.Etcd.Revision)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d snapshots failed: %w", len(failed), len(targets), errors.Join(failed...))
	}
	return nil
}

// verifyTargets are the snapshots verify names, whole or damaged (those the
// store knows of but cannot load, which fail): the ones named, or every one
// with --all, or the newest. The newest is the newest the store knows of; when
// it is damaged, so are its writes, so it fails, and the newest whole one is
// verified too (what a restore would bring back).
func verifyTargets(st *store.Store, o verifyOptions) ([]store.Known, error) {
	good, problems, err := st.List()
	if err != nil {
		return nil, err
	}
	known := store.Merge(good, problems)
	if len(o.IDs) > 0 || o.All {
		sus, sp, err := st.ListSuspect()
		if err != nil {
			return nil, err
		}
		suspect := store.Merge(sus, sp)
		if o.All && len(known)+len(suspect) == 0 {
			return nil, fmt.Errorf("%w: %s holds none", verify.ErrNothingToVerify, st.Dir)
		}
		if o.All {
			return append(known, suspect...), nil
		}
		return byID(st, append(known, suspect...), o.IDs)
	}
	if len(known) == 0 {
		return nil, fmt.Errorf("%w: %s holds none", verify.ErrNothingToVerify, st.Dir)
	}
	n := slices.IndexFunc(known, func(k store.Known) bool { return k.Snap != nil })
	if n < 0 {
		return known, nil
	}
	return known[:n+1], nil
}

// byID picks the snapshots named on the command line; one the store does
// not know at all is a bad argument.
func byID(st *store.Store, known []store.Known, ids []string) ([]store.Known, error) {
	var out []store.Known
	for _, id := range ids {
		i := slices.IndexFunc(known, func(k store.Known) bool { return k.Meta.ID == id })
		if i >= 0 {
			out = append(out, known[i])
			continue
		}
		snap, err := st.Get(id) // says why: no such snapshot, or no snapshot id
		if err != nil {
			return nil, usageError{err}
		}
		out = append(out, store.Known{Meta: snap.Meta, Snap: snap}) // written since the listing
	}
	return out, nil
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
	st, err := openStore(o.globalOptions)
	if err != nil {
		return err
	}
	work, done, err := verify.WorkDir(st)
	if err != nil {
		return err
	}
	defer done()
	src := offhost.NewSource(cfg, o.Identity, logging.G(ctx))
	verdicts, err := verify.Remote(ctx, rt, src, o.IDs, o.All, work)
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
