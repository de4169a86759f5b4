package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// SpawnArg makes the bench binary a spawner (see Spawn). main must call
// MaybeSpawn first thing.
const SpawnArg = "__erd_bench_spawn"

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
func MaybeSpawn() {
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
