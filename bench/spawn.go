package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// SpawnArg makes the bench binary a spawner (see Spawn). main must call
// MaybeSpawn first thing.
const SpawnArg = "__erd_bench_spawn"

// orphanKillArg makes the bench binary exec its arguments with SIGKILL as
// their parent-death signal (see MaybeSpawn).
const orphanKillArg = "__erd_bench_exec_pdeathsig"

// spawnReport is what the spawner writes to fd 3 about its child.
type spawnReport struct {
	Wall     time.Duration `json:"wall"`
	MaxRSS   int64         `json:"maxRss"`
	Oublock  int64         `json:"oublock"`
	ExitCode int           `json:"exitCode"`
	Err      string        `json:"err,omitempty"`
}

// MaybeSpawn runs the spawner and exits when the process was started as one.
//
// Why a spawner: on exec the kernel folds the old address space's peak RSS into
// the process's ru_maxrss, and Go starts children with vfork, so a child of the
// (large) bench process would report at least the bench's RSS. A fresh, small
// process in between puts that floor at its own few MiB.
//
// With orphanKillArg it instead becomes its arguments (execve, same PID)
// with SIGKILL as the parent-death signal, which execve keeps: a service the
// bench runs under strace then dies with strace, which dies with the bench,
// instead of running on when the bench is killed (a tracer's death only
// detaches its tracees).
func MaybeSpawn() {
	if len(os.Args) >= 3 && os.Args[1] == orphanKillArg {
		execOrphanKilled(os.Args[2:])
	}
	if len(os.Args) < 3 || os.Args[1] != SpawnArg {
		return
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	err := cmd.Run()
	rep := spawnReport{Wall: time.Since(start), ExitCode: -1}
	if cmd.ProcessState != nil {
		rep.ExitCode = cmd.ProcessState.ExitCode()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rep.MaxRSS, rep.Oublock = ru.Maxrss, ru.Oublock
		}
	} else if err != nil {
		rep.Err = err.Error()
	}
	out := os.NewFile(3, "report")
	_ = json.NewEncoder(out).Encode(rep)
	out.Close()
	os.Exit(0)
}

// execOrphanKilled sets the parent-death signal and execs argv on the same
// thread: the signal is a property of the thread that set it.
func execOrphanKilled(argv []string) {
	runtime.LockOSThread()
	ppid := os.Getppid()
	err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	if err == nil && os.Getppid() != ppid {
		err = errors.New("parent gone")
	}
	path, lerr := exec.LookPath(argv[0])
	if err == nil {
		err = lerr
	}
	if err == nil {
		err = unix.Exec(path, argv, os.Environ())
	}
	fmt.Fprintf(os.Stderr, "erd-bench: exec %s: %v\n", argv[0], err)
	os.Exit(127)
}

// spawnCommand wraps argv so that it runs under the spawner.
func spawnCommand(argv []string) (*exec.Cmd, *os.File, *os.File, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	cmd := exec.Command(self, append([]string{SpawnArg}, argv...)...)
	cmd.ExtraFiles = []*os.File{w}
	return cmd, r, w, nil
}

func readReport(r *os.File) (spawnReport, error) {
	var rep spawnReport
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return rep, fmt.Errorf("read spawner report: %w", err)
	}
	if rep.Err != "" {
		return rep, fmt.Errorf("spawn: %s", rep.Err)
	}
	return rep, nil
}
