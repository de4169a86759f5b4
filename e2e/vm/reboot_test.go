package vmtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed/vm"
)

// erd is etcd-ramdisk on the node with the paths install writes into the
// drop-in and cron table (kubeadm's defaults).
const erd = "etcd-ramdisk"

// writer is a host-side client that writes keys one at a time through a
// reboot: "acked N" means etcd acknowledged keys 0..N-1, each before the next
// was sent.
type writer struct {
	prefix string
	cmd    *exec.Cmd
	out    strings.Builder
	done   chan error
}

func startWriter(t *testing.T, n *vm.Node, prefix string) *writer {
	t.Helper()
	w := &writer{prefix: prefix, done: make(chan error, 1)}
	w.cmd = exec.Command(filepath.Join(binDir, "etcd-3.6.16", "etcdkv"), "--endpoint", "https://"+n.VM.EtcdAddr(),
		"--cacert", n.CACert, "--cert", n.ClientCert, "--key", n.ClientKey, "--timeout", "5s",
		"ack-writes", prefix, "999999")
	w.cmd.Stdout = &w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() { w.cmd.Process.Kill() })
	// Wait until it really writes: the reboot must interrupt a stream of writes.
	ctx := ctxFor(t, 2*time.Minute)
	for {
		out, err := n.Etcdkv(ctx, "count", prefix)
		if c, _ := strconv.Atoi(strings.TrimSpace(out)); err == nil && c >= 50 {
			return w
		}
		if ctx.Err() != nil {
			t.Fatalf("writer %s never got going: %v %s", prefix, err, out)
		}
		time.Sleep(200 * time.Millisecond) // poll interval, not synchronisation
	}
}

var ackedRE = regexp.MustCompile(`(?m)^acked (\d+)$`)

