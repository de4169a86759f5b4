package bench

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// stepLine matches the debug lines etcd-ramdisk logs for each step of a backup
// or restore (logging.Step in internal/logging): msg=step op=… step=… seconds=….
var stepLine = regexp.MustCompile(`msg=step op=(\S+) step=("(?:[^"\\]|\\.)*"|\S+) seconds=([0-9.eE+-]+)`)

// parseSteps sums the step times of one run by step name, in the order first seen.
func parseSteps(stderr string) (names []string, secs map[string]float64) {
	secs = map[string]float64{}
	for _, st := range logSteps(stderr) {
		if _, ok := secs[st.Name]; !ok {
			names = append(names, st.Name)
		}
		secs[st.Name] += st.Secs
	}
	return names, secs
}

// logSteps is every step line of a run's log, in order, as logged.
func logSteps(stderr string) []Step {
	var out []Step
	for _, m := range stepLine.FindAllStringSubmatch(stderr, -1) {
		name := m[2]
		if u, err := strconv.Unquote(name); err == nil {
			name = u
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		out = append(out, Step{name, v})
	}
	return out
}

// erdSteps runs etcd-ramdisk with debug logs on, so the run's step times can be read.
func (b *bed) erdSteps(ctx context.Context, args ...string) (*CmdRun, error) {
	return run(ctx, append(b.ToolEnv(), "ETCD_RAMDISK_DEBUG=1"), append([]string{b.env.tool()}, args...)...)
}

// StepTimes are one operation's step times per run (seconds),
// from etcd-ramdisk's debug log.
type StepTimes struct {
	Names []string             `json:"names"`
	Runs  []map[string]float64 `json:"runs"`
}

func (s *StepTimes) add(stderr string) {
	names, secs := parseSteps(stderr)
	for _, n := range names {
		if !slices.Contains(s.Names, n) {
			s.Names = append(s.Names, n)
		}
	}
	s.Runs = append(s.Runs, secs)
}

// Median of one step over the runs (0 where a run lacked it).
func (s StepTimes) Median(name string) time.Duration {
	var v []time.Duration
	for _, r := range s.Runs {
		v = append(v, time.Duration(r[name]*float64(time.Second)))
	}
	return Timing{Wall: v}.Median()
}

// writeSteps prints where one operation's time goes: each step's median, and
// what lies outside the lock (process start, containerd connection, manifest).
func writeSteps(w io.Writer, op string, t Timing, s StepTimes) {
	if len(s.Names) == 0 {
		return
	}
	wall := t.Median()
	fmt.Fprintf(w, "| **%s** (wall) | **%s** | |\n", op, dur(wall))
	total := s.Median("total under the lock")
	if total > 0 {
		fmt.Fprintf(w, "| outside the lock: process start, containerd connection, manifest, lock | %s | %.0f%% |\n", dur(wall-total), pct(wall-total, wall))
	}
	for _, n := range s.Names {
		d := s.Median(n)
		fmt.Fprintf(w, "| %s | %s | %.0f%% |\n", n, dur(d), pct(d, wall))
	}
}

func pct(d, of time.Duration) float64 {
	if of <= 0 {
		return 0
	}
	return 100 * d.Seconds() / of.Seconds()
}
