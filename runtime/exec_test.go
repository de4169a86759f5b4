package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
)

// wedgedProcess is a process whose shim never reports its exit, not even
// after SIGKILL.
type wedgedProcess struct {
	containerd.Process
	killed bool
}

func (p *wedgedProcess) ID() string { return "exec-1" }
func (p *wedgedProcess) Wait(context.Context) (<-chan containerd.ExitStatus, error) {
	return make(chan containerd.ExitStatus), nil
}
func (p *wedgedProcess) Start(context.Context) error { return nil }
func (p *wedgedProcess) Kill(context.Context, syscall.Signal, ...containerd.KillOpts) error {
	p.killed = true
	return nil
}

// After the run's deadline, an exec into a wedged shim is killed and waited
// for a bounded time; the run then ends as interrupted, saying so.
func TestWaitProcessBoundedAfterDeadline(t *testing.T) {
	defer func(d time.Duration) { killWait = d }(killWait)
	killWait = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := &wedgedProcess{}
	_, err := waitProcess(ctx, p, nil, nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "did not exit") || !p.killed {
		t.Fatalf("waitProcess = %v (killed %v), want context.Canceled saying the process did not exit", err, p.killed)
	}
}

// fakeContainer answers Task with err, or a task in state st.
type fakeContainer struct {
	containerd.Container
	err error
	st  containerd.ProcessStatus
}

func (c fakeContainer) ID() string { return "etcd-1" }
func (c fakeContainer) Task(context.Context, cio.Attach) (containerd.Task, error) {
	if c.err != nil {
		return nil, c.err
	}
	return fakeTask{st: c.st}, nil
}

type fakeTask struct {
	containerd.Task
	st containerd.ProcessStatus
}

func (t fakeTask) Status(context.Context) (containerd.Status, error) {
	return containerd.Status{Status: t.st}, nil
}

// Only containerd saying "no task" or "stopped" is a stopped etcd; any other
// error is containerd's and is returned as such.
func TestIsRunning(t *testing.T) {
	for _, tc := range []struct {
		c       fakeContainer
		running bool
		err     bool
	}{
		{fakeContainer{st: containerd.Running}, true, false},
		{fakeContainer{st: containerd.Stopped}, false, false},
		{fakeContainer{err: fmt.Errorf("task: %w", errdefs.ErrNotFound)}, false, false},
		{fakeContainer{err: errdefs.ErrUnavailable}, false, true},
		{fakeContainer{err: context.DeadlineExceeded}, false, true},
	} {
		running, err := isRunning(context.Background(), tc.c)
		if running != tc.running || (err != nil) != tc.err {
			t.Errorf("%+v: isRunning = %v, %v; want %v, error %v", tc.c, running, err, tc.running, tc.err)
		}
		if tc.err && !errors.Is(err, tc.c.err) {
			t.Errorf("%+v: error %v does not wrap containerd's", tc.c, err)
		}
		ec := &EtcdContainer{Container: tc.c}
		if got := (&Runtime{}).Running(context.Background(), ec); got != (tc.running || tc.err) {
			t.Errorf("%+v: Running = %v, want false only when containerd says it stopped", tc.c, got)
		}
	}
}
