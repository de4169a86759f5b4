package e2e

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/clock"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// Clocks a board without a battery clock lives with, set through the
// test-only override.
var (
	clockBehind = []string{clock.EnvVar + "=1970-01-01T00:00:00Z"}
	clockAhead  = []string{clock.EnvVar + "=+8760h"}
)

// orderedIDs lists the good snapshots' ids in list's order, checking that
// the sequence numbers come down.
func (n *node) orderedIDs(env []string) []string {
	n.t.Helper()
	r := n.toolEnv(env, "list", "--json")
	var out struct {
		Snapshots []struct {
			Kind string `json:"kind"`
			ID   string `json:"id"`
			Seq  uint64 `json:"seq"`
		} `json:"snapshots"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); r.code != 0 || err != nil {
		n.t.Fatalf("list --json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	var ids []string
	var prev uint64
	for _, s := range out.Snapshots {
		if s.Kind != "good" {
			continue
		}
		if s.Seq == 0 || (prev != 0 && s.Seq >= prev) {
			n.t.Errorf("list: %s has seq %d after seq %d; want them coming down", s.ID, s.Seq, prev)
		}
		ids, prev = append(ids, s.ID), s.Seq
	}
	return ids
}

// backupID runs a backup that must store a good snapshot and returns its id.
func (n *node) backupID(env []string) string {
	n.t.Helper()
	r := n.toolEnv(env, "backup")
	f := strings.Fields(r.stdout)
	if r.code != 0 || len(f) < 2 || f[0] != "good" {
		n.t.Fatalf("backup: exit %d, stdout %q; want a good snapshot", r.code, r.stdout)
	}
	return f[1]
}

// statusWarns runs status with env and wants exit 10 with a warning saying want.
func (n *node) statusWarns(env []string, want string) {
	n.t.Helper()
	r := n.toolEnv(env, "status", "--root", filepath.Join(n.Dir, "clock-root"))
	if r.code != 10 || !strings.Contains(r.stdout, want) {
		n.t.Errorf("status: exit %d, want 10 and a warning with %q:\n%s", r.code, want, r.stdout)
	}
}

func (n *node) restoreAndCheck(env []string, wantID, prefix string) {
	n.t.Helper()
	n.reboot()
	if r := n.toolEnv(env, "restore"); r.code != 0 || !strings.Contains(r.stdout, "restored snapshot "+wantID) {
		n.t.Fatalf("restore after the reboot: exit %d, stdout %q; want %s restored", r.code, r.stdout, wantID)
	}
	n.startEtcd()
	n.kv("check-many", prefix, "50")
}

// The case, on the bed: a second backup taken while the clock reads
// 1970 (a board without a battery clock after a power cut) holds the newest
// data. It is listed first, is the one restored after a reboot, survives
// prune --keep-last 1, counts for skip-unchanged, and the reset guard after
// the restore goes by it.
func TestClockSetBack(t *testing.T) {
	for _, img := range etcdImages {
		t.Run(img.name, func(t *testing.T) {
			n := newNode(t, testbed.NodeOptions{Image: img.ref})
			n.kv("put-many", "/registry/before/", "50")
			right := n.backupID(nil)
			n.kv("put-many", "/registry/behind/", "50")
			behind := n.backupID(clockBehind)
			if !strings.HasPrefix(behind, "19700101T") {
				t.Fatalf("snapshot taken with the clock set back is %s, want it dated 1970 (is the override working?)", behind)
			}
			if got := n.orderedIDs(nil); !slices.Equal(got, []string{behind, right}) {
				t.Fatalf("list = %v, want [%s %s]: the 1970 one is newer", got, behind, right)
			}
			if r := n.toolEnv(clockBehind, "backup"); r.code != 0 || !strings.Contains(r.stdout, "unchanged") {
				t.Errorf("idle backup: exit %d, %q; want unchanged (the 1970 snapshot is the newest)", r.code, r.stdout)
			}
			n.statusWarns(nil, "before the older")
			n.statusWarns(clockBehind, "after this machine's time")

			// The board reboots, still on 1970.
			n.restoreAndCheck(clockBehind, behind, "/registry/behind/")
			n.mustTool("prune", "--keep-last", "1")
			if got := n.orderedIDs(nil); !slices.Equal(got, []string{behind, right}) {
				t.Fatalf("after prune --keep-last 1 (daily 31): %v, want both", got)
			}
			n.mustTool("prune", "--keep-last", "1", "--keep-daily", "0")
			if got := n.orderedIDs(nil); !slices.Equal(got, []string{behind}) {
				t.Fatalf("after prune --keep-last 1 --keep-daily 0: %v, want only %s", got, behind)
			}
			// Restored etcd carries on; its next backups are good, whatever the clock.
			n.kv("put", "/registry/after", "x")
			after := n.backupID(clockBehind)
			n.kv("put", "/registry/after2", "y")
			last := n.backupID(nil)
			if got := n.orderedIDs(nil); !slices.Equal(got, []string{last, after, behind}) {
				t.Fatalf("list = %v, want [%s %s %s]", got, last, after, behind)
			}
		})
	}
}

// A snapshot dated a year ahead (the clock jumped forward), then one taken with
// the right time: the newer one wins restore and retention.
func TestClockJumpedForward(t *testing.T) {
	for _, img := range etcdImages {
		t.Run(img.name, func(t *testing.T) {
			n := newNode(t, testbed.NodeOptions{Image: img.ref})
			n.kv("put-many", "/registry/ahead/", "50")
			ahead := n.backupID(clockAhead)
			n.kv("put-many", "/registry/newer/", "50")
			newer := n.backupID(nil)
			if ahead[:4] <= newer[:4] {
				t.Fatalf("ids %s, %s: want the first dated a year ahead (is the override working?)", ahead, newer)
			}
			if got := n.orderedIDs(nil); !slices.Equal(got, []string{newer, ahead}) {
				t.Fatalf("list = %v, want [%s %s]", got, newer, ahead)
			}
			n.statusWarns(nil, "snapshot "+ahead+" is dated")

			n.restoreAndCheck(nil, newer, "/registry/newer/")
			n.kv("check-many", "/registry/ahead/", "50")
			n.mustTool("prune", "--keep-last", "1", "--keep-daily", "0")
			if got := n.orderedIDs(nil); !slices.Equal(got, []string{newer}) {
				t.Fatalf("after prune --keep-last 1 --keep-daily 0: %v, want only %s", got, newer)
			}
			// (The reboot without a shutdown backup leaves a warning of its own.)
			if r := n.tool("status", "--root", filepath.Join(n.Dir, "clock-root")); strings.Contains(r.stdout, "clock looks wrong") {
				t.Errorf("status once the future-dated snapshot is gone still warns about the clock:\n%s", r.stdout)
			}
		})
	}
}
