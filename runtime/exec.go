package runtime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
)

// ioCreator gives a task plain buffers for stdout and stderr. The FIFOs live in a
// private temporary directory, not under /run/containerd, so that runs under a
// containerd with another state directory work too. A killed run leaves it
// behind; RemoveLeftoverIO sweeps it.
func ioCreator(stdout, stderr *bytes.Buffer) (cio.Creator, func(), error) {
	dir, err := makeIODir()
	if err != nil {
		return nil, nil, fmt.Errorf("fifo dir: %w", err)
	}
	return cio.NewCreator(cio.WithStreams(nil, stdout, stderr), cio.WithFIFODir(dir)), func() { os.RemoveAll(dir) }, nil
}

// Exec runs args in the running container's task, with the container's own process
// settings (user, environment, capabilities): the image has no shell, so args[0]
// must be a full path inside the image.
func (r *Runtime) Exec(ctx context.Context, c containerd.Container, args []string) (*Result, error) {
	if r.nerdctl != "" {
		return r.nerdctlExec(ctx, c.ID(), args)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("task of %s: %w", c.ID(), err)
	}
	spec, err := c.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("spec of %s: %w", c.ID(), err)
	}
	pspec := *spec.Process
	pspec.Args = args
	pspec.Terminal = false
	var stdout, stderr bytes.Buffer
	creator, cleanup, err := ioCreator(&stdout, &stderr)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	execID := fmt.Sprintf("etcd-ramdisk-%d", time.Now().UnixNano())
	proc, err := task.Exec(ctx, execID, &pspec, creator)
	if err != nil {
		return nil, fmt.Errorf("exec in %s: %w", c.ID(), err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = proc.Delete(dctx, containerd.WithProcessKill)
	}()
	return waitProcess(ctx, proc, &stdout, &stderr)
}

// killWait bounds how long a run that has ended (--timeout, a signal) waits
// for a killed process to be reaped: a wedged shim must not keep the run, and
// the store lock it holds, forever.
var killWait = 10 * time.Second

// killProcess kills proc after ctx ended and waits up to killWait for its
// exit. The error wraps ctx's, so the run still ends as interrupted.
func killProcess(ctx context.Context, proc containerd.Process, statusC <-chan containerd.ExitStatus) error {
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), killWait)
	defer cancel()
	killErr := proc.Kill(kctx, 9)
	select {
	case <-statusC:
		return ctx.Err()
	case <-kctx.Done():
	}
	if killErr != nil {
		return fmt.Errorf("%w; kill process %s: %w; it did not exit within %s", ctx.Err(), proc.ID(), killErr, killWait)
	}
	return fmt.Errorf("%w; process %s did not exit within %s of SIGKILL (containerd's shim does not answer), left behind", ctx.Err(), proc.ID(), killWait)
}

// waitProcess starts proc and waits for it, killing it if ctx ends first.
func waitProcess(ctx context.Context, proc containerd.Process, stdout, stderr *bytes.Buffer) (*Result, error) {
	statusC, err := proc.Wait(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("wait: %w", err)
	}
	if err := proc.Start(ctx); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	var st containerd.ExitStatus
	select {
	case st = <-statusC:
	case <-ctx.Done():
		return nil, killProcess(ctx, proc, statusC)
	}
	code, _, err := st.Result()
	if err != nil {
		return nil, fmt.Errorf("exit status: %w", err)
	}
	// Closing IO flushes what the process wrote before we read the buffers.
	proc.IO().Wait()
	return &Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: code}, nil
}
