package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/clock"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
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
			return runList(c.Context, listOptions{globalOptions: readGlobal(c), JSON: c.Bool("json"), Offhost: c.Bool("offhost")}, newDeps(c))
		},
	}
}

type listOptions struct {
	globalOptions
	JSON    bool
	Offhost bool // the copies on the off-host target instead
}

func runList(ctx context.Context, o listOptions, d deps) error {
	ctx = d.start(ctx)
	if o.Offhost {
		return listOffhost(ctx, o, d)
	}
	st, err := openStore(o.globalOptions)
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
	journals, err := journalRanges(st.JournalDir())
	if err != nil {
		problems = append(problems, store.Problem{Path: st.JournalDir(), Err: err})
	}
	if o.JSON {
		return printListJSON(d.Stdout, append(good, suspect...), journals, problems)
	}
	printListTable(d.Stdout, append(good, suspect...), journals, problems)
	return nil
}

type listEntry struct {
	Kind string `json:"kind"`
	store.Metadata
	// Journal is the chains that follow the snapshot: what a restore of
	// it can replay.
	Journal []journalRange `json:"journal,omitempty"`
}

// printListJSON prints snaps, each with the journal chains that follow it;
// chains that follow no listed snapshot come last.
func printListJSON(w io.Writer, snaps []store.Snapshot, journals map[string][]journalRange, problems []store.Problem) error {
	out := struct {
		Snapshots []listEntry `json:"snapshots"`
		Problems  []string    `json:"problems"`
		// OtherJournal is the chains whose snapshot is not in the store.
		OtherJournal []journalRange `json:"journalWithoutSnapshot,omitempty"`
	}{Snapshots: []listEntry{}, Problems: []string{}}
	for _, s := range snaps {
		out.Snapshots = append(out.Snapshots, listEntry{Kind: s.Kind.String(), Metadata: s.Meta, Journal: journals[s.Meta.ID]})
	}
	for _, id := range unlisted(snaps, journals) {
		out.OtherJournal = append(out.OtherJournal, journals[id]...)
	}
	for _, p := range problems {
		out.Problems = append(out.Problems, p.Error())
	}
	return printJSON(w, out)
}

// printJSON is the --json output of list and status: indented, one document.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printListTable shows good then suspect snapshots, each newest first in the
// store's order (SEQ; "-" for snapshots written before it existed), each
// followed by the journal chains that follow it. A time that the order
// shows to be wrong is marked with "!".
func printListTable(w io.Writer, snaps []store.Snapshot, journals map[string][]journalRange, problems []store.Problem) {
	now := clock.Now()
	wrong := store.CheckTimes(snaps, now)
	// The table is aligned on its own, then the journal lines go in
	// between its rows: a line without tabs would split tabwriter's columns.
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
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
	rows := strings.SplitAfter(table.String(), "\n")
	io.WriteString(w, rows[0])
	for i, s := range snaps {
		io.WriteString(w, rows[i+1])
		for _, r := range journals[s.Meta.ID] {
			fmt.Fprintln(w, r.text())
		}
	}
	for _, id := range unlisted(snaps, journals) {
		if id == "" {
			fmt.Fprintln(w, "chains without a readable header:")
		} else {
			fmt.Fprintf(w, "snapshot %s, not in the store:\n", id)
		}
		for _, r := range journals[id] {
			fmt.Fprintln(w, r.text())
		}
	}
	if len(wrong) > 0 {
		fmt.Fprintln(w, "! dated after now, or before an older snapshot: the clock was (or is) wrong; the order is the store's, not the clock's")
	}
	for _, p := range problems {
		fmt.Fprintf(w, "problem: %s\n", p.Error())
	}
}

// listOffhost is list --offhost: the copies on the target, read without the
// identity.
func listOffhost(ctx context.Context, o listOptions, d deps) error {
	cfg, err := requireOffhost(o.globalOptions)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	l, err := offhost.List(ctx, cfg)
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(d.Stdout, l)
	}
	printOffhostTable(d.Stdout, l)
	return nil
}

func printOffhostTable(w io.Writer, l *offhost.Listing) {
	fmt.Fprintf(w, "target: %s\n", l.Target)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
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
		fmt.Fprintf(w, "problem: %s: %s\n", p.Name, p.Err)
	}
}
