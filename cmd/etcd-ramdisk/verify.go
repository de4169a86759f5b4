package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
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
		Action: runVerify,
	}
}

func runVerify(c *cli.Context) error {
	if c.Bool("offhost") {
		return runVerifyOffhost(c)
	}
	st, err := openStore(c)
	if err != nil {
		return err
	}
	snaps, err := verifyTargets(c, st)
	if err != nil {
		return err
	}
	rt, ctx, err := openRuntime(c)
	if err != nil {
		return err
	}
	defer rt.Close()
	ctx = logging.WithLogger(ctx, logger(c.Bool("debug")))
	var failed []error
	for i := range snaps {
		s := &snaps[i]
		if err := verify.Snapshot(ctx, rt, st, s, os.TempDir()); err != nil {
			fmt.Fprintf(c.App.Writer, "FAIL %s: %v\n", s.Meta.ID, err)
			failed = append(failed, err)
			continue
		}
		fmt.Fprintf(c.App.Writer, "ok   %s revision %d\n", s.Meta.ID, s.Meta.Etcd.Revision)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d snapshots failed: %w", len(failed), len(snaps), errors.Join(failed...))
	}
	return nil
}

func verifyTargets(c *cli.Context, st *store.Store) ([]store.Snapshot, error) {
	if c.NArg() > 0 {
		var out []store.Snapshot
		for _, id := range c.Args().Slice() {
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
	if c.Bool("all") {
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
