package main

import (
	"context"
	"fmt"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/clock"
	"github.com/urfave/cli/v2"
)

func ackRestoreCommand() *cli.Command {
	return &cli.Command{
		Name:  "ack-restore",
		Usage: "acknowledge the warning that this boot's etcd may be older than its last state, once the cluster is checked: status stops warning about it (a later restore records afresh)",
		Action: func(c *cli.Context) error {
			return runAckRestore(c.Context, readGlobal(c), newDeps(c))
		},
	}
}

func runAckRestore(ctx context.Context, g globalOptions, d deps) error {
	ctx = d.start(ctx)
	st, err := openStore(g)
	if err != nil {
		return err
	}
	unlock, err := st.Lock(ctx, g.LockTimeout, "ack-restore")
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := st.ReadRestoreRecord()
	switch {
	case err != nil:
		return err
	case rec == nil || rec.Stale == "":
		fmt.Fprintln(d.Stdout, "nothing to acknowledge: the last restore recorded no stale snapshot")
		return nil
	case rec.Acknowledged != nil:
		fmt.Fprintf(d.Stdout, "already acknowledged at %s\n", rec.Acknowledged.Format(time.RFC3339))
		return nil
	}
	if rec, err = st.AcknowledgeRestore(clock.Now()); err != nil {
		return err
	}
	fmt.Fprintf(d.Stdout, "acknowledged: restored %s at %s: %s\n", rec.SnapshotID, rec.Time.Format(time.RFC3339), rec.Stale)
	return nil
}