// acked waits for the writer to end (etcd went away) and returns the count.
func (w *writer) acked(t *testing.T) int {
	t.Helper()
	select {
	case err := <-w.done:
		if err != nil {
			t.Fatalf("writer %s: %v: %s", w.prefix, err, w.out.String())
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("writer %s still writing 5 minutes after the shutdown began", w.prefix)
	}
	m := ackedRE.FindStringSubmatch(w.out.String())
	if m == nil {
		t.Fatalf("writer %s: no count in %q", w.prefix, w.out.String())
	}
	n, _ := strconv.Atoi(m[1])
	t.Logf("writer %s: %s", w.prefix, strings.ReplaceAll(strings.TrimSpace(w.out.String()), "\n", "; "))
	return n
}

// missing counts the writer's acknowledged keys that are not in etcd now.
func missing(t *testing.T, n *vm.Node, prefix string, acked int) int {
	t.Helper()
	out, err := n.Etcdkv(ctxFor(t, 2*time.Minute), "count", prefix)
	if err != nil {
		t.Fatal(err)
	}
	have, _ := strconv.Atoi(strings.TrimSpace(out))
	if _, err := n.Etcdkv(ctxFor(t, 2*time.Minute), "check-many", prefix, strconv.Itoa(acked)); err != nil {
		t.Logf("check-many %s %d: %v", prefix, acked, err)
		if have >= acked {
			return 1 // a wrong value
		}
	}
	return max(acked-have, 0)
}

func run(t *testing.T, v *vm.VM, script string) string {
	t.Helper()
	out, err := v.Run(ctxFor(t, 15*time.Minute), script)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustKeys(t *testing.T, n *vm.Node, prefix string, count int) {
	t.Helper()
	out, err := n.Etcdkv(ctxFor(t, 2*time.Minute), "check-many", prefix, strconv.Itoa(count))
	if err != nil {
		t.Fatalf("keys %s: %v %s", prefix, err, out)
	}
}

func dataDirFS(t *testing.T, v *vm.VM) string {
	return strings.TrimSpace(run(t, v, "findmnt -n -o FSTYPE --target /var/lib/etcd"))
}

func lastShutdown(t *testing.T, v *vm.VM) store.ShutdownRecord {
	t.Helper()
	var r store.ShutdownRecord
	out := run(t, v, "cat /var/lib/etcd-ramdisk/shutdown-record.json")
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("shutdown record: %v: %s", err, out)
	}
	return r
}

var stoppedIn = regexp.MustCompile(`\(from the data dir[^,)]*, ([0-9.]+m?s)\)`)

// shutdownBackupTook reads the previous boot's journal for the shutdown
// backup's own report of its duration.
func shutdownBackupTook(t *testing.T, v *vm.VM) string {
	out, err := v.Journal(ctxFor(t, time.Minute), "-b -1 -u kubelet.service --no-pager -o cat")
	if err != nil {
		t.Logf("journal of the previous boot: %v", err)
	}
	if m := stoppedIn.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return "not in the journal"
}

// rebootKeepsWrites writes keys after the last backup and runs a writer, takes
// the node down with down(), and checks that every key and every acknowledged
// write is back. It returns the figures for the log.
func rebootKeepsWrites(t *testing.T, v *vm.VM, n *vm.Node, name string, down func(context.Context) (vm.Timing, error)) string {
	t.Helper()
	run(t, v, erd+" backup --reason cron")
	after := name + "/after-backup/"
	if _, err := n.Etcdkv(ctxFor(t, 2*time.Minute), "put-many", after, "200"); err != nil {
		t.Fatal(err)
	}
	w := startWriter(t, n, name+"/stream/")
	tm, err := down(ctxFor(t, 25*time.Minute))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	acked := w.acked(t)
	healthy, err := n.WaitEtcd(ctxFor(t, 10*time.Minute))
	if err != nil {
		t.Fatalf("%s: etcd not back: %v", name, err)
	}
	if fs := dataDirFS(t, v); fs != "tmpfs" {
		t.Fatalf("%s: data dir on %s, want tmpfs", name, fs)
	}
	mustKeys(t, n, after, 200)
	lost := missing(t, n, name+"/stream/", acked)
	rec := lastShutdown(t, v)
	fig := fmt.Sprintf("%s: shutdown %s, boot %s, etcd healthy %s after SSH; writer acked %d, missing %d; shutdown backup %s (%s, etcd stopped by it: %v)",
		name, round(tm.Shutdown), round(tm.Boot), round(healthy), acked, lost, shutdownBackupTook(t, v), rec.Source, rec.EtcdStopped)
	t.Log("FIGURES " + fig)
	if lost != 0 {
		t.Fatalf("%s: %d of %d acknowledged writes are gone", name, lost, acked)
	}
	if !rec.OK || !rec.SystemShutdown || rec.Source != "data-dir" {
		t.Fatalf("%s: shutdown record %+v: want ok, system shutdown, from the data dir", name, rec)
	}
	if st := run(t, v, erd+" status || true"); strings.Contains(st, "older than its last state") {
		t.Fatalf("%s: status warns after a clean shutdown:\n%s", name, st)
	}
	return fig
}

// TestVMNodeReboots is one node's life per containerd, both on the same real
// kubelet and kubeadm (v1.37.2).
//
// containerd 2 (what Kubernetes 1.35+ expects), the full life: the node starts
// with etcd 3.6.16 (a kubeadm 1.34-1.36 node), `install --now`, then kubeadm's
// upgrade of the etcd static pod to 3.7.4 while backups run (upgrade_test.go);
// a reboot restores in the 3.7 image; the snapshot taken before the upgrade is
// restored in its own 3.6 image and etcd 3.7 starts on it; then, on etcd
// 3.7.4, a second reboot with no daemon-reload since the first, a poweroff,
// etcd stopped before a reboot, kubelet's graceful node shutdown, a power cut
// and uninstall.
//
// containerd 1.6 (no CRI RuntimeConfig: kubelet uses its own cgroupDriver), the
// older node, etcd 3.6.16: install without --now (the first reboot switches),
// edits of etcd.yaml that make kubelet replace the etcd pod while backups run
// in a loop (podUpdates), a second reboot with no daemon-reload between, a
// poweroff.
func TestVMNodeReboots(t *testing.T) {
	forEachContainerd(t, func(t *testing.T, containerd string) {
		// The legs run side by side with one vCPU each: under TCG a boot is
		// mostly serial, so two one-CPU guests finish sooner than two
		// two-CPU guests in turn on a 2-core machine.
		t.Parallel()
		t0 := time.Now()
		full := containerd == "2"
		archives := []string{"pause.tar", "etcd-3.6.16.tar"}
		if full {
			archives = append(archives, "etcd-3.7.4.tar")
		}
		v := startVM(t, containerd, func(o *vm.Options) { o.CPUs = vmCPUs(); o.ImageArchives = archives })
		n, err := v.SetupNode(ctxFor(t, 20*time.Minute), vm.NodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		atSetup := versions(t, n)
		t.Logf("VERSIONS containerd %s leg at setup: %s", containerd, atSetup)
		if _, err := n.Etcdkv(ctxFor(t, time.Minute), "put-many", "before-install/", "300"); err != nil {
			t.Fatal(err)
		}
		var figs []string
		if full {
			out := run(t, v, erd+" install --now")
			t.Logf("install --now:\n%s", out)
			if _, err := n.WaitEtcd(ctxFor(t, 5*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if fs := dataDirFS(t, v); fs != "tmpfs" {
				t.Fatalf("after install --now the data dir is on %s, want tmpfs", fs)
			}
		} else {
			out := run(t, v, erd+" install")
			t.Logf("install:\n%s", out)
			if fs := dataDirFS(t, v); fs != "ext4" {
				t.Fatalf("install without --now moved the data dir to %s already", fs)
			}
		}
		mustKeys(t, n, "before-install/", 300)

		if full {
			preID, upFigs := kubeadmUpgrade(t, v, n)
			figs = append(figs, upFigs...)
			figs = append(figs, rebootKeepsWrites(t, v, n, "reboot1", v.Reboot))
			figs = append(figs, "reboot1 after the upgrade: "+restoredWith(t, v, vm.EtcdImage37))
			figs = append(figs, preUpgradeRestore(t, v, n, preID))
			figs = append(figs, rebootKeepsWrites(t, v, n, "reboot2", v.Reboot))
		} else {
			figs = append(figs, rebootKeepsWrites(t, v, n, "reboot1", v.Reboot))
			// etcd on the tmpfs, etcd-ramdisk's units and cron in place:
			// edits of etcd.yaml while backups run (podupdate_test.go).
			figs = append(figs, podUpdates(t, v, n)...)
			figs = append(figs, rebootKeepsWrites(t, v, n, "reboot2", v.Reboot))
		}
		mustKeys(t, n, "before-install/", 300)
		figs = append(figs, rebootKeepsWrites(t, v, n, "poweroff", v.Poweroff))
		if !full {
			summary(t, containerd, t0, v, atSetup, versions(t, n), figs)
			return
		}

		// etcd gone just before the reboot: SIGTERM, as an operator's kill or
		// a crash-looping etcd between restarts.
		figs = append(figs, rebootKeepsWrites(t, v, n, "etcd-killed", func(ctx context.Context) (vm.Timing, error) {
			if _, err := v.Run(ctx, "pkill -TERM -x etcd"); err != nil {
				return vm.Timing{}, err
			}
			return v.Reboot(ctx)
		}))

		// kubelet's graceful node shutdown: kubelet kills etcd itself before
		// systemd stops any unit.
		run(t, v, `cat >>/var/lib/kubelet/config.yaml <<'EOF'
shutdownGracePeriod: 30s
shutdownGracePeriodCriticalPods: 10s
EOF
systemctl restart kubelet`)
		if _, err := n.WaitEtcd(ctxFor(t, 5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if st := run(t, v, erd+" status || true"); !strings.Contains(st, "graceful node shutdown on (shutdownGracePeriod 30s") {
			t.Fatalf("status does not report kubelet's graceful node shutdown:\n%s", st)
		}
		figs = append(figs, rebootKeepsWrites(t, v, n, "graceful-node-shutdown", v.Reboot))

		figs = append(figs, powerCut(t, v, n))

		out := run(t, v, erd+" uninstall")
		t.Logf("uninstall:\n%s", out)
		if fs := dataDirFS(t, v); fs != "ext4" {
			t.Fatalf("after uninstall the data dir is on %s, want the disk", fs)
		}
		if _, err := n.WaitEtcd(ctxFor(t, 5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Etcdkv(ctxFor(t, time.Minute), "put-many", "after-uninstall/", "100"); err != nil {
			t.Fatal(err)
		}
		tm, err := v.Reboot(ctxFor(t, 25*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.WaitEtcd(ctxFor(t, 10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if fs := dataDirFS(t, v); fs != "ext4" {
			t.Fatalf("after uninstall and a reboot the data dir is on %s, want the disk", fs)
		}
		mustKeys(t, n, "after-uninstall/", 100)
		mustKeys(t, n, "before-install/", 300)
		figs = append(figs, "uninstall + reboot: "+tm.String())
		summary(t, containerd, t0, v, atSetup, versions(t, n), figs)
	})
}

// versions asks the node what it runs (kubelet, kubeadm, containerd, the etcd
// image of the manifest).
func versions(t *testing.T, n *vm.Node) vm.Versions {
	t.Helper()
	ver, err := n.Versions(ctxFor(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return ver
}

// summary logs a leg's versions and figures.
func summary(t *testing.T, containerd string, t0 time.Time, v *vm.VM, first, last vm.Versions, figs []string) {
	t.Helper()
	ran := last.String()
	if first.EtcdImage != last.EtcdImage {
		ran = strings.Replace(ran, "etcd image "+last.EtcdImage, "etcd image "+first.EtcdImage+" -> "+last.EtcdImage, 1)
	}
	t.Logf("SUMMARY containerd %s leg, %s in all, watchdog restarts %d; ran %s:\n%s", containerd, round(time.Since(t0)), v.Restarts(), ran, strings.Join(figs, "\n"))
}

// vmCPUs is each VM's vCPU count in the parallel legs (ERD_VM_CPUS, default 1).
func vmCPUs() int {
	if n, err := strconv.Atoi(os.Getenv("ERD_VM_CPUS")); err == nil && n > 0 {
		return n
	}
	return 1
}

// powerCut: no shutdown at all. The node boots, restores the newest cron
// snapshot, kubelet starts, etcd is healthy; what came after that backup is
// lost, and restore and status say so.
func powerCut(t *testing.T, v *vm.VM, n *vm.Node) string {
	t.Helper()
	if _, err := n.Etcdkv(ctxFor(t, time.Minute), "put-many", "powercut/kept/", "200"); err != nil {
		t.Fatal(err)
	}
	run(t, v, erd+" backup --reason cron")
	// A writer streams acknowledged writes; the cut comes at a random
	// moment at least a minute after that backup.
	w := startTimedWriter(t, n, "powercut/stream/")
	wait := time.Minute + time.Duration(rand.Int64N(int64(10*time.Second)))
	time.Sleep(wait) // the length of the stream before the cut: what is measured, not synchronisation
	cut := time.Now()
	tm, err := v.PowerCut(ctxFor(t, 20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	acks := w.acked()
	healthy, err := n.WaitEtcd(ctxFor(t, 10*time.Minute))
	if err != nil {
		t.Fatalf("power cut: etcd not back: %v", err)
	}
	mustKeys(t, n, "powercut/kept/", 200)
	back := w.back(t, len(acks))
	r := measureRPO(acks, back, cut)
	st := run(t, v, erd+" status || true")
	if !strings.Contains(st, "older than its last state") || !strings.Contains(st, "the node lost power or crashed") {
		t.Fatalf("status after a power cut does not warn:\n%s", st)
	}
	jr, _ := v.Journal(ctxFor(t, time.Minute), "-b 0 -u kubelet.service --no-pager -o cat")
	if !strings.Contains(jr, "WARNING: no shutdown backup since") || !strings.Contains(jr, "the node lost power or crashed") {
		t.Fatalf("restore after a power cut did not warn in the journal:\n%s", lastLines(jr, 30))
	}
	if !strings.Contains(jr, "replayed journal") || r.missing == r.acked {
		t.Fatalf("the journal replayed nothing after a power cut: %d of %d acknowledged writes missing; restore:\n%s", r.missing, r.acked, lastLines(jr, 30))
	}
	// restore's default: the chain written into the snapshot's database,
	// not the replay through etcd it falls back to.
	replayed := replayedLine.FindString(jr)
	if !strings.HasSuffix(replayed, "written into the snapshot's database") {
		t.Fatalf("restore after a power cut did not write the journal into the database: %q; restore:\n%s", replayed, lastLines(jr, 30))
	}
	t.Log("FIGURES power cut restore: " + replayed)
	fig := fmt.Sprintf("power cut: boot %s, etcd healthy %s after SSH; a writer streamed %d acknowledged writes for %s after the last cron backup: %d missing after the boot, the oldest acknowledged %s before the cut (journal interval %s, the installed default; target: nothing older than interval + 1s)", round(tm.Boot), round(healthy), r.acked, round(wait), r.missing, r.oldestMissing.Round(10*time.Millisecond), journal.DefaultInterval)
	t.Log("FIGURES " + fig)
	return fig
}

// replayedLine is restore's line about the journal it replayed.
var replayedLine = regexp.MustCompile(`replayed journal [^\n]*`)

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
