package vmtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed/vm"
)

// A kubeadm upgrade of the node's etcd, 3.6 to 3.7, while cron backups run.
//
// `kubeadm upgrade apply` needs an API server (it reads the cluster's
// kubeadm-config and waits for the pods through it), which this node does not
// have; what it does to the etcd static pod is done here step by step, with
// the same kubeadm writing the manifest (cmd/kubeadm/app/phases/upgrade/
// staticpods.go, performEtcdStaticPodUpgrade and upgradeComponent): the data
// dir copied with `cp -r` to /etc/kubernetes/tmp/kubeadm-backup-etcd-<time>,
// the new manifest written by kubeadm's etcd phase for the ClusterConfiguration
// with the new imageTag into a temporary dir (CreateLocalEtcdStaticPodManifestFile,
// the function `kubeadm init phase etcd local` calls: run in a mount namespace
// of its own, since it always writes /etc/kubernetes/manifests), then the old
// manifest moved to /etc/kubernetes/tmp/kubeadm-backup-manifests-<time> and
// the new one moved in: two renames, between which kubelet may see no
// manifest at all, as with the real upgrade.
const kubeadmUpgradeScript = `ref=REF; tag=${ref##*:}
ts=$(date +%Y-%m-%d-%H-%M-%S)
tmp=/etc/kubernetes/tmp
mkdir -p $tmp
up=$(mktemp -d $tmp/kubeadm-upgraded-manifests.XXXXXX)
bm=$tmp/kubeadm-backup-manifests-$ts; be=$tmp/kubeadm-backup-etcd-$ts
mkdir -p $bm $be
sed "s/^\(\s*imageTag:\).*/\1 $tag/" /root/kubeadm.yaml >$d/kubeadm-upgrade.yaml
grep -q "imageTag: $tag\$" $d/kubeadm-upgrade.yaml
unshare -m --propagation private sh -c 'mount -t tmpfs kubeadm /etc/kubernetes/manifests && kubeadm init phase etcd local --config "$1" && cp /etc/kubernetes/manifests/etcd.yaml "$2"' sh $d/kubeadm-upgrade.yaml $up/etcd.yaml
cp -r /var/lib/etcd $be/etcd
mv $m $bm/etcd.yaml
mv $up/etcd.yaml $m`

// onlyImageChanged fails unless the manifest's diff changes the image line
// and nothing else: kubeadm 1.37 writes the same flags for etcd 3.6 and 3.7.
func onlyImageChanged(t *testing.T, diff string) {
	t.Helper()
	if err := imageOnlyDiff(diff, vm.DefaultEtcdImage, vm.EtcdImage37); err != nil {
		t.Fatalf("kubeadm's etcd manifest for %s against the one for %s: %v:\n%s", vm.EtcdImage37, vm.DefaultEtcdImage, err, diff)
	}
}

// imageOnlyDiff checks diff's output of two manifests: one line changed, the
// image from before to after.
func imageOnlyDiff(diff, before, after string) error {
	var old, new []string
	for line := range strings.SplitSeq(diff, "\n") {
		if l, ok := strings.CutPrefix(line, "< "); ok {
			old = append(old, strings.TrimSpace(l))
		}
		if l, ok := strings.CutPrefix(line, "> "); ok {
			new = append(new, strings.TrimSpace(l))
		}
	}
	if len(old) != 1 || len(new) != 1 {
		return fmt.Errorf("%d lines removed and %d added, want the image line alone", len(old), len(new))
	}
	if old[0] != "image: "+before || new[0] != "image: "+after {
		return fmt.Errorf("%q became %q, want the image %s to become %s", old[0], new[0], before, after)
	}
	return nil
}

func TestImageOnlyDiff(t *testing.T) {
	const a, b = "registry.k8s.io/etcd:3.6.16-0", "registry.k8s.io/etcd:3.7.4-0"
	good := "34c34\n<     image: " + a + "\n---\n>     image: " + b + "\n"
	if err := imageOnlyDiff(good, a, b); err != nil {
		t.Errorf("image alone: %v", err)
	}
	for name, diff := range map[string]string{
		"nothing":     "",
		"a flag too":  good + "20c20\n<     - --snapshot-count=10000\n---\n>     - --snapshot-count=10001\n",
		"other image": "34c34\n<     image: " + a + "\n---\n>     image: " + a + "\n",
		"a flag only": "20c20\n<     - --snapshot-count=10000\n---\n>     - --snapshot-count=10001\n",
	} {
		if err := imageOnlyDiff(diff, a, b); err == nil {
			t.Errorf("%s: no error for\n%s", name, diff)
		}
	}
}

// listEntry is one snapshot of `etcd-ramdisk list --json`.
type listEntry struct {
	Kind string `json:"kind"`
	store.Metadata
}

// listSnapshots runs `etcd-ramdisk list --json` on the node: good then suspect
// snapshots, each newest first.
func listSnapshots(t *testing.T, v *vm.VM) []listEntry {
	t.Helper()
	var out struct {
		Snapshots []listEntry `json:"snapshots"`
		Problems  []string    `json:"problems"`
	}
	js := run(t, v, erd+" list --json 2>/dev/null")
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatalf("list --json: %v:\n%s", err, js)
	}
	if len(out.Problems) > 0 {
		t.Fatalf("list --json reports problems: %v", out.Problems)
	}
	return out.Snapshots
}

