package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/urfave/cli/v2"
)

func pruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "apply the retention policy (never the newest snapshot, never suspect ones)",
		Flags: append([]cli.Flag{&cli.BoolFlag{Name: "dry-run", Usage: "print what would be removed, remove nothing"}}, policyFlags()...),
		Action: func(c *cli.Context) error {
			return runPrune(c.Context, pruneOptions{globalOptions: readGlobal(c), DryRun: c.Bool("dry-run"), Policy: readPolicy(c)}, newDeps(c))
		},
	}
}

type pruneOptions struct {
	globalOptions
	DryRun bool
	Policy store.Policy
}

func runPrune(ctx context.Context, o pruneOptions, d deps) error {
	ctx = d.start(ctx)
	if err := o.Policy.Validate(); err != nil {
		return usageError{fmt.Errorf("--keep-*: %w", err)}
	}
	st, err := openStore(o.globalOptions)
	if err != nil {
		return err
	}
	unlock, err := st.Lock(ctx, o.LockTimeout, "prune")
	if err != nil {
		return err
	}
	defer unlock()
	decisions, err := st.Prune(o.Policy, o.DryRun)
	printPrune(d.Stdout, decisions, o.DryRun)
	return err
}

func printPrune(w io.Writer, decisions []store.Decision, dryRun bool) {
	for _, d := range decisions {
		verb := "keep  "
		if !d.Keep {
			verb = "remove"
			if dryRun {
				verb = "would remove"
			}
		}
		fmt.Fprintf(w, "%s %s %s\n", verb, d.Snapshot.Meta.ID, strings.Join(d.Reasons, ", "))
	}
}
