package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// startTool starts etcd-ramdisk without waiting for it.
func (n *node) startTool(args ...string) *exec.Cmd {
	n.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "etcd-ramdisk"), args...)
	cmd.Env = append(os.Environ(), n.ToolEnv()...)
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	return cmd
}

// waitFor polls until cond holds or the command ends; it reports whether cond held.
func waitFor(cmd *exec.Cmd, done <-chan struct{}, cond func() bool) bool {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		select {
		case <-done:
			return cond()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return false
}

func globExists(pattern string) func() bool {
	return func() bool {
		m, _ := filepath.Glob(pattern)
		return len(m) > 0
	}
}

// kill -9 at three moments of a backup never leaves a partial file that list
// shows or verify passes, and the next backup succeeds.
func TestBackupSurvivesKill9(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("fill", "/registry/big/", "40000000")
	n.mustTool("backup")
	good := n.list().Snapshots[0].ID
	moments := []struct {
		name string
		cond func() bool
	}{
		{"during etcdctl snapshot save", globExists(filepath.Join(n.DataDir(), ".etcd-ramdisk-staging", "*.part"))},
		{"during compression", globExists(filepath.Join(n.BackupDir(), "snapshots", ".tmp-*.db.zst"))},
		{"before the metadata rename", globExists(filepath.Join(n.BackupDir(), "snapshots", ".tmp-*.json"))},
	}
	for i, m := range moments {
		n.kv("put", "/registry/round", m.name)
		cmd := n.startTool("backup")
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		hit := waitFor(cmd, done, m.cond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		t.Logf("kill -9 %s: moment reached=%v", m.name, hit)
		l := n.list()
		for _, s := range l.Snapshots {
			if r := n.tool("verify", s.ID); r.code != 0 {
				t.Errorf("after kill %d (%s): listed snapshot %s fails verify", i, m.name, s.ID)
			}
		}
		if l.Snapshots[len(l.Snapshots)-1].ID != good {
			t.Errorf("after kill %d: the first good snapshot %s is gone", i, good)
		}
	}
	r := n.mustTool("backup")
	if !strings.HasPrefix(r.stdout, "good ") {
		t.Errorf("backup after the kills: %q", r.stdout)
	}
	for _, p := range []string{".tmp-*", "*.db.zst"} {
		files, _ := filepath.Glob(filepath.Join(n.BackupDir(), "snapshots", p))
		if p == ".tmp-*" && len(files) != 0 {
			t.Errorf("temporary files left after a clean backup: %v", files)
		}
	}
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

// kill -9 during a restore, then restore again: it finishes the job.
func TestRestoreSurvivesKill9(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("fill", "/registry/big/", "30000000")
	n.kv("put-many", "/registry/k/", "100")
	n.mustTool("backup")
	n.reboot()
	cmd := n.startTool("restore")
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	hit := waitFor(cmd, done, globExists(filepath.Join(n.DataDir(), ".etcd-ramdisk-restore", "snapshot.db")))
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	t.Logf("killed during restore (work dir seen: %v)", hit)
	if _, err := os.Stat(filepath.Join(n.DataDir(), "member")); err == nil {
		t.Log("the restore had already committed member/ before the kill")
	}
	n.mustTool("restore")
	n.startEtcd()
	n.kv("check-many", "/registry/k/", "100")
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
		for c := 0; c <= cycle; c++ {
			n.kv("check-many", "/registry/cycle/"+string(rune('a'+c))+"/", "50")
		}
	}
	// All twenty were taken today: retention keeps exactly the last ten.
	if got := len(n.list().Snapshots); got != 10 {
		t.Errorf("snapshots kept = %d, want 10", got)
	}
}
