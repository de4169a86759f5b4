package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// systemState makes `systemctl is-system-running` print state for the tool:
// the bed's host has no systemd as PID 1, so the stand-in answers.
func systemState(t *testing.T, state string) []string {
	return systemStateBoot(t, state, "boot-1")
}

// bootEnv gives the tool a boot id: the bed's reboots keep the kernel's.
func bootEnv(id string) []string { return []string{hostfs.BootIDEnv + "=" + id} }

func systemStateBoot(t *testing.T, state, boot string) []string {
	t.Helper()
	standIn, err := filepath.Abs("../testbed/systemctl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(standIn, filepath.Join(dir, "systemctl")); err != nil {
		t.Fatal(err)
	}
	return append(bootEnv(boot), "PATH="+dir+":"+os.Getenv("PATH"), "ERD_SYSTEM_STATE="+state)
}

// stopEtcdGracefully sends etcd SIGTERM, as systemd's scope stop and kubelet
// do, and waits until it has exited. (The bed's StopEtcd removes the pod
// sandbox, which kills etcd with SIGKILL.)
func (n *node) stopEtcdGracefully() {
	n.t.Helper()
	cl, err := n.Containerd.Client()
	if err != nil {
		n.t.Fatal(err)
	}
	defer cl.Close()
	ctx := namespaces.WithNamespace(n.ctx, "k8s.io")
	ctrs, err := cl.Containers(ctx, `labels."io.kubernetes.container.name"==etcd`)
	if err != nil {
		n.t.Fatal(err)
	}
	stopped := 0
	for _, c := range ctrs {
		task, err := c.Task(ctx, nil)
		if err != nil {
			continue
		}
		exited, err := task.Wait(ctx)
		if err != nil {
			n.t.Fatal(err)
		}
		if err := task.Kill(ctx, syscall.SIGTERM); err != nil {
			n.t.Fatal(err)
		}
		<-exited
		stopped++
	}
	if stopped != 1 {
		n.t.Fatalf("stopped %d etcd tasks, want 1", stopped)
	}
}

func (n *node) mustToolEnv(env []string, args ...string) result {
	n.t.Helper()
	r := n.toolEnv(env, args...)
	if r.code != 0 {
		n.t.Fatalf("etcd-ramdisk %v exited %d", args, r.code)
	}
	return r
}

func (n *node) shutdownRecord() store.ShutdownRecord {
	n.t.Helper()
	b, err := os.ReadFile(filepath.Join(n.BackupDir(), "shutdown-record.json"))
	if err != nil {
		n.t.Fatal(err)
	}
	var r store.ShutdownRecord
	if err := json.Unmarshal(b, &r); err != nil {
		n.t.Fatal(err)
	}
	return r
}

func (n *node) sourceOf(id string) string {
	n.t.Helper()
	b, err := os.ReadFile(filepath.Join(n.BackupDir(), "snapshots", id+".json"))
	if err != nil {
		n.t.Fatal(err)
	}
	var m struct{ Source string }
	if err := json.Unmarshal(b, &m); err != nil {
		n.t.Fatal(err)
	}
	return m.Source
}

// While the system shuts down, the shutdown backup stops etcd and copies its
// data dir: every write etcd acknowledged, also those after the last cron
// backup, comes back, and the next restore has nothing to warn about.
func TestShutdownBackupStopsEtcdAndCopiesDataDir(t *testing.T) {
	for _, img := range etcdReleases {
		t.Run(img.name, func(t *testing.T) {
			n := newNode(t, testbed.NodeOptions{Image: img.ref})
			n.kv("put-many", "/registry/early/", "200")
			n.mustTool("backup", "--reason", "cron")
			n.kv("put-many", "/registry/late/", "300")

			r := n.toolEnv(systemState(t, "stopping"), "backup", "--reason", "shutdown")
			if r.code != 0 || !strings.Contains(r.stdout, "from the data dir after stopping etcd with SIGTERM") {
				t.Fatalf("shutdown backup: exit %d, stdout %q; want a data-dir copy after SIGTERM", r.code, r.stdout)
			}
			if _, err := n.kvErr("get", "/registry/early/0000000"); err == nil {
				t.Fatal("etcd still answers after the shutdown backup stopped it")
			}
			rec := n.shutdownRecord()
			newest := n.list().Snapshots[0]
			if !rec.OK || !rec.SystemShutdown || !rec.EtcdStopped || rec.Source != "data-dir" || rec.SnapshotID != newest.ID {
				t.Fatalf("shutdown record %+v; want ok, system shutdown, etcd stopped, data-dir, snapshot %s", rec, newest.ID)
			}
			if src := n.sourceOf(newest.ID); src != "data-dir" {
				t.Fatalf("newest snapshot source %q, want data-dir", src)
			}

			n.reboot()
			r = n.mustToolEnv(bootEnv("boot-2"), "restore")
			if !strings.Contains(r.stdout, "restored snapshot "+newest.ID) || strings.Contains(r.stdout, "WARNING") {
				t.Fatalf("restore stdout %q: want %s restored without a warning", r.stdout, newest.ID)
			}
			n.startEtcd()
			if got := n.kv("check-many", "/registry/late/", "300"); got != "ok 300" {
				t.Fatalf("keys after the last cron backup: %s", got)
			}
			if got := n.kv("check-many", "/registry/early/", "200"); got != "ok 200" {
				t.Fatalf("early keys: %s", got)
			}
		})
	}
}

