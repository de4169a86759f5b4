package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
	"golang.org/x/sys/unix"
)

// status answers "am I safe?" on a real node: each condition that needs attention
// shows as a warning and exit 10; a healthy node exits 0.
func TestStatusWarnings(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{TmpfsSize: "320m"})
	root := filepath.Join(n.Dir, "root")
	writeFile(t, filepath.Join(root, "etc/systemd/system/kubelet.service.d/20-etcd-ramdisk.conf"), "[Service]\n", 0o644)
	status := func() result { return n.tool("status", "--root", root) }

	r := status()
	if r.code != 17 || !strings.Contains(r.stdout, "no good backup") || !strings.Contains(r.stdout, "FAIL backup dir: ") {
		t.Errorf("installed, before any backup: exit %d, want 17, a no-backup warning and the missing backup dir:\n%s", r.code, r.stdout)
	}
	n.kv("put", "/registry/s", "1")
	n.mustTool("backup")
	if r := status(); r.code != 0 || strings.Contains(r.stdout, "WARN") {
		t.Errorf("healthy node: exit %d\n%s", r.code, r.stdout)
	}
	if r := n.tool("status", "--root", root, "--max-backup-age", "1ns"); r.code != 10 || !strings.Contains(r.stdout, "old (limit") {
		t.Errorf("backup older than the limit: exit %d\n%s", r.code, r.stdout)
	}

	// The tmpfs over 80% full.
	filler := filepath.Join(n.DataDir(), "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(n.DataDir(), &fs); err != nil {
		t.Fatal(err)
	}
	// Leave 10% of the tmpfs free: over the 80% line whatever etcd already uses.
	fill := int64(fs.Bavail)*int64(fs.Bsize) - int64(fs.Blocks)*int64(fs.Bsize)/10
	if _, err := f.Write(make([]byte, fill)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if r := status(); r.code != 10 || !strings.Contains(r.stdout, "full") {
		t.Errorf("tmpfs over 80%%: exit %d\n%s", r.code, r.stdout)
	}
	os.Remove(filler)
}

// The drop-in installed but the data dir on disk: the tmpfs is not mounted.
func TestStatusDropInWithoutTmpfs(t *testing.T) {
	disk := newNode(t, testbed.NodeOptions{NoTmpfs: true})
	root := filepath.Join(disk.Dir, "root")
	writeFile(t, filepath.Join(root, "etc/systemd/system/kubelet.service.d/20-etcd-ramdisk.conf"), "[Service]\n", 0o644)
	disk.kv("put", "/registry/s", "1")
	disk.mustTool("backup")
	if r := disk.tool("status", "--root", root); r.code != 10 || !strings.Contains(r.stdout, "yet the kubelet drop-in is installed") {
		t.Errorf("drop-in with the data dir on disk: exit %d\n%s", r.code, r.stdout)
	}
	if r := disk.tool("status", "--json", "--root", root); !strings.Contains(r.stdout, `"needsAttention": true`) {
		t.Errorf("status --json does not flag it:\n%s", r.stdout)
	}
}

// The daily defrag and a prune dry run on a real node.
func TestDefragAndPrune(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	for i := 0; i < 3; i++ {
		n.kv("put", "/registry/p", string(rune('a'+i)))
		n.mustTool("backup")
	}
	if r := n.mustTool("defrag"); !strings.Contains(strings.ToLower(r.stdout), "defragment") {
		t.Errorf("defrag output: %q", r.stdout)
	}
	r := n.mustTool("prune", "--dry-run", "--keep-last", "1", "--keep-daily", "0")
	if strings.Count(r.stdout, "would remove") != 2 {
		t.Errorf("prune --dry-run --keep-last 1: %q, want two removals announced", r.stdout)
	}
	if got := len(n.list().Snapshots); got != 3 {
		t.Errorf("dry run removed snapshots: %d left", got)
	}
	n.mustTool("prune", "--keep-last", "1", "--keep-daily", "0")
	if got := len(n.list().Snapshots); got != 1 {
		t.Errorf("after prune --keep-last 1: %d snapshots", got)
	}
}

// status never says "OK" when backups cannot work: each cause is a FAIL line
// naming the part and exit 17, on a real node.
func TestStatusWhenBackupsCannotWork(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("put", "/registry/s", "1")
	n.mustTool("backup")
	if r := n.tool("status"); r.code != 0 || !strings.Contains(r.stdout, "etcd:        running") {
		t.Fatalf("healthy node: exit %d\n%s", r.code, r.stdout)
	}
	fails := func(what, want string) {
		t.Helper()
		r := n.tool("status")
		if r.code != 17 || !strings.Contains(r.stdout, "\nFAIL "+want) || strings.Contains(r.stdout, "OK ") {
			t.Errorf("%s: exit %d, want 17 and a line FAIL %s…:\n%s", what, r.code, want, r.stdout)
		}
	}

	// The backup dir read-only: status says so, and backup exits 3 before
	// etcd is asked for a snapshot (nothing new in etcd's log of snapshots).
	unmount := bindReadOnly(t, n.BackupDir())
	fails("backup dir read-only", "backup dir ")
	if r := n.tool("backup"); r.code != 3 || !strings.Contains(r.stderr, "not writable") || strings.Contains(r.stderr, "revision") {
		t.Errorf("backup into a read-only backup dir: exit %d, want 3 before etcd is asked\n%s", r.code, r.stderr)
	}
	unmount()

	if err := n.StopEtcd(n.ctx); err != nil {
		t.Fatal(err)
	}
	fails("etcd's pod stopped", "etcd: no running etcd container")

	n.reboot() // the tmpfs comes back empty; nothing restores it
	fails("data dir empty after a boot", "data dir: "+n.DataDir()+" holds no etcd database")

	if err := n.Containerd.PowerOff(); err != nil {
		t.Fatal(err)
	}
	fails("containerd stopped", "containerd: ")
}

// bindReadOnly makes dir read-only (for root too) until the returned
// function, or the test's end, undoes it.
func bindReadOnly(t *testing.T, dir string) func() {
	t.Helper()
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	mounted := true
	undo := func() {
		if mounted {
			mounted = false
			if err := unix.Unmount(dir, 0); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(undo)
	if err := unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	return undo
}
