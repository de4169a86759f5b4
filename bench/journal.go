package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
)

// JournalResult is what the journal service of a (c) setup cost over the
// window: its own counters, not its children's (it has none while it follows).
type JournalResult struct {
	Interval time.Duration `json:"intervalNs"`
	PID      int           `json:"pid"`
	IO       IOCounters    `json:"io"`         // /proc/<pid>/io delta
	CPU      time.Duration `json:"cpuNs"`      // utime+stime delta from /proc/<pid>/stat
	CPUShare float64       `json:"cpuPercent"` // CPU ÷ window, % of one core
	PeakRSS  int64         `json:"peakRssBytes"`
	// Sync is every sync call in the window; Continuous those in the chain
	// being followed (the group commits, and a new segment when one fills);
	// Rotation the rest: building the next snapshot's chain in journal/.new,
	// placing it and removing the old chains (fsyncs of the journal dir),
	// once per new snapshot.
	Sync       SyncCount `json:"sync"`
	Continuous SyncCount `json:"continuousSync"`
	Rotation   SyncCount `json:"rotationSync"`
	Rotations  int       `json:"rotations"` // "journal rotated" log lines
	// OwnBytes and OwnSyncs are the service's own counters (what its state
	// file says it wrote and synced), over the window: a cross-check.
	OwnBytes int64          `json:"ownBytes"`
	OwnSyncs int64          `json:"ownSyncs"`
	State    *journal.State `json:"state,omitempty"`    // as published at the window's end
	Warnings []string       `json:"warnings,omitempty"` // WARN and ERROR log lines (the first 20)
	ExitCode int            `json:"exitCode"`
}

// journalProc is `etcd-ramdisk journal` run for a setup, under strace
// --seccomp-bpf so that only its sync calls stop it (its CPU figure stays
// its own), with -ttt so that the calls outside the window can be left out.
type journalProc struct {
	cmd      *exec.Cmd // strace
	done     chan error
	pid      int // etcd-ramdisk journal, strace's child
	interval time.Duration
	trace    string
	state    string
	logPath  string
	root     string // <backup-dir>/journal
	stopped  bool
	exit     int
}

// startJournal starts the journal service against the bed and returns once
// it follows etcd into a chain. Its state file goes to a tmpfs under the
// bed, as /run is on a node: publishing it costs the disk nothing.
func (b *bed) startJournal(ctx context.Context, scratch string, interval time.Duration) (*journalProc, error) {
	run := filepath.Join(b.Dir, "run")
	if mounted, err := isMountPoint(run); err != nil || !mounted {
		if run, err = b.mountTmpfs("run", 16<<20); err != nil {
			return nil, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	j := &journalProc{interval: interval, trace: filepath.Join(scratch, "journal.strace"), state: filepath.Join(run, "journal.json"),
		logPath: filepath.Join(scratch, "journal.log"), root: filepath.Join(b.BackupDir(), "journal"), done: make(chan error, 1)}
	logf, err := os.Create(j.logPath) // on tmpfs
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	args := append(append([]string{"--seccomp-bpf", "-ttt"}, straceArgs(j.trace)...), "--", self, orphanKillArg,
		b.env.tool(), "journal", "--interval", interval.String(), "--state-file", j.state)
	j.cmd = exec.Command("strace", args...)
	j.cmd.Env = append(os.Environ(), b.ToolEnv()...)
	j.cmd.Stdout, j.cmd.Stderr = logf, logf
	j.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := j.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start journal: %w", err)
	}
	go func() { j.done <- j.cmd.Wait() }()
	if err := j.waitFollowing(ctx); err != nil {
		j.stop()
		return nil, fmt.Errorf("journal %s: %w (log: %s)", interval, err, tail(j.log(), 1500))
	}
	b.env.Log.Info("journal following", "bed", b.name, "pid", j.pid, "interval", interval)
	return j, nil
}

// waitFollowing waits for the service's PID and for its published state
// to say it follows etcd in a chain.
func (j *journalProc) waitFollowing(ctx context.Context) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if j.pid == 0 {
			j.pid = childNamed(j.cmd.Process.Pid, "etcd-ramdisk")
		}
		if s, err := journal.ReadState(j.state); err == nil && j.pid != 0 && s.PID == j.pid && s.Running && s.ChainID != "" {
			return nil
		}
		select {
		case err := <-j.done:
			j.done <- err
			return fmt.Errorf("exited while starting: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond): // polling its state file, bounded by the deadline
		}
		if time.Now().After(deadline) {
			return errors.New("not following etcd after 2m")
		}
	}
}

// childNamed is the PID of parent's child whose command is comm, 0 if none.
func childNamed(parent int, comm string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, _ := ParentPID(pid); pp != parent {
			continue
		}
		if c, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm")); strings.TrimSpace(string(c)) == comm {
			return pid
		}
	}
	return 0
}

// journalCounters are the service's own counters at one moment.
type journalCounters struct {
	io    IOCounters
	cpu   time.Duration
	hwm   int64
	state journal.State
	clock time.Time
}

