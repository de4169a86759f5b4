package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
	"golang.org/x/sys/unix"
)

func (n *node) listEnv(env []string) listOutput {
	n.t.Helper()
	r := n.toolEnv(env, "list", "--json")
	var out listOutput
	if r.code != 0 {
		n.t.Fatalf("list exited %d", r.code)
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		n.t.Fatalf("list --json: %v", err)
	}
	return out
}

// The backup dir fills up mid-write: a clean error, the earlier snapshot
// intact, no partial file left.
func TestFaultBackupDirFull(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	dir := filepath.Join(n.Dir, "small-backup")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=6m,mode=0700"); err != nil {
		t.Fatal(err)
	}
	env := []string{"ETCD_RAMDISK_BACKUP_DIR=" + dir}
	n.kv("fill", "/registry/a/", "4000000")
	if r := n.toolEnv(env, "backup"); r.code != 0 {
		t.Fatalf("first backup exited %d", r.code)
	}
	first := n.listEnv(env)
	n.kv("fill", "/registry/b/", "16000000")
	r := n.toolEnv(env, "backup")
	if r.code == 0 || !strings.Contains(r.stderr, "no space left") {
		t.Fatalf("backup into a full dir: exit %d; want a failure naming the full disk", r.code)
	}
	after := n.listEnv(env)
	if len(after.Snapshots) != 1 || after.Snapshots[0].ID != first.Snapshots[0].ID || len(after.Problems) != 0 {
		t.Fatalf("after the full disk: %+v; want the first snapshot alone and no problems", after)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "snapshots", ".tmp-*")); len(left) != 0 {
		t.Errorf("partial files left: %v", left)
	}
	// verify stages on the backup disk: give it room, then the earlier
	// snapshot must verify as it was.
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_REMOUNT, "size=64m,mode=0700"); err != nil {
		t.Fatal(err)
	}
	if r := n.toolEnv(env, "verify", first.Snapshots[0].ID); r.code != 0 {
		t.Errorf("the earlier snapshot no longer verifies: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	recordFault("backup dir full", 1, 1, 0, 0, 0)
}

// Every kind of damage to the store is reported plainly, and restore skips to
// the next good snapshot.
func TestFaultCorruptStore(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	var ids []string
	for i := 1; i <= 6; i++ {
		n.kv("put", fmt.Sprintf("/registry/k%d", i), "v")
		n.mustTool("backup")
		ids = append([]string{n.list().Snapshots[0].ID}, ids...)
	}
	// ids[0] is the newest.
	data := func(id string) string { return n.storedFile(id) }
	meta := func(id string) string { return strings.TrimSuffix(n.storedFile(id), ".db.zst") + ".json" }
	truncate := func(p string) {
		if err := os.Truncate(p, 100); err != nil {
			t.Fatal(err)
		}
	}
	truncate(data(ids[0]))                         // truncated
	os.Remove(meta(ids[1]))                        // metadata deleted (orphan data file)
	os.Remove(data(ids[2]))                        // metadata naming a missing file
	writeFile(t, meta(ids[3]), "{not json", 0o600) // garbage JSON
	flipBytes(t, data(ids[4]))                     // flipped bytes
	archives, _ := filepath.Glob(filepath.Join(n.BackupDir(), "images", "*.oci.tar"))
	if len(archives) != 1 {
		t.Fatalf("archives = %v", archives)
	}
	truncate(archives[0]) // the image archive truncated

	l := n.list()
	if len(l.Snapshots) != 2 || l.Snapshots[0].ID != ids[4] || l.Snapshots[1].ID != ids[5] {
		t.Fatalf("listed %+v; want only %s and %s", l.Snapshots, ids[4], ids[5])
	}
	for _, id := range ids[:4] {
		found := false
		for _, p := range l.Problems {
			found = found || strings.Contains(p, id)
		}
		if !found {
			t.Errorf("no problem reported for %s: %v", id, l.Problems)
		}
	}
	if r := n.tool("verify", "--all"); r.code != 8 || !strings.Contains(r.stdout, "FAIL "+ids[4]) || !strings.Contains(r.stdout, "ok   "+ids[5]) {
		t.Errorf("verify --all: exit %d, %q", r.code, r.stdout)
	}

	// Restore with the image gone and its archive truncated: a clear failure, nothing written.
	n.reboot()
	if err := n.RemoveImage(n.ctx, n.Options.Image); err != nil {
		t.Fatal(err)
	}
	r := n.tool("restore")
	if r.code == 0 || !strings.Contains(r.stderr, "import image") {
		t.Fatalf("restore with a truncated image archive: exit %d; want a failure naming the import", r.code)
	}
	if e := dataDirEntries(t, n.DataDir()); len(e) != 0 {
		t.Fatalf("data dir not left empty: %v", e)
	}
	// With the image back, restore skips the damaged snapshots for the good one.
	archivesIn, _ := filepath.Glob(filepath.Join(imageDir, "*.tar"))
	if err := n.ImportImages(n.ctx, archivesIn); err != nil {
		t.Fatal(err)
	}
	r = n.mustTool("restore")
	if !strings.Contains(r.stdout, "restored snapshot "+ids[5]) || !strings.Contains(r.stdout, "skipped "+ids[4]) {
		t.Fatalf("restore: %q", r.stdout)
	}
	n.startEtcd()
	if got := n.kv("get", "/registry/k1"); got != "v" {
		t.Errorf("/registry/k1 = %q", got)
	}
	recordFault("store corruption", 6, 6, 0, 0, 0)
}

// Ten backups, a prune and a restore attempt at once: serialised on the lock,
// each with a documented exit code, nothing corrupted.
func TestFaultRaces(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("put-many", "/registry/race/", "100")
	n.mustTool("backup")
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string][]int{}
	run := func(name string, args ...string) {
		defer wg.Done()
		r := n.tool(args...)
		mu.Lock()
		codes[name] = append(codes[name], r.code)
		mu.Unlock()
	}
	for i := 0; i < 10; i++ {
		n.kv("put", fmt.Sprintf("/registry/race/extra%d", i), "v")
		wg.Add(1)
		go run("backup", "backup")
	}
	wg.Add(2)
	go run("prune", "prune")
	go run("restore", "restore")
	wg.Wait()
	for name, cs := range codes {
		for _, c := range cs {
			if c != 0 {
				t.Errorf("%s exited %d", name, c)
			}
		}
	}
	l := n.list()
	if len(l.Problems) != 0 || len(l.Snapshots) < 2 {
		t.Errorf("after the race: %d snapshots, problems %v", len(l.Snapshots), l.Problems)
	}
	if r := n.tool("verify", "--all"); r.code != 0 {
		t.Errorf("verify --all after the race exited %d", r.code)
	}
	recordFault("concurrent runs", 12, 12, 0, 0, 0)
}
