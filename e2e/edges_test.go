package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// restore --data-dir elsewhere than the manifest's data dir restores there
// but leaves the restore record (what status says of this boot's etcd)
// alone; a path whose parent is missing fails (3) and creates nothing.
func TestRestoreElsewhereLeavesTheRecord(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("put", "/registry/r", "1")
	n.mustTool("backup")
	n.reboot()
	n.mustTool("restore")
	record := filepath.Join(n.BackupDir(), "restore-record.json")
	before, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}

	elsewhere := filepath.Join(n.Dir, "elsewhere")
	r := n.mustTool("restore", "--data-dir", elsewhere)
	if !strings.Contains(r.stdout, "is not the manifest's data dir") {
		t.Errorf("restore elsewhere does not say so:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "member", "snap", "db")); err != nil {
		t.Errorf("nothing restored in %s: %v", elsewhere, err)
	}
	after, err := os.ReadFile(record)
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("restore elsewhere changed the restore record (%v):\nbefore %s\nafter  %s", err, before, after)
	}

	typo := filepath.Join(n.Dir, "no-such-dir", "etcd")
	if r := n.tool("restore", "--data-dir", typo); r.code != 3 || !strings.Contains(r.stderr, "never its parents") {
		t.Errorf("restore into %s: exit %d, want 3 naming the missing parent", typo, r.code)
	}
	if _, err := os.Stat(filepath.Dir(typo)); !os.IsNotExist(err) {
		t.Errorf("restore created %s: %v", filepath.Dir(typo), err)
	}
}

// After a restore from the off-host copies (a dead disk), status counts the
// copy restore came from as on the target (no "no copy yet, 1 waiting", no
// warning that copies stall), and the first backup after it does not send
// the image archive the target holds again. A wrong identity fails (14)
// before the image archive is downloaded.
func TestOffhostRestoreCountsTheCopy(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	nas := filepath.Join(n.Dir, "nas")
	if err := os.MkdirAll(nas, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(nas, offhost.MarkerName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	id := newIdentity(t, n.Dir, "identity.txt")
	conf := writePrivate(t, filepath.Join(n.Dir, "offhost"), "offhost.yaml", "dir: "+nas+"\nrecipients: ["+id.recipient+"]\n")
	env := []string{"ETCD_RAMDISK_OFFHOST_CONFIG=" + conf}
	n.kv("put-many", "/registry/oh/", "100")
	if r := n.mustToolEnv(env, "backup"); !strings.Contains(r.stdout, "off-host: copied") {
		t.Fatalf("backup: %q, want it copied", r.stdout)
	}
	images, _ := filepath.Glob(filepath.Join(nas, "images", "*"))
	if len(images) != 1 {
		t.Fatalf("image archives on the target: %v, want one", images)
	}
	image, err := os.Stat(images[0])
	if err != nil {
		t.Fatal(err)
	}

	n.wipeDisk()
	wrong := newIdentity(t, n.Dir, "wrong.txt")
	if r := n.toolEnv(env, "restore", "--offhost-identity", wrong.path); r.code != 14 {
		t.Errorf("restore with a wrong identity: exit %d, want 14", r.code)
	}
	if got, _ := filepath.Glob(filepath.Join(n.BackupDir(), "images", "*")); len(got) != 0 {
		t.Errorf("a restore with a wrong identity downloaded the image archive: %v", got)
	}
	r := n.mustToolEnv(env, "restore", "--offhost-identity", id.path)
	if !strings.Contains(r.stdout, "fetched from the off-host copies") {
		t.Fatalf("restore: %q, want it fetched from the target", r.stdout)
	}
	restored := n.localIDsOldestFirst()
	oh, warns := n.offhostStatus(env)
	if oh.Backlog != 0 || oh.RemoteSnapshots != 1 || oh.LastCopyID != restored[0] {
		t.Errorf("status after the restore from the target: %+v, want no backlog, 1 on the target, last copy %s", oh, restored[0])
	}
	rs := n.toolEnv(env, "status", "--max-backup-age", "1ns")
	if strings.Contains(rs.stdout, "no copy yet") || strings.Contains(rs.stdout, "not yet copied") {
		t.Errorf("status speaks of the restored copy as not copied (warnings %q):\n%s", warns, rs.stdout)
	}

	n.startEtcd()
	n.kv("put", "/registry/after", "x")
	if r := n.mustToolEnv(env, "backup"); !strings.Contains(r.stdout, "off-host: copied") {
		t.Fatalf("backup after the restore: %q, want it copied", r.stdout)
	}
	if after, err := os.Stat(images[0]); err != nil || !os.SameFile(image, after) {
		t.Errorf("the first backup after the restore sent the image archive again (%v)", err)
	}
}
