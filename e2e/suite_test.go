package e2e

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"text/tabwriter"
)

// faultStats is the fault suite's tally, printed as a table after the run.
// The zero columns are the promises: nothing lost, nothing partial shown.
var faultStats = struct {
	sync.Mutex
	rows  []string
	table map[string]*faultRow
}{table: map[string]*faultRow{}}

type faultRow struct {
	trials, faults, snapshotsLost, partialListed, keysLost int
}

func recordFault(kind string, trials, faults, lost, partial, keysLost int) {
	faultStats.Lock()
	defer faultStats.Unlock()
	r, ok := faultStats.table[kind]
	if !ok {
		r = &faultRow{}
		faultStats.table[kind] = r
		faultStats.rows = append(faultStats.rows, kind)
	}
	r.trials += trials
	r.faults += faults
	r.snapshotsLost += lost
	r.partialListed += partial
	r.keysLost += keysLost
}

func printFaultSummary() {
	faultStats.Lock()
	defer faultStats.Unlock()
	if len(faultStats.rows) == 0 {
		return
	}
	fmt.Fprintln(os.Stderr, "\nfault suite summary")
	tw := tabwriter.NewWriter(os.Stderr, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "| fault\t| trials\t| faults injected\t| snapshots lost\t| partial snapshots listed\t| keys lost |")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|---\t|--- |")
	var sum faultRow
	for _, k := range faultStats.rows {
		r := faultStats.table[k]
		fmt.Fprintf(tw, "| %s\t| %d\t| %d\t| %d\t| %d\t| %d |\n", k, r.trials, r.faults, r.snapshotsLost, r.partialListed, r.keysLost)
		sum.trials += r.trials
		sum.faults += r.faults
		sum.snapshotsLost += r.snapshotsLost
		sum.partialListed += r.partialListed
		sum.keysLost += r.keysLost
	}
	fmt.Fprintf(tw, "| **total**\t| %d\t| %d\t| %d\t| %d\t| %d |\n", sum.trials, sum.faults, sum.snapshotsLost, sum.partialListed, sum.keysLost)
	tw.Flush()
}

// faultTrials is how many crash trials each crash test runs: ERD_FAULT_TRIALS
// (`make faults` sets 50), or a reduced count that still reaches every failpoint.
func faultTrials(def int) int {
	if n, err := strconv.Atoi(os.Getenv("ERD_FAULT_TRIALS")); err == nil && n > 0 {
		return n
	}
	return def
}