func restoreRecord(t *testing.T, v *vm.VM) store.RestoreRecord {
	t.Helper()
	var r store.RestoreRecord
	out := run(t, v, "cat /var/lib/etcd-ramdisk/restore-record.json")
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("restore record: %v: %s", err, out)
	}
	return r
}

// runningEtcdImages lists the images of the running containers that carry
// etcd's CRI labels.
func runningEtcdImages(t *testing.T, v *vm.VM) []string {
	t.Helper()
	var imgs []string
	for _, c := range readState(t, v, "/nonexistent", true).running() {
		imgs = append(imgs, c.Image)
	}
	return imgs
}

// kubeadmUpgrade: on a node running etcd 3.6.16 with etcd-ramdisk installed,
// a cron backup taken before the upgrade, then kubeadm's upgrade of the etcd
// static pod to 3.7.4 while backups run in a loop (podUpdate judges every run
// and checks that every snapshot records the image of the container it was
// taken in). Afterwards `list` must show the snapshots up to the pre-upgrade
// one with the 3.6 image and the newest with the 3.7 image. It returns the
// pre-upgrade snapshot's id and the figures.
func kubeadmUpgrade(t *testing.T, v *vm.VM, n *vm.Node) (string, []string) {
	t.Helper()
	t0 := time.Now()
	if _, err := n.Etcdkv(ctxFor(t, 2*time.Minute), "put-many", "upgrade/before/", "200"); err != nil {
		t.Fatal(err)
	}
	run(t, v, erd+" backup --reason cron")
	snaps := listSnapshots(t, v)
	if len(snaps) == 0 || snaps[0].Kind != "good" {
		t.Fatalf("no good snapshot after a cron backup: %+v", snaps)
	}
	pre := snaps[0].Metadata
	if pre.Image.Reference != vm.DefaultEtcdImage {
		t.Fatalf("the pre-upgrade snapshot %s records image %s, want %s", pre.ID, pre.Image.Reference, vm.DefaultEtcdImage)
	}

	fig := podUpdate(t, v, podEdit{
		name:    "kubeadm-upgrade",
		prepare: func(*testing.T, *vm.VM) string { return vm.EtcdImage37 },
		edit:    kubeadmUpgradeScript,
		check:   onlyImageChanged,
	})
	if t.Failed() {
		t.FailNow()
	}
	mustKeys(t, n, "upgrade/before/", 200)
	if imgs := runningEtcdImages(t, v); len(imgs) != 1 || imgs[0] != vm.EtcdImage37 {
		t.Fatalf("after the upgrade the running etcd containers have images %v, want one %s", imgs, vm.EtcdImage37)
	}

	// A backup of the upgraded etcd, then the whole store as list shows it.
	run(t, v, erd+" backup --reason cron")
	snaps = listSnapshots(t, v)
	count := map[string]int{}
	var sawPre bool
	for _, s := range snaps {
		if s.Kind != "good" {
			t.Errorf("list: %s is %s (%s) after the upgrade", s.ID, s.Kind, s.Suspect)
			continue
		}
		count[s.Image.Reference]++
		if s.Seq <= pre.Seq && s.Image.Reference != vm.DefaultEtcdImage {
			t.Errorf("list: %s, taken before the upgrade began, records %s", s.ID, s.Image.Reference)
		}
		sawPre = sawPre || s.ID == pre.ID
	}
	if snaps[0].Image.Reference != vm.EtcdImage37 {
		t.Errorf("list: the newest snapshot %s records %s, want %s", snaps[0].ID, snaps[0].Image.Reference, vm.EtcdImage37)
	}
	if !sawPre {
		t.Errorf("list: the pre-upgrade snapshot %s is gone", pre.ID)
	}
	table := run(t, v, erd+" list 2>/dev/null")
	for _, img := range []string{vm.DefaultEtcdImage, vm.EtcdImage37} {
		if !strings.Contains(table, img) {
			t.Errorf("list shows no snapshot of %s:\n%s", img, table)
		}
	}
	if t.Failed() {
		t.Logf("list:\n%s", table)
		t.FailNow()
	}
	// Written after the upgrade: a restore of the pre-upgrade snapshot must
	// not have them.
	if _, err := n.Etcdkv(ctxFor(t, 2*time.Minute), "put-many", "upgrade/after/", "100"); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, img := range []string{vm.DefaultEtcdImage, vm.EtcdImage37} {
		parts = append(parts, fmt.Sprintf("%d of %s", count[img], img))
	}
	return pre.ID, []string{fig, fmt.Sprintf("kubeadm upgrade: pre-upgrade snapshot %s (%s); the store after it: %s; %s in all",
		pre.ID, pre.Image.Reference, strings.Join(parts, ", "), round(time.Since(t0)))}
}

