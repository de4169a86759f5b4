package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
)

// ErrBackendUnsupported means the --runtime backend in use cannot do what was asked.
var ErrBackendUnsupported = errors.New("not supported with --runtime nerdctl")

// outputTail is how much of a long-running sidecar's output is kept for
// its error messages.
const outputTail = 16 << 10

// runDirName is the run dir inside the sidecar's FIFO directory: a killed run's
// is swept with its FIFOs (RemoveLeftoverIO), its container with the other
// sidecars (RemoveLeftoverSidecars).
const runDirName = "run"

// RunningSidecar is a long-running sidecar (a server, not a tool run to
// completion), locked down and labelled as the others. Stop it, also after
// it exited on its own: that removes its container, snapshot and FIFOs.
type RunningSidecar struct {
	id     string
	task   containerd.Task
	ctr    containerd.Container
	ioDir  string
	out    *tailBuffer
	exited chan struct{}
	status containerd.ExitStatus // set before exited is closed
	// stopWait ends the wait for the exit, once Stop no longer needs it.
	stopWait context.CancelFunc
	stopOnce sync.Once
	stopErr  error
}

// StartSidecar starts opts.Args in a new locked-down container from opts.Image
// and returns once the process runs, without waiting for it. opts.RunDir, when
// set, gets the sidecar's private host directory.
func (r *Runtime) StartSidecar(ctx context.Context, opts SidecarOptions) (_ *RunningSidecar, err error) {
	if r.nerdctl != "" {
		return nil, fmt.Errorf("long-running sidecar %s: %w", opts.Purpose, ErrBackendUnsupported)
	}
	ioDir, err := makeIODir()
	if err != nil {
		return nil, fmt.Errorf("fifo dir: %w", err)
	}
	s := &RunningSidecar{ioDir: ioDir, out: newTailBuffer(outputTail), exited: make(chan struct{}), stopWait: func() {}}
	defer func() {
		if err != nil {
			s.remove(ctx)
		}
	}()
	mounts := opts.Mounts
	if opts.RunDir != "" {
		if err := os.Mkdir(s.RunDir(), 0o700); err != nil {
			return nil, fmt.Errorf("run dir: %w", err)
		}
		mounts = append(append([]Mount(nil), mounts...), Mount{Host: s.RunDir(), Container: opts.RunDir})
	}
	if s.ctr, err = r.newSidecarContainer(ctx, opts, mounts); err != nil {
		return nil, err
	}
	s.id = s.ctr.ID()
	creator := cio.NewCreator(cio.WithStreams(nil, s.out, s.out), cio.WithFIFODir(ioDir))
	if s.task, err = s.ctr.NewTask(ctx, creator); err != nil {
		return nil, fmt.Errorf("create task of sidecar %s: %w", s.id, err)
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// start runs the task and closes exited when it ends; the wait outlives ctx,
// which only bounds starting.
func (s *RunningSidecar) start(ctx context.Context) error {
	waitCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	statusC, err := s.task.Wait(waitCtx)
	if err != nil {
		cancel()
		return fmt.Errorf("wait for sidecar %s: %w", s.id, err)
	}
	s.stopWait = cancel
	go func() {
		s.status = <-statusC
		close(s.exited)
	}()
	if err := s.task.Start(ctx); err != nil {
		return fmt.Errorf("start sidecar %s: %w", s.id, err)
	}
	return nil
}

// ID is the sidecar's container ID.
func (s *RunningSidecar) ID() string { return s.id }

// RunDir is the host path of the directory the sidecar sees at opts.RunDir.
func (s *RunningSidecar) RunDir() string { return filepath.Join(s.ioDir, runDirName) }

// Exited is closed when the sidecar's process has ended, on its own or stopped.
func (s *RunningSidecar) Exited() <-chan struct{} { return s.exited }

// ExitStatus is the process's exit code once Exited is closed; the error says
// when the exit could not be learnt.
func (s *RunningSidecar) ExitStatus() (uint32, error) {
	select {
	case <-s.exited:
		code, _, err := s.status.Result()
		return code, err
	default:
		return 0, fmt.Errorf("sidecar %s is still running", s.id)
	}
}

// Output is the last output the process wrote, stdout and stderr interleaved,
// at most outputTail bytes.
func (s *RunningSidecar) Output() string { return s.out.String() }

// Stop sends SIGTERM, gives the process grace to exit, then SIGKILL, and
// removes the container, its snapshot and FIFOs, whatever happened. The error
// says when the process did not exit on SIGTERM within grace; nil when it did,
// or had exited before (ExitStatus says how). Calling it again returns the
// first call's result.
func (s *RunningSidecar) Stop(ctx context.Context, grace time.Duration) error {
	s.stopOnce.Do(func() {
		s.stopErr = s.terminate(ctx, grace)
		s.remove(ctx)
	})
	return s.stopErr
}

func (s *RunningSidecar) terminate(ctx context.Context, grace time.Duration) error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	// SIGTERM is sent even when ctx has ended: only it lets the tool finish
	// cleanly (etcd commits its database on it); ctx bounds the wait.
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.task.Kill(kctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("sidecar %s: SIGTERM: %w", s.id, err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-s.exited:
		return nil
	case <-timer.C:
		return fmt.Errorf("sidecar %s still ran %s after SIGTERM: killed", s.id, grace)
	case <-ctx.Done():
		return fmt.Errorf("sidecar %s: wait for exit after SIGTERM: %w", s.id, ctx.Err())
	}
}

// remove kills what still runs (SIGKILL), deletes the task (which closes its
// FIFOs), the container and its snapshot, then the FIFO directory.
func (s *RunningSidecar) remove(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if s.task != nil {
		_, _ = s.task.Delete(ctx, containerd.WithProcessKill)
	}
	s.stopWait()
	if s.ctr != nil {
		removeContainer(ctx, s.ctr)
	}
	os.RemoveAll(s.ioDir)
}
