package journal

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// StaleIntervals is how many intervals the published state may go without
// an update before the service is taken for dead or hung: it rewrites the
// state at least once per interval.
const StaleIntervals = 3

// LagIntervals is how far behind etcd the journal may fall while it still
// counts as following: a change waits up to one interval for its commit,
// and the fsync takes a little more.
const LagIntervals = 2

// ProcessAlive says whether pid exists; EPERM means it does, as someone
// else's.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// NotRunning says why a published state does not show a running service
// ("" when it does): stopped, its process gone, or its state stale.
func (s State) NotRunning(now time.Time, alive func(int) bool) string {
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	switch age := now.Sub(s.Updated); {
	case !s.Running && s.LastError != "":
		return s.LastError
	case !s.Running:
		return fmt.Sprintf("stopped (state of pid %d)", s.PID)
	case !alive(s.PID):
		return fmt.Sprintf("its process %d is gone", s.PID)
	case age > StaleIntervals*interval:
		return fmt.Sprintf("its state was last updated %s ago, more than %d intervals of %s: hung?", age.Round(time.Second), StaleIntervals, interval)
	}
	return ""
}

// Lagging says whether the service has fallen behind etcd by more than
// LagIntervals, and by how much ("" when it has not).
func (s State) Lagging() string {
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	if s.LagSeconds > (LagIntervals * interval).Seconds() {
		return fmt.Sprintf("%d revision(s), %.1fs behind etcd (more than %d intervals of %s)", s.LagRevs, s.LagSeconds, LagIntervals, interval)
	}
	return ""
}
