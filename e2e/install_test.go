package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// hostTool runs etcd-ramdisk as on a real node: in a mount namespace of its own
// whose /etc is an overlay (writes land in the bed, never in the host's /etc),
// with the systemctl stand-in first on PATH. Mounts under the bed directory
// still reach the host and containerd, since the bed is a shared mount.
func (n *node) hostTool(args ...string) result {
	n.t.Helper()
	upper, work := filepath.Join(n.Dir, "etc-upper"), filepath.Join(n.Dir, "etc-work")
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			n.t.Fatal(err)
		}
	}
	script := `mount -t overlay overlay -o lowerdir=/etc,upperdir="$1",workdir="$2" /etc && shift 2 && exec "$@"`
	full := append([]string{"--mount", "--propagation", "unchanged", "--", "/bin/sh", "-c", script, "sh", upper, work, filepath.Join(binDir, "etcd-ramdisk")}, args...)
	cmd := exec.CommandContext(n.ctx, "unshare", full...)
	standIns, _ := filepath.Abs("../testbed")
	cmd.Env = append(append(os.Environ(), n.ToolEnv()...),
		"PATH="+standIns+":"+os.Getenv("PATH"), "ERD_BED_DIR="+n.Dir)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		n.t.Fatal(err)
	}
	n.t.Logf("[node] etcd-ramdisk %s → exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, tail(r.stderr, 4000))
	return r
}

// install --now moves a running etcd from disk to tmpfs and uninstall moves it
// back, every key kept; a second install and uninstall change nothing.
func TestInstallNowAndUninstall(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{NoTmpfs: true})
	n.kv("put-many", "/registry/inst/", "150")
	bin := "--binary=" + filepath.Join(binDir, "etcd-ramdisk")
	upper := filepath.Join(n.Dir, "etc-upper")

	if r := n.hostTool("install", "--now", bin); r.code != 0 {
		t.Fatalf("install --now exited %d", r.code)
	}
	if mountType(t, n.DataDir()) != "tmpfs" {
		t.Fatalf("after install --now the data dir is %q, want tmpfs", mountType(t, n.DataDir()))
	}
	for _, f := range []string{"systemd/system/kubelet.service.d/20-etcd-ramdisk.conf", "cron.d/etcd-ramdisk", "fstab"} {
		if _, err := os.Stat(filepath.Join(upper, f)); err != nil {
			t.Errorf("install did not write /etc/%s: %v", f, err)
		}
	}
	if err := n.WaitHealthy(n.ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	n.kv("check-many", "/registry/inst/", "150")
	if r := n.hostTool("install", bin); r.code != 0 || strings.Contains(r.stdout, "wrote") {
		t.Errorf("second install: exit %d, stdout %q; want no change", r.code, r.stdout)
	}

	// A power cycle on tmpfs: kubelet's start runs the restore first.
	n.kv("put", "/registry/inst/after", "x")
	if r := n.hostTool("backup"); r.code != 0 {
		t.Fatalf("backup exited %d", r.code)
	}

	if r := n.hostTool("uninstall", bin); r.code != 0 {
		t.Fatalf("uninstall exited %d", r.code)
	}
	if mt := mountType(t, n.DataDir()); mt == "tmpfs" {
		t.Fatalf("after uninstall the data dir is still a tmpfs")
	}
	if err := n.WaitHealthy(n.ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	n.kv("check-many", "/registry/inst/", "150")
	if got := n.kv("get", "/registry/inst/after"); got != "x" {
		t.Errorf("key written before the last backup = %q", got)
	}
	if r := n.hostTool("uninstall", bin); r.code != 0 || !strings.Contains(r.stdout, "nothing to do") {
		t.Errorf("second uninstall: exit %d, %q", r.code, r.stdout)
	}
}
