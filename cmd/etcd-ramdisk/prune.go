package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

func pruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "apply the retention policy (never the newest snapshot, never suspect ones)",
		Flags: append([]cli.Flag{&cli.BoolFlag{Name: "dry-run", Usage: "print what would be removed, remove nothing"}}, policyFlags()...),
		Action: func(c *cli.Context) error {
			st, err := openStore(c)
			if err != nil {
				return err
			}
			unlock, err := st.Lock(c.Context, c.Duration("lock-timeout"), "prune")
			if err != nil {
				return err
			}
			defer unlock()
			decisions, err := st.Prune(policy(c), c.Bool("dry-run"))
			for _, d := range decisions {
				verb := "keep  "
				if !d.Keep {
					verb = "remove"
					if c.Bool("dry-run") {
						verb = "would remove"
					}
				}
				fmt.Fprintf(c.App.Writer, "%s %s %s\n", verb, d.Snapshot.Meta.ID, strings.Join(d.Reasons, ", "))
			}
			return err
		},
	}
}
