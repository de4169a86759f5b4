package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// strandedIO is the IO of a client that died after it made its FIFOs and
// before the shim opened them: nobody holds their other ends.
type strandedIO struct{ cfg cio.Config }

func (s *strandedIO) Config() cio.Config { return s.cfg }
func (s *strandedIO) Cancel()            {}
func (s *strandedIO) Wait()              {}
func (s *strandedIO) Close() error       { return nil }

// strandEtcdShim leaves etcd's shim as a run of etcd-ramdisk killed in the
// middle of starting an exec does: the exec's FIFOs lie in a FIFO directory
// of the node's TMPDIR named after a run that has exited, and the shim waits
// in open(2) for a reader. It returns once a shim thread waits there, with a
// channel for the exec start's end and a func that deletes the exec.
func (n *node) strandEtcdShim() (started chan error, cleanup func()) {
	n.t.Helper()
	if n.tmpDir == "" {
		n.t.Fatal("strandEtcdShim needs privateTmp")
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		n.t.Fatal(err)
	}
	dir := filepath.Join(n.tmpDir, fmt.Sprintf("etcd-ramdisk-io-%d-1-1", gone.Process.Pid), "1")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		n.t.Fatal(err)
	}
	cfg := cio.Config{Stdout: filepath.Join(dir, "stranded-stdout"), Stderr: filepath.Join(dir, "stranded-stderr")}
	for _, p := range []string{cfg.Stdout, cfg.Stderr} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			n.t.Fatal(err)
		}
	}
	cl, err := n.Containerd.Client()
	if err != nil {
		n.t.Fatal(err)
	}
	ctx := namespaces.WithNamespace(n.ctx, "k8s.io")
	task := n.etcdTask(ctx, cl)
	spec, err := task.Spec(ctx)
	if err != nil {
		n.t.Fatal(err)
	}
	pspec := *spec.Process
	pspec.Args = []string{"/usr/local/bin/etcd", "--version"}
	pspec.Terminal = false
	proc, err := task.Exec(ctx, "stranded-by-a-killed-run", &pspec, func(string) (cio.IO, error) { return &strandedIO{cfg}, nil })
	if err != nil {
		n.t.Fatal(err)
	}
	started = make(chan error, 1)
	go func() { started <- proc.Start(ctx) }()
	if !waitFor(30*time.Second, shimWaitsForFIFO) {
		n.t.Fatal("the test could not strand the shim: no containerd-shim thread waits in a FIFO's open(2)")
	}
	return started, func() {
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		_, _ = proc.Delete(dctx, containerd.WithProcessKill)
		cl.Close()
	}
}

// etcdTasks lists the tasks of the containers labelled etcd.
func etcdTasks(ctx context.Context, cl *containerd.Client) ([]containerd.Task, error) {
	ctrs, err := cl.Containers(ctx, `labels."io.kubernetes.container.name"==etcd`)
	if err != nil {
		return nil, err
	}
	var tasks []containerd.Task
	for _, c := range ctrs {
		if task, err := c.Task(ctx, nil); err == nil {
			tasks = append(tasks, task)
		}
	}
	return tasks, nil
}

// etcdTask is the task of the running etcd container.
func (n *node) etcdTask(ctx context.Context, cl *containerd.Client) containerd.Task {
	n.t.Helper()
	tasks, err := etcdTasks(ctx, cl)
	if err != nil {
		n.t.Fatal(err)
	}
	for _, task := range tasks {
		if st, err := task.Status(ctx); err == nil && st.Status == containerd.Running {
			return task
		}
	}
	n.t.Fatal("no running etcd task")
	return nil
}

// etcdAnswers reports whether containerd can tell the etcd task's state
// within d (its shim answers).
func (n *node) etcdAnswers(d time.Duration) error {
	cl, err := n.Containerd.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(n.ctx, "k8s.io"), d)
	defer cancel()
	tasks, err := etcdTasks(ctx, cl)
	if err != nil {
		return err
	}
	for _, task := range tasks {
		if _, err := task.Status(ctx); err != nil {
			return fmt.Errorf("state of %s: %w", task.ID(), err)
		}
	}
	return nil
}

// shimWaitsForFIFO reports whether a thread of a containerd shim sleeps in a
// FIFO's open(2), waiting for the other end.
func shimWaitsForFIFO() bool {
	tasks, _ := filepath.Glob("/proc/[0-9]*/task/[0-9]*/wchan")
	for _, w := range tasks {
		b, err := os.ReadFile(w)
		if err != nil || !strings.Contains(string(b), "wait_for_partner") {
			continue
		}
		pid := strings.Split(w, "/")[2]
		cmd, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		if strings.Contains(string(cmd), "containerd-shim") {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
