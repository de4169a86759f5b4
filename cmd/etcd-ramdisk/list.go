package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/clock"
	"github.com/etcd-ramdisk/etcd-ramdisk/status"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/urfave/cli/v2"
)

func listCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list stored snapshots, newest first in the store's order, not the clock's (suspect ones and problems too)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
			&cli.BoolFlag{Name: "offhost", Usage: "list the copies on the off-host target instead (no identity needed)"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("offhost") {
				return runListOffhost(c)
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			good, problems, err := st.List()
			if err != nil {
				return err
			}
			suspect, sp, err := st.ListSuspect()
			if err != nil {
				return err
			}
			problems = append(problems, sp...)
			if c.Bool("json") {
				return printListJSON(c, good, suspect, problems)
			}
			printListTable(c, append(good, suspect...), problems)
			return nil
		},
	}
}

type listEntry struct {
	Kind string `json:"kind"`
	store.Metadata
}

func printListJSON(c *cli.Context, good, suspect []store.Snapshot, problems []store.Problem) error {
	out := struct {
		Snapshots []listEntry `json:"snapshots"`
		Problems  []string    `json:"problems"`
	}{Snapshots: []listEntry{}, Problems: []string{}}
	for _, s := range append(good, suspect...) {
		out.Snapshots = append(out.Snapshots, listEntry{Kind: s.Kind.String(), Metadata: s.Meta})
	}
	for _, p := range problems {
		out.Problems = append(out.Problems, p.Error())
	}
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// printListTable shows good then suspect snapshots, each newest first in the
// store's order (SEQ; "-" for snapshots written before it existed). A time
// that the order shows to be wrong is marked with "!".
func printListTable(c *cli.Context, snaps []store.Snapshot, problems []store.Problem) {
	now := clock.Now()
	wrong := store.CheckTimes(snaps, now)
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSEQ\tTIME (UTC)\tAGE\tREASON\tREVISION\tDB KEYS\tRAW\tSTORED\tIMAGE")
	for _, s := range snaps {
		m := s.Meta
		seq, mark := "-", ""
		if m.Seq != 0 {
			seq = strconv.FormatUint(m.Seq, 10)
		}
		if _, ok := wrong[m.ID]; ok {
			mark = " !"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", m.ID, s.Kind, seq, m.Time.Format("2006-01-02 15:04:05"), mark, now.Sub(m.Time).Round(time.Second), m.Reason, m.Etcd.Revision, m.Etcd.TotalKeys, status.Human(m.RawSize), status.Human(m.StoredSize), m.Image.Reference)
	}
	tw.Flush()
	if len(wrong) > 0 {
		fmt.Fprintln(c.App.Writer, "! dated after now, or before an older snapshot: the clock was (or is) wrong; the order is the store's, not the clock's")
	}
	for _, p := range problems {
		fmt.Fprintf(c.App.Writer, "problem: %s\n", p.Error())
	}
}
