package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// killAt runs etcd-ramdisk with a failpoint armed: the process dies by SIGKILL
// exactly there, as under kill -9 or a power cut.
func (n *node) killAt(point string, args ...string) {
	n.t.Helper()
	r := n.toolEnv([]string{"ETCD_RAMDISK_FAILPOINTS=" + point}, args...)
	if r.signal != syscall.SIGKILL {
		n.t.Fatalf("etcd-ramdisk %v with failpoint %s was not killed there (exit %d)", args, point, r.code)
	}
}

// kill -9 at each step of a backup never leaves a partial file that list shows
// or verify passes, never loses an earlier snapshot, and the next backup succeeds
// and clears the leftovers, the killed sidecar's FIFO directory too. On etcd 3.7:
// TestFaultCrashDuringBackup kills at the same failpoints on the default 3.6.
func TestBackupSurvivesKill9(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{Image: etcd37.ref})
	n.privateTmp()
	n.kv("fill", "/registry/big/", "20000000")
	n.mustTool("backup")
	first := n.list().Snapshots[0].ID
	points := []string{"backup-after-save", "store-mid-compress", "store-before-rename.zst", "store-before-rename.json", "sidecar-created"}
	for _, p := range points {
		n.kv("put", "/registry/round", p)
		if p == "sidecar-created" {
			n.killAt(p, "backup", "--method", "sidecar")
			if len(n.ioLeftovers()) == 0 {
				t.Errorf("kill with a sidecar running left no FIFO directory: the sweep is not tested")
			}
		} else {
			n.killAt(p, "backup")
		}
		l := n.list()
		if len(l.Snapshots) != 1 || l.Snapshots[0].ID != first {
			t.Errorf("after kill at %s: list shows %+v, want only %s", p, l.Snapshots, first)
		}
		t.Logf("after kill at %s: %d leftovers reported as problems: %v", p, len(l.Problems), l.Problems)
		n.mustTool("verify", "--all")
	}
	r := n.mustTool("backup")
	if !strings.HasPrefix(r.stdout, "good ") {
		t.Errorf("backup after the kills: %q", r.stdout)
	}
	l := n.list()
	if len(l.Snapshots) != 2 || len(l.Problems) != 0 {
		t.Errorf("after a clean backup: %d snapshots, problems %v; want 2 and none", len(l.Snapshots), l.Problems)
	}
	if left, _ := filepath.Glob(filepath.Join(n.DataDir(), ".etcd-ramdisk-staging", "*")); len(left) != 0 {
		t.Errorf("staged files left on the tmpfs: %v", left)
	}
	n.noIOLeftovers("the backup after the kills")
}

// Two backups at once serialise on the lock and both end cleanly.
func TestConcurrentBackupsSerialise(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("put-many", "/registry/c/", "100")
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = n.tool("backup")
		}()
	}
	wg.Wait()
	var good, unchanged int
	for _, r := range results {
		if r.code != 0 {
			t.Errorf("a concurrent backup exited %d: %s", r.code, r.stderr)
		}
		if strings.HasPrefix(r.stdout, "good ") {
			good++
		}
		if strings.Contains(r.stdout, "unchanged") {
			unchanged++
		}
	}
	if good != 1 || unchanged != 1 {
		t.Errorf("good=%d unchanged=%d; want one snapshot and one unchanged", good, unchanged)
	}
	l := n.list()
	if len(l.Snapshots) != 1 || len(l.Problems) != 0 {
		t.Errorf("list after concurrent backups: %+v", l)
	}
}

// kill -9 at each step of a restore, then restore again: it finishes the job.
// On etcd 3.7: TestFaultCrashDuringRestore kills at the same failpoints on 3.6.
func TestRestoreSurvivesKill9(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{Image: etcd37.ref})
	n.privateTmp()
	n.kv("fill", "/registry/big/", "20000000")
	n.kv("put-many", "/registry/k/", "100")
	n.mustTool("backup")
	for _, p := range []string{"restore-after-decompress", "restore-before-commit", "sidecar-created"} {
		n.reboot()
		n.killAt(p, "restore")
		if p == "sidecar-created" && len(n.ioLeftovers()) == 0 {
			t.Errorf("kill with a sidecar running left no FIFO directory: the sweep is not tested")
		}
		if _, err := os.Stat(filepath.Join(n.DataDir(), "member")); err == nil {
			t.Fatalf("kill at %s left a member/ behind", p)
		}
		n.mustTool("restore")
		n.startEtcd()
		n.kv("check-many", "/registry/k/", "100")
		if left, _ := filepath.Glob(filepath.Join(n.DataDir(), ".etcd-ramdisk-*")); len(left) != 0 {
			t.Errorf("work files left in the data dir: %v", left)
		}
		n.noIOLeftovers("the restore after a kill at " + p)
	}
}

// After the cluster is reset to an empty one, backup keeps the snapshot aside as
// suspect, exits 9, and every earlier snapshot stays listed.
func TestBackupResetGuard(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("put-many", "/registry/r/", "200")
	n.mustTool("backup")
	n.kv("put", "/registry/r/more", "x")
	n.mustTool("backup")
	before := n.list()
	if err := n.ResetEtcd(n.ctx); err != nil {
		t.Fatal(err)
	}
	n.kv("put", "/registry/new", "fresh")
	r := n.tool("backup")
	if r.code != 9 || !strings.Contains(r.stderr, "reset") {
		t.Fatalf("backup after reset: exit %d, want 9 explaining the reset", r.code)
	}
	after := n.list()
	var good, suspect int
	for _, s := range after.Snapshots {
		switch s.Kind {
		case "good":
			good++
		case "suspect":
			suspect++
		}
	}
	if good != len(before.Snapshots) || suspect != 1 {
		t.Fatalf("after reset: %d good, %d suspect; want %d good, 1 suspect", good, suspect, len(before.Snapshots))
	}
	// A deliberate reset is accepted with the flag.
	n.kv("put", "/registry/new2", "fresh")
	if r := n.tool("backup", "--accept-reset"); r.code != 0 {
		t.Fatalf("backup --accept-reset: exit %d", r.code)
	}
}

// Twenty power cycles with writes in between: after each, every key written
// before the last backup is back.
func TestTwentyRebootCycles(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	for cycle := 0; cycle < 20; cycle++ {
		prefix := "/registry/cycle/" + string(rune('a'+cycle)) + "/"
		n.kv("put-many", prefix, "50")
		reason := "cron"
		if cycle%2 == 1 {
			reason = "shutdown"
		}
		n.mustTool("backup", "--reason", reason)
		n.kv("put", "/registry/after-backup", "may be lost")
		n.reboot()
		n.mustTool("restore")
		n.startEtcd()
		lost := 0
		for c := 0; c <= cycle; c++ {
			if out, err := n.kvErr("check-many", "/registry/cycle/"+string(rune('a'+c))+"/", "50"); err != nil {
				lost += 50
				t.Errorf("cycle %d: keys of cycle %d missing: %s %v", cycle, c, out, err)
			}
		}
		recordFault("power cycle (reboot)", 1, 1, 0, 0, lost)
	}
	// All twenty were taken today: retention keeps exactly the last ten.
	if got := len(n.list().Snapshots); got != 10 {
		t.Errorf("snapshots kept = %d, want 10", got)
	}
}
