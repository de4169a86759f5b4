package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
	"golang.org/x/sys/unix"
)

// storedFile is the compressed data file of snapshot id in the node's backup dir.
func (n *node) storedFile(id string) string {
	return filepath.Join(n.BackupDir(), "snapshots", id+".db.zst")
}

func flipBytes(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 2; i < len(b)/2+64 && i < len(b); i++ {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func dataDirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// A corrupted newest snapshot is passed over, loudly, for the next older one.
func TestRestoreSkipsCorruptSnapshot(t *testing.T) {
	for _, img := range etcdReleases {
		t.Run(img.name, func(t *testing.T) {
			n := newNode(t, testbed.NodeOptions{Image: img.ref})
			n.kv("put", "/registry/a", "first")
			n.mustTool("backup")
			n.kv("put", "/registry/b", "second")
			n.mustTool("backup")
			l := n.list()
			if len(l.Snapshots) != 2 {
				t.Fatalf("snapshots = %d, want 2", len(l.Snapshots))
			}
			newest, older := l.Snapshots[0].ID, l.Snapshots[1].ID
			flipBytes(t, n.storedFile(newest))

			if r := n.tool("verify", "--all"); r.code != 8 || !strings.Contains(r.stdout, "FAIL "+newest) {
				t.Errorf("verify --all after corruption: exit %d, stdout %q; want exit 8 naming %s", r.code, r.stdout, newest)
			}
			n.reboot()
			r := n.mustTool("restore")
			if !strings.Contains(r.stdout, "restored snapshot "+older) || !strings.Contains(r.stdout, "skipped "+newest) {
				t.Fatalf("restore stdout = %q; want %s restored and %s skipped", r.stdout, older, newest)
			}
			n.startEtcd()
			if got := n.kv("get", "/registry/a"); got != "first" {
				t.Errorf("/registry/a = %q", got)
			}
			if _, err := n.kvErr("get", "/registry/b"); err == nil {
				t.Errorf("/registry/b exists, but it was only in the corrupted snapshot")
			}
		})
	}
}

// containerd lost the image: the restore imports it from the backup dir's archive.
func TestRestoreImportsArchivedImage(t *testing.T) {
	for _, img := range etcdReleases {
		t.Run(img.name, func(t *testing.T) {
			n := newNode(t, testbed.NodeOptions{Image: img.ref})
			n.kv("put-many", "/registry/x/", "50")
			n.mustTool("backup")
			archives, _ := filepath.Glob(filepath.Join(n.BackupDir(), "images", "*.oci.tar"))
			if len(archives) != 1 {
				t.Fatalf("image archives = %v, want 1", archives)
			}
			n.reboot()
			if err := n.RemoveImage(n.ctx, img.ref); err != nil {
				t.Fatal(err)
			}
			r := n.mustTool("restore")
			if !strings.Contains(r.stderr, "importing it from the backup dir") {
				t.Errorf("restore did not say it imported the image: %s", r.stderr)
			}
			n.startEtcd()
			n.kv("check-many", "/registry/x/", "50")
		})
	}
}

// No snapshot and an empty data dir: refuse, so kubelet never starts an empty etcd.
func TestRestoreFailsClosedWithoutSnapshot(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.reboot()
	r := n.tool("restore")
	if r.code != 7 || !strings.Contains(r.stderr, "refusing to let etcd start empty") {
		t.Fatalf("restore without snapshots: exit %d, want 7 with a plain message", r.code)
	}
	if e := dataDirEntries(t, n.DataDir()); len(e) != 0 {
		t.Fatalf("data dir not left empty: %v", e)
	}
	if r := n.mustTool("restore", "--allow-empty"); !strings.Contains(r.stdout, "nothing to do") {
		t.Errorf("--allow-empty: %q", r.stdout)
	}
}

// A tmpfs too small for the snapshot: a clear error and nothing half-written.
func TestRestoreRefusesTooSmallTmpfs(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("fill", "/registry/big/", "20000000")
	n.mustTool("backup")
	n.reboot()
	if err := unix.Unmount(n.DataDir(), 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", n.DataDir(), "tmpfs", 0, "size=40m,mode=0700"); err != nil {
		t.Fatal(err)
	}
	r := n.tool("restore")
	if r.code != 11 || !strings.Contains(r.stderr, "make the tmpfs at least") {
		t.Fatalf("restore into a 40m tmpfs: exit %d; want 11 and a message saying how large the tmpfs must be", r.code)
	}
	if e := dataDirEntries(t, n.DataDir()); len(e) != 0 {
		t.Fatalf("data dir not left empty: %v", e)
	}
}
