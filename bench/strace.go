package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// syncCalls are the system calls that force data to stable storage.
const syncCalls = "fsync,fdatasync,sync_file_range,syncfs,sync"

// straceArgs traces syncCalls with file descriptors decoded to paths (-y) and
// each line naming its process's command (-Y; threads share it), following
// children (-f).
func straceArgs(out string) []string {
	return []string{"-f", "-qq", "-y", "-Y", "-e", "trace=" + syncCalls, "-e", "signal=none", "-o", out}
}

// Tracer is a strace attached to running processes for a measurement window.
type Tracer struct {
	cmd  *exec.Cmd
	Out  string
	done chan error
}

// AttachStrace attaches strace to pids (all their threads, and children they start
// from now on) and returns once every pid is traced.
func AttachStrace(ctx context.Context, out string, pids ...int) (*Tracer, error) {
	args := straceArgs(out)
	for _, p := range pids {
		args = append(args, "-p", strconv.Itoa(p))
	}
	cmd := exec.Command("strace", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start strace: %w", err)
	}
	t := &Tracer{cmd: cmd, Out: out, done: make(chan error, 1)}
	go func() { t.done <- cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for _, p := range pids {
		for {
			if tp, _ := statusField(p, "TracerPid"); tp != 0 {
				break
			}
			select {
			case err := <-t.done:
				return nil, fmt.Errorf("strace exited while attaching to %d: %v: %s", p, err, stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				t.Stop()
				return nil, fmt.Errorf("strace did not attach to %d", p)
			}
		}
	}
	return t, nil
}

// Stop detaches strace (SIGINT) and waits for it to write its output.
func (t *Tracer) Stop() error {
	_ = t.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-t.done:
		return nil
	case <-time.After(20 * time.Second):
		_ = t.cmd.Process.Kill()
		return fmt.Errorf("strace did not detach within 20s")
	}
}

// SyncCall is one traced call: which process, which call, which file.
type SyncCall struct {
	PID  int
	Comm string  // the command name strace printed (-Y)
	At   float64 // Unix seconds, when traced with -ttt; 0 without
	Call string
	Path string // "" for sync(2)
}

// Trace is a parsed strace output file.
type Trace struct {
	Calls []SyncCall
}

var (
	callRe = regexp.MustCompile(`^(\d+)(?:<([^>]*)>)?\s+(?:(\d+\.\d+)\s+)?(` + strings.ReplaceAll(syncCalls, ",", "|") + `)\((.*)`)
	// An unlinked file is "<path (deleted)>" or, in strace 6, "<path>(deleted)".
	fdRe = regexp.MustCompile(`^\d+<(.*?)>(?:\(deleted\))?(?:[,)]| <unfinished)`)
)

// ParseTrace reads strace -f -y -Y output (with or without -ttt). A call interrupted by another
// thread's line ("<unfinished ...>") counts once, at its start.
func ParseTrace(r io.Reader) (*Trace, error) {
	t := &Trace{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := callRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		at, _ := strconv.ParseFloat(m[3], 64)
		c := SyncCall{PID: pid, Comm: m[2], At: at, Call: m[4]}
		if f := fdRe.FindStringSubmatch(m[5]); f != nil {
			c.Path = strings.TrimSuffix(f[1], " (deleted)")
		}
		t.Calls = append(t.Calls, c)
	}
	return t, sc.Err()
}

// ParseTraceFile parses a strace output file; a missing file is an empty trace.
func ParseTraceFile(path string) (*Trace, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return &Trace{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseTrace(f)
}

// SyncCount splits sync calls by where their file lives.
type SyncCount struct {
	Persistent int            `json:"persistent"` // files on a disk filesystem, and sync(2)
	Volatile   int            `json:"volatile"`   // files on tmpfs (and similar): no disk I/O
	Unknown    int            `json:"unknown"`    // the fd was not a path (a pipe or socket)
	ByCall     map[string]int `json:"byCall"`
}

func (s SyncCount) Total() int { return s.Persistent + s.Volatile + s.Unknown }

func (s *SyncCount) Add(o SyncCount) {
	s.Persistent += o.Persistent
	s.Volatile += o.Volatile
	s.Unknown += o.Unknown
	for k, v := range o.ByCall {
		if s.ByCall == nil {
			s.ByCall = map[string]int{}
		}
		s.ByCall[k] += v
	}
}

// Classify counts the trace's calls. mountsFor gives the mount table the calling
// command saw (paths from strace -y are in the tracee's mount namespace).
func (t *Trace) Classify(mountsFor func(comm string) mountTable) SyncCount {
	s := SyncCount{ByCall: map[string]int{}}
	for _, c := range t.Calls {
		s.ByCall[c.Call]++
		switch {
		case c.Call == "sync":
			s.Persistent++
		case !strings.HasPrefix(c.Path, "/"):
			s.Unknown++
		case volatileFS[mountsFor(c.Comm).fsType(c.Path)]:
			s.Volatile++
		default:
			s.Persistent++
		}
	}
	return s
}

// Where keeps the calls for which keep is true.
func (t *Trace) Where(keep func(SyncCall) bool) *Trace {
	out := &Trace{}
	for _, c := range t.Calls {
		if keep(c) {
			out.Calls = append(out.Calls, c)
		}
	}
	return out
}
