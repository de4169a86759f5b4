package e2e

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// cron's backup with --journal-covers (as install writes it) stores no
// snapshot while the journal follows the newest one, and stores one as soon
// as the journal stops following: a dead journal never leaves the node on
// an old snapshot alone. With --min-age, none while the newest is younger.
func TestCronBackupCoveredByJournal(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("put-many", "/registry/pods/", "50")
	n.mustTool("backup", "--reason", "install")
	state := filepath.Join(n.Dir, "run", "journal.json")
	p := n.startJournal(state)
	n.kv("put-many", "/registry/configmaps/", "20")
	_, rev := snapshotKeys(t, n.ctx, n.etcdClient())
	n.waitDurable(p, rev)

	cron := []string{"backup", "--reason", "cron", "--journal-covers", "45m", "--journal-state", state}
	r := n.mustTool(cron...)
	if !strings.Contains(r.stdout, "covered by the journal: no new snapshot") {
		t.Fatalf("cron backup with the journal following: stdout %q, want it covered\nstderr:\n%s", r.stdout, r.stderr)
	}
	if got := len(n.list().Snapshots); got != 1 {
		t.Fatalf("%d snapshots after a covered cron backup, want the install one alone", got)
	}

	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	// install's cron line: the newest snapshot is seconds old, younger
	// than --min-age, so no snapshot, whatever the journal does.
	r = n.mustTool(append(cron, "--min-age", "12m30s")...)
	if !strings.Contains(r.stdout, "recent enough: no new snapshot") {
		t.Fatalf("cron backup with a snapshot younger than --min-age: stdout %q, want none\nstderr:\n%s", r.stdout, r.stderr)
	}
	if got := len(n.list().Snapshots); got != 1 {
		t.Fatalf("%d snapshots after a cron backup inside --min-age, want the install one alone", got)
	}
	r = n.mustTool(cron...)
	if !strings.HasPrefix(r.stdout, "good ") {
		t.Fatalf("cron backup with the journal dead: stdout %q, want a new snapshot\nstderr:\n%s", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "is gone") {
		t.Errorf("stderr does not say why the journal did not cover:\n%s", r.stderr)
	}
	l := n.list()
	if len(l.Snapshots) != 2 || l.Snapshots[0].Etcd.Revision != rev {
		t.Errorf("snapshots %+v: want a second one at revision %d", l.Snapshots, rev)
	}
}
