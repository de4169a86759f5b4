package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

func seededRand(t *testing.T) *rand.Rand {
	seed, err := strconv.ParseUint(os.Getenv("ERD_FAULT_SEED"), 10, 64)
	if err != nil {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("fault seed %d (set ERD_FAULT_SEED to replay)", seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// killAfter runs etcd-ramdisk and SIGKILLs it after delay, unless it ends first.
// It reports whether the kill landed.
func (n *node) killAfter(delay time.Duration, env []string, args ...string) bool {
	n.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "etcd-ramdisk"), args...)
	cmd.Env = append(append(os.Environ(), n.toolEnvVars()...), env...)
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return false
	case <-time.After(delay):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return true
	}
}

// privateTmp gives this node's etcd-ramdisk runs a TMPDIR of their own, so the
// FIFO directories that killed runs leave there can be counted exactly.
func (n *node) privateTmp() {
	n.t.Helper()
	n.tmpDir = filepath.Join(n.Dir, "tmp")
	if err := os.MkdirAll(n.tmpDir, 0o700); err != nil {
		n.t.Fatal(err)
	}
}

// ioLeftovers lists the FIFO directories (etcd-ramdisk-io-*) in the private TMPDIR.
func (n *node) ioLeftovers() []string {
	n.t.Helper()
	if n.tmpDir == "" {
		n.t.Fatal("ioLeftovers needs privateTmp")
	}
	m, err := filepath.Glob(filepath.Join(n.tmpDir, "etcd-ramdisk-io-*"))
	if err != nil {
		n.t.Fatal(err)
	}
	return m
}

// noIOLeftovers fails the test when a FIFO directory remains after a run that
// should have swept them.
func (n *node) noIOLeftovers(after string) {
	n.t.Helper()
	if left := n.ioLeftovers(); len(left) != 0 {
		n.t.Errorf("after %s: FIFO directories left behind: %v", after, left)
	}
}

func snapshotIDs(l listOutput) map[string]bool {
	ids := map[string]bool{}
	for _, s := range l.Snapshots {
		ids[s.Kind+"/"+s.ID] = true
	}
	return ids
}

// kill -9 at seeded random moments and at every failpoint of a backup: no
// earlier snapshot is lost, every listed snapshot verifies, a rerun succeeds,
// and every key written before the last good backup comes back after a reboot.
func TestFaultCrashDuringBackup(t *testing.T) {
	rng := seededRand(t)
	n := newNode(t, testbed.NodeOptions{})
	n.privateTmp()
	n.kv("fill", "/registry/big/", "10000000")
	keep := []string{"--keep-last", "100000"} // retention must not blur "lost"
	n.mustTool(append([]string{"backup"}, keep...)...)
	points := []string{"backup-after-save", "store-mid-compress", "store-before-rename.zst", "store-before-rename.json", "sidecar-created"}
	trials := faultTrials(len(points) + 3)
	for i := 0; i < trials; i++ {
		n.kv("put", fmt.Sprintf("/registry/trial/%04d", i), "v")
		before := n.list()
		args := append([]string{"backup"}, keep...)
		faults := 1
		if i < len(points) || rng.IntN(2) == 0 {
			p := points[i%len(points)]
			if p == "sidecar-created" {
				args = append(args, "--method", "sidecar")
			}
			n.killAt(p, args...)
		} else if !n.killAfter(time.Duration(rng.IntN(3000))*time.Millisecond, nil, args...) {
			faults = 0 // the run finished first
		}
		if left := n.ioLeftovers(); len(left) > 0 {
			t.Logf("trial %d: the killed run left %d FIFO directories", i, len(left))
		}
		after := n.list()
		lost, partial := 0, 0
		now := snapshotIDs(after)
		for id := range snapshotIDs(before) {
			if !now[id] {
				lost++
				t.Errorf("trial %d: snapshot %s lost", i, id)
			}
		}
		var fresh []string
		for _, s := range after.Snapshots {
			if !snapshotIDs(before)[s.Kind+"/"+s.ID] {
				fresh = append(fresh, s.ID)
			}
		}
		if len(fresh) > 0 {
			if r := n.tool(append([]string{"verify"}, fresh...)...); r.code != 0 {
				partial += strings.Count(r.stdout, "FAIL")
				t.Errorf("trial %d: listed snapshots fail verify: %s", i, r.stdout)
			}
		}
		if r := n.tool(args...); r.code != 0 {
			t.Errorf("trial %d: rerun of backup exited %d", i, r.code)
		}
		n.noIOLeftovers(fmt.Sprintf("trial %d's rerun of backup", i))
		recordFault("kill -9 during backup", 1, faults, lost, partial, 0)
	}
	n.reboot()
	n.mustTool("restore")
	n.startEtcd()
	missing := 0
	for i := 0; i < trials; i++ {
		if _, err := n.kvErr("get", fmt.Sprintf("/registry/trial/%04d", i)); err != nil {
			missing++
			t.Logf("trial key %d: %v", i, err)
		}
	}
	if missing > 0 {
		t.Errorf("%d keys written before the last good backup are missing", missing)
	}
	recordFault("kill -9 during backup", 0, 0, 0, 0, missing)
}

// kill -9 at seeded random moments and at every failpoint of a restore: the data
// dir holds no member/ or a complete one, a rerun finishes, every key is back.
func TestFaultCrashDuringRestore(t *testing.T) {
	rng := seededRand(t)
	n := newNode(t, testbed.NodeOptions{})
	n.privateTmp()
	n.kv("fill", "/registry/big/", "10000000")
	n.kv("put-many", "/registry/k/", "200")
	n.mustTool("backup")
	snaps := len(n.list().Snapshots)
	points := []string{"restore-after-decompress", "restore-before-commit", "sidecar-created"}
	trials := faultTrials(len(points) + 2)
	for i := 0; i < trials; i++ {
		n.reboot()
		faults := 1
		if i < len(points) || rng.IntN(2) == 0 {
			n.killAt(points[i%len(points)], "restore")
		} else if !n.killAfter(time.Duration(rng.IntN(4000))*time.Millisecond, nil, "restore") {
			faults = 0
		}
		if left := n.ioLeftovers(); len(left) > 0 {
			t.Logf("trial %d: the killed run left %d FIFO directories", i, len(left))
		}
		if r := n.tool("restore"); r.code != 0 {
			t.Fatalf("trial %d: rerun of restore exited %d", i, r.code)
		}
		n.noIOLeftovers(fmt.Sprintf("trial %d's rerun of restore", i))
		n.startEtcd()
		keysLost := 0
		if out, err := n.kvErr("check-many", "/registry/k/", "200"); err != nil {
			keysLost = 200
			t.Errorf("trial %d: keys missing after restore: %s %v", i, out, err)
		}
		lost := snaps - len(n.list().Snapshots)
		recordFault("kill -9 during restore", 1, faults, lost, 0, keysLost)
	}
}