// etcd gone before the shutdown backup (crashed, or stopped by systemd or
// kubelet): the backup copies the data dir it left.
func TestShutdownBackupAfterEtcdStopped(t *testing.T) {
	for _, img := range etcdImages {
		t.Run(img.name, func(t *testing.T) {
			n := newNode(t, testbed.NodeOptions{Image: img.ref})
			n.kv("put-many", "/registry/a/", "250")
			n.mustTool("backup", "--reason", "cron")
			n.kv("put-many", "/registry/b/", "250")
			n.stopEtcdGracefully()
			r := n.toolEnv(systemState(t, "stopping"), "backup", "--reason", "shutdown")
			if r.code != 0 || !strings.Contains(r.stdout, "(from the data dir,") {
				t.Fatalf("shutdown backup with etcd gone: exit %d, stdout %q", r.code, r.stdout)
			}
			if rec := n.shutdownRecord(); !rec.OK || rec.EtcdStopped || rec.Source != "data-dir" || rec.SnapshotID != n.list().Snapshots[0].ID {
				t.Fatalf("shutdown record %+v: want ok from the data dir, etcd not stopped by the backup", rec)
			}
			n.reboot()
			r = n.mustToolEnv(bootEnv("boot-2"), "restore")
			if strings.Contains(r.stdout, "WARNING") {
				t.Fatalf("restore warned after a good shutdown backup: %q", r.stdout)
			}
			n.startEtcd()
			if got := n.kv("check-many", "/registry/b/", "250"); got != "ok 250" {
				t.Fatalf("keys written after the cron backup: %s", got)
			}
		})
	}
}

// A data dir that etcd still has open is never copied.
func TestDataDirBackupRefusesRunningEtcd(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("put", "/registry/x", "1")
	before := len(n.list().Snapshots)
	r := n.tool("backup", "--from", "data-dir")
	if r.code != 12 || !strings.Contains(r.stderr, "still in use") {
		t.Fatalf("exit %d, stderr %q; want 12 and \"still in use\"", r.code, r.stderr)
	}
	if after := len(n.list().Snapshots); after != before {
		t.Fatalf("snapshots %d → %d: a refused copy was stored", before, after)
	}
	if got := n.kv("get", "/registry/x"); got != "1" {
		t.Fatalf("etcd disturbed: get = %q", got)
	}
}

// A failed shutdown backup is never silent: the next restore says so, and so
// does status, until a later shutdown backup succeeds.
func TestFailedShutdownBackupIsReported(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("put-many", "/registry/a/", "100")
	n.mustTool("backup", "--reason", "cron")
	if err := n.StopEtcd(n.ctx); err != nil {
		t.Fatal(err)
	}
	// --from etcd with etcd gone: the shutdown backup fails.
	r := n.toolEnv(systemState(t, "stopping"), "backup", "--reason", "shutdown", "--from", "etcd", "--stop-etcd", "never")
	if r.code != 5 {
		t.Fatalf("exit %d, want 5 (etcd not running)", r.code)
	}
	if rec := n.shutdownRecord(); rec.OK || !strings.Contains(rec.Error, "etcd is not running") {
		t.Fatalf("shutdown record %+v: want a failure naming its cause", rec)
	}
	n.reboot()
	r = n.mustToolEnv(bootEnv("boot-2"), "restore")
	if !strings.Contains(r.stdout, "WARNING: the last shutdown backup failed") {
		t.Fatalf("restore stdout %q: want a warning about the failed shutdown backup", r.stdout)
	}
	n.startEtcd() // kubelet's part after the restore: status would fail on a stopped etcd (exit 17)
	st := n.toolEnv(bootEnv("boot-2"), "status")
	if st.code != 10 || !strings.Contains(st.stdout, "this boot's etcd may be older than its last state") || !strings.Contains(st.stdout, "last shutdown backup failed") {
		t.Fatalf("status exit %d:\n%s\nwant exit 10 with both warnings", st.code, st.stdout)
	}
}

// No shutdown backup at all (a power cut): the restore says the state is the
// last cron backup's.
func TestPowerCutRestoreWarns(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("put-many", "/registry/a/", "100")
	n.mustTool("backup", "--reason", "cron")
	n.reboot()
	r := n.mustToolEnv(bootEnv("boot-2"), "restore")
	if !strings.Contains(r.stdout, "WARNING: no shutdown backup has ever been recorded") {
		t.Fatalf("restore stdout %q: want the power-cut warning", r.stdout)
	}
}
