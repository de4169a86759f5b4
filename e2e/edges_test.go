package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
