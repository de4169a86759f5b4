package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// startBackupAndWait starts a backup and returns once etcdctl is writing the
// snapshot (its .part file exists), with a channel for the run's end.
func (n *node) startBackupAndWait(args ...string) (*exec.Cmd, chan result) {
	n.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "etcd-ramdisk"), args...)
	cmd.Env = append(os.Environ(), n.ToolEnv()...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() {
		err := cmd.Wait()
		r := result{stdout: stdout.String(), stderr: stderr.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				r.signal = ws.Signal()
			}
		}
		done <- r
	}()
	pattern := filepath.Join(n.DataDir(), ".etcd-ramdisk-staging", "*.part")
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return cmd, done
		}
		time.Sleep(2 * time.Millisecond)
	}
	n.t.Fatalf("the backup never started writing its snapshot")
	return nil, nil
}

// Runtime faults end in clear errors and non-zero exits, and delete nothing.
func TestFaultRuntime(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("fill", "/registry/big/", "30000000")
	n.mustTool("backup")
	before := n.list()

	t.Run("containerd socket missing", func(t *testing.T) {
		r := n.toolEnv([]string{"ETCD_RAMDISK_CONTAINERD_ADDRESS=" + filepath.Join(n.Dir, "no.sock")}, "backup")
		if r.code != 4 || !strings.Contains(r.stderr, "--containerd-address") {
			t.Errorf("exit %d, want 4 with a hint naming --containerd-address", r.code)
		}
	})
	t.Run("etcd container stopped during the snapshot", func(t *testing.T) {
		n.kv("put", "/registry/x", "1")
		_, done := n.startBackupAndWait("backup")
		if err := n.StopEtcd(n.ctx); err != nil {
			t.Fatal(err)
		}
		if r := <-done; r.code == 0 {
			t.Errorf("backup survived etcd stopping mid-snapshot: %q", r.stdout)
		}
		n.startEtcd()
	})
	t.Run("containerd restarted during a backup", func(t *testing.T) {
		n.kv("put", "/registry/y", "1")
		_, done := n.startBackupAndWait("backup")
		if err := n.Containerd.KillDaemon(); err != nil {
			t.Fatal(err)
		}
		if err := n.Containerd.Start(n.ctx); err != nil {
			t.Fatal(err)
		}
		r := <-done
		t.Logf("backup across a containerd restart: exit %d", r.code)
		if r.code != 0 && !strings.Contains(r.stderr, "level=ERROR") {
			t.Errorf("failed without a clear message: %s", r.stderr)
		}
		if r := n.tool("backup"); r.code != 0 {
			t.Errorf("backup after the restart exited %d", r.code)
		}
	})
	t.Run("a killed run left etcd's shim waiting on its FIFO", func(t *testing.T) {
		// kill -9 while containerd starts an exec leaves the shim in open(2)
		// on the FIFO the dead run made: until someone opens its other end the
		// shim answers nothing, not the state of etcd's container either.
		n.privateTmp()
		n.kv("put", "/registry/w", "1")
		started, cleanup := n.strandEtcdShim()
		defer cleanup()
		if err := n.etcdAnswers(3 * time.Second); err != nil {
			t.Logf("as expected, the stranded shim does not answer: %v", err)
		} else {
			t.Logf("this containerd's shim still answers while one of its execs waits on a FIFO")
		}
		r := n.tool("backup")
		if r.code != 0 {
			t.Fatalf("backup beside a stranded shim exited %d: %s", r.code, tail(r.stderr, 600))
		}
		if !strings.Contains(r.stderr, "removed FIFO directories of interrupted runs") {
			t.Errorf("the backup did not sweep the dead run's FIFO directory: %s", tail(r.stderr, 600))
		}
		select {
		case err := <-started:
			t.Logf("the stranded exec's start returned: %v", err)
		case <-time.After(time.Minute):
			t.Fatal("the shim still waits on the dead run's FIFO after the backup")
		}
		if shimWaitsForFIFO() {
			t.Error("a shim thread still waits in a FIFO's open(2)")
		}
		if err := n.etcdAnswers(10 * time.Second); err != nil {
			t.Errorf("etcd's shim does not answer after the backup: %v", err)
		}
		n.noIOLeftovers("the backup beside a stranded shim")
	})
	t.Run("recorded image deleted", func(t *testing.T) {
		n.kv("put", "/registry/z", "1")
		if err := n.RemoveImage(n.ctx, n.Options.Image); err != nil {
			t.Fatal(err)
		}
		r := n.tool("backup")
		if r.code == 0 || !strings.Contains(r.stderr, "image") {
			t.Errorf("backup with its image deleted: exit %d, %s", r.code, tail(r.stderr, 400))
		}
		archives, _ := filepath.Glob(filepath.Join(imageDir, "*.tar"))
		if err := n.ImportImages(n.ctx, archives); err != nil {
			t.Fatal(err)
		}
		n.mustTool("backup")
	})
	after := snapshotIDs(n.list())
	for id := range snapshotIDs(before) {
		if !after[id] {
			t.Errorf("snapshot %s deleted by a runtime fault", id)
		}
	}
	recordFault("runtime faults", 5, 5, 0, 0, 0)
}