// restoredWith checks, after the reboot that followed the upgrade, that the
// boot's restore ran in the 3.7 image and that its snapshot records it.
func restoredWith(t *testing.T, v *vm.VM, image string) string {
	t.Helper()
	rec := restoreRecord(t, v)
	var snap *listEntry
	for _, s := range listSnapshots(t, v) {
		if s.ID == rec.SnapshotID {
			snap = &s
			break
		}
	}
	if rec.Image != image || snap == nil || snap.Image.Reference != image {
		t.Fatalf("restore record %+v (snapshot %+v): want a restore in %s of a snapshot taken in it", rec, snap, image)
	}
	if imgs := runningEtcdImages(t, v); len(imgs) != 1 || imgs[0] != image {
		t.Fatalf("running etcd containers have images %v, want one %s", imgs, image)
	}
	return fmt.Sprintf("restored %s (%s, %s) in %s; etcd runs %s", rec.SnapshotID, snap.Reason, snap.Image.Reference, rec.Image, image)
}

// preUpgradeRestore restores the snapshot taken before the upgrade by hand,
// as kubeadm's documentation has an operator restore etcd: the manifest moved
// out of the manifests dir (kubelet stops the pod), the data dir emptied,
// `etcd-ramdisk restore --snapshot ID` (it runs in the snapshot's own image,
// etcd 3.6.16), the manifest moved back: kubelet starts etcd 3.7.4 on the
// restored data. Every key written before that snapshot must be there, none
// written after the upgrade.
func preUpgradeRestore(t *testing.T, v *vm.VM, n *vm.Node, id string) string {
	t.Helper()
	t0 := time.Now()
	before := map[string]bool{}
	for _, s := range listSnapshots(t, v) {
		before[s.ID] = true
	}
	run(t, v, "mv "+manifestPath+" /root/etcd.yaml.stopped")
	for imgs := runningEtcdImages(t, v); len(imgs) > 0; imgs = runningEtcdImages(t, v) {
		if time.Since(t0) > podUpdateWait {
			t.Fatalf("%s after its manifest was moved away kubelet still runs etcd: %v", podUpdateWait, imgs)
		}
		time.Sleep(pollInterval) // poll interval, not synchronisation
	}
	run(t, v, "rm -rf /var/lib/etcd/member")
	stopped := time.Since(t0)
	out := run(t, v, fmt.Sprintf("%s --manifest /root/etcd.yaml.stopped restore --snapshot %s 2>&1", erd, id))
	t.Logf("restore --snapshot %s:\n%s", id, out)
	rec := restoreRecord(t, v)
	if rec.SnapshotID != id || rec.Image != vm.DefaultEtcdImage {
		t.Fatalf("restore record %+v: want snapshot %s restored in %s", rec, id, vm.DefaultEtcdImage)
	}
	run(t, v, "mv /root/etcd.yaml.stopped "+manifestPath)
	healthy, err := n.WaitEtcd(ctxFor(t, 10*time.Minute))
	if err != nil {
		t.Fatalf("etcd 3.7 did not start on the pre-upgrade snapshot: %v", err)
	}
	if imgs := runningEtcdImages(t, v); len(imgs) != 1 || imgs[0] != vm.EtcdImage37 {
		t.Fatalf("after the pre-upgrade restore the running etcd containers have images %v, want one %s", imgs, vm.EtcdImage37)
	}
	mustKeys(t, n, "before-install/", 300)
	mustKeys(t, n, "upgrade/before/", 200)
	cnt, err := n.Etcdkv(ctxFor(t, time.Minute), "count", "upgrade/after/")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(cnt) != "0" {
		t.Fatalf("after restoring the pre-upgrade snapshot %s etcd has %s keys written after the upgrade, want 0", id, strings.TrimSpace(cnt))
	}
	// etcd-ramdisk goes on from there: a backup of the restored etcd is good.
	// The journal service may have stored it first: the restored etcd's
	// history is not its chain's, so it starts a new chain from a fresh
	// snapshot (reason journal). Then the backup finds that snapshot at
	// etcd's revision, and it must be a new one, taken in etcd 3.7.
	if out := run(t, v, erd+" backup --reason cron 2>/dev/null"); !strings.HasPrefix(out, "good ") {
		var rev int64
		snaps := listSnapshots(t, v)
		if _, err := fmt.Sscanf(out, "unchanged at revision %d", &rev); err != nil || len(snaps) == 0 || snaps[0].Kind != "good" ||
			snaps[0].Etcd.Revision != rev || before[snaps[0].ID] || snaps[0].Image.Reference != vm.EtcdImage37 {
			t.Fatalf("a backup after the pre-upgrade restore says %q (newest snapshot %+v), want a good snapshot or one the journal took since the restore", out, snaps)
		}
		t.Logf("the backup after the restore found the journal's snapshot %s (%s) at revision %d", snaps[0].ID, snaps[0].Reason, rev)
	}
	fig := fmt.Sprintf("pre-upgrade snapshot %s restored in %s, etcd %s started on it: all keys before it there, none after; etcd stopped %s, healthy %s after the manifest came back; %s in all",
		id, rec.Image, vm.EtcdImage37, round(stopped), round(healthy), round(time.Since(t0)))
	t.Log("FIGURES " + fig)
	return fig
}