func (j *journalProc) read() (journalCounters, error) {
	c := journalCounters{clock: time.Now()}
	var errs [4]error
	c.io, errs[0] = ReadIO(j.pid)
	c.cpu, errs[1] = cpuTime(j.pid)
	c.hwm, errs[2] = statusKB(j.pid, "VmHWM")
	c.hwm *= 1024
	c.state, errs[3] = journal.ReadState(j.state)
	return c, errors.Join(errs[:]...)
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every
// Linux architecture Go runs on.
const clockTicks = 100

// cpuTime is utime+stime of the whole process (all its threads) from
// /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after it start at state (field 3).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// stop ends the service with SIGTERM (it flushes and closes its chain) and
// waits for it and strace; it kills both when they do not end in time.
func (j *journalProc) stop() int {
	if j.stopped {
		return j.exit
	}
	j.stopped, j.exit = true, -1
	if j.pid != 0 {
		_ = syscall.Kill(j.pid, syscall.SIGTERM)
	} else {
		_ = j.cmd.Process.Kill()
	}
	var err error
	select {
	case err = <-j.done:
		j.done <- err
	case <-time.After(30 * time.Second):
		if j.pid != 0 {
			_ = syscall.Kill(j.pid, syscall.SIGKILL)
		}
		_ = j.cmd.Process.Kill()
		err = <-j.done
		j.done <- err
	}
	if j.cmd.ProcessState != nil {
		j.exit = j.cmd.ProcessState.ExitCode() // strace exits with its tracee's status
	}
	return j.exit
}

func (j *journalProc) log() string {
	b, _ := os.ReadFile(j.logPath)
	return string(b)
}

// measure fills r from the counters at the window's start and end, the
// trace of the window and the state the service published at its end.
func (j *journalProc) measure(r *JournalResult, c0, c1 journalCounters, host mountTable) error {
	r.Interval, r.PID = j.interval, j.pid
	r.IO, r.CPU, r.PeakRSS = c1.io.Sub(c0.io), c1.cpu-c0.cpu, c1.hwm
	if w := c1.clock.Sub(c0.clock); w > 0 {
		r.CPUShare = 100 * r.CPU.Seconds() / w.Seconds()
	}
	r.State, r.OwnBytes, r.OwnSyncs = &c1.state, c1.state.Bytes-c0.state.Bytes, c1.state.Syncs-c0.state.Syncs
	tr, err := ParseTraceFile(j.trace)
	if err != nil {
		return err
	}
	from, to := unixSeconds(c0.clock), unixSeconds(c1.clock)
	tr = tr.Where(func(c SyncCall) bool { return c.At >= from && c.At <= to })
	mounts := func(string) mountTable { return host }
	r.Sync = tr.Classify(mounts)
	rotation := func(c SyncCall) bool {
		staging := filepath.Join(j.root, ".new")
		return c.Path == j.root || c.Path == staging || strings.HasPrefix(c.Path, staging+"/")
	}
	r.Rotation = tr.Where(rotation).Classify(mounts)
	r.Continuous = tr.Where(func(c SyncCall) bool { return !rotation(c) }).Classify(mounts)
	for _, l := range strings.Split(j.log(), "\n") {
		switch {
		case strings.Contains(l, `msg="journal rotated to a newer snapshot"`):
			if t, ok := logTime(l); ok && !t.Before(c0.clock) && !t.After(c1.clock) {
				r.Rotations++
			}
		case (strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR")) && len(r.Warnings) < 20:
			r.Warnings = append(r.Warnings, l)
		}
	}
	return nil
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// logTime is the time of one of the service's log lines (slog's text format).
func logTime(l string) (time.Time, bool) {
	v, _, _ := strings.Cut(strings.TrimPrefix(l, "time="), " ")
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// waitRotated waits until the service follows a snapshot other than before
// (it rotated onto the newest), at most three intervals and a minute; false
// when it did not in that time.
func (j *journalProc) waitRotated(ctx context.Context, before string) (bool, error) {
	deadline := time.Now().Add(3*j.interval + time.Minute)
	for time.Now().Before(deadline) {
		if s, err := journal.ReadState(j.state); err == nil && s.Running && s.SnapshotID != "" && s.SnapshotID != before {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(100 * time.Millisecond): // polling its state file, bounded by the deadline
		}
	}
	return false, nil
}

// waitDurable waits until the service has fsynced revision rev, as its
// published state says; it fails after timeout or when the service exits.
func (j *journalProc) waitDurable(ctx context.Context, rev int64, timeout time.Duration) (journal.State, error) {
	deadline := time.Now().Add(timeout)
	var last journal.State
	for time.Now().Before(deadline) {
		if s, err := journal.ReadState(j.state); err == nil {
			if last = s; s.DurableRev >= rev {
				return s, nil
			}
		}
		select {
		case err := <-j.done:
			j.done <- err
			return last, fmt.Errorf("journal exited: %v", err)
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(100 * time.Millisecond): // polling its state file, bounded by the deadline
		}
	}
	return last, fmt.Errorf("journal not durable at revision %d after %s (durable at %d)", rev, timeout, last.DurableRev)
}

// kill ends the service as a power cut would: SIGKILL, no flush, no close.
func (j *journalProc) kill() {
	if j.stopped {
		return
	}
	j.stopped, j.exit = true, -1
	if j.pid != 0 {
		_ = syscall.Kill(j.pid, syscall.SIGKILL)
	}
	_ = j.cmd.Process.Kill()
	err := <-j.done
	j.done <- err
}

// isMountPoint says whether dir is the root of a mount (a missing dir is not).
func isMountPoint(dir string) (bool, error) {
	var st, parent syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	if err := syscall.Stat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev || st.Ino == parent.Ino, nil
}
