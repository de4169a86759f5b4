// Package e2e runs etcd-ramdisk's built binary against the test bed: a private
// containerd with CRI, etcd started from locally built images as kubeadm's static
// pod, its data on a real tmpfs. These tests never skip: a bed that cannot start
// is a failure.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

var (
	binDir   = os.Getenv("ERD_BIN")
	imageDir = os.Getenv("ERD_IMAGES")
	bedBase  = os.Getenv("ERD_BED")
)

func TestMain(m *testing.M) {
	var problems []string
	if os.Geteuid() != 0 {
		problems = append(problems, "must run as root (the bed mounts tmpfs and runs containerd)")
	}
	if binDir == "" || imageDir == "" {
		problems = append(problems, "ERD_BIN and ERD_IMAGES must be set: run through `make test` / `make e2e`")
	}
	for _, f := range []string{"etcd-ramdisk", "etcd-3.6.16/etcdkv"} {
		if _, err := os.Stat(filepath.Join(binDir, f)); err != nil {
			problems = append(problems, fmt.Sprintf("missing %s in ERD_BIN: %v", f, err))
		}
	}
	if len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "e2e: the test bed cannot run:\n  "+strings.Join(problems, "\n  "))
		os.Exit(1)
	}
	if bedBase == "" {
		bedBase = "/var/tmp/erd-bed"
	}
	unlock, err := testbed.LockHost(context.Background(), os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	// The containerd every bed of this run starts: the binaries of
	// ERD_CONTAINERD_BIN (make e2e sets it to containerd 2.x), or Debian's 1.6
	// from PATH when it is unset or empty (make e2e-containerd1); newNode logs
	// the one each node actually runs.
	path, version, err := testbed.ContainerdVersion(os.Getenv(testbed.ContainerdBinEnv))
	if err != nil {
		unlock()
		fmt.Fprintln(os.Stderr, "e2e: the test bed cannot run:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "e2e: containerd under test: %s (%s)\n", version, path)
	if os.Getenv(testbed.ContainerdBinEnv) == "" {
		fmt.Fprintln(os.Stderr, "e2e: "+testbed.ContainerdBinEnv+" is empty: this is the legacy leg (containerd from PATH); make e2e runs containerd 2.x")
	}
	code := m.Run()
	unlock()
	printFaultSummary()
	os.Exit(code)
}

type etcdImage struct{ name, ref string }

var (
	etcd37 = etcdImage{"etcd3.7", "registry.k8s.io/etcd:3.7.4-0"}
	etcd36 = etcdImage{"etcd3.6", "registry.k8s.io/etcd:3.6.16-0"}
	etcd35 = etcdImage{"etcd3.5", "registry.k8s.io/etcd:3.5.21-0"}
)

// etcdImages are the two kinds of etcd image a cluster may run: official ones
// with etcdutl (3.6+) and Kubernetes-built 3.5 without it. Tests of what only
// the kind of image changes (which binary runs, the image an old snapshot
// recorded) loop over these.
var etcdImages = []etcdImage{etcd36, etcd35}

// etcdReleases adds etcd 3.7, what kubeadm 1.37 deploys, for the tests of what
// a new etcd release can break: backup -> reboot -> restore with exec and a
// sidecar, the cold copy of the data dir, the restore fallbacks, the journal's
// replay and the private etcd. The kill -9 tests at each failpoint
// (TestBackupSurvivesKill9, TestRestoreSurvivesKill9) run on 3.7 alone: the
// fault tests at the same failpoints run on 3.6.
var etcdReleases = []etcdImage{etcd37, etcd36, etcd35}

type node struct {
	*testbed.Bed
	t       *testing.T
	ctx     context.Context
	nerdctl bool   // run etcd-ramdisk with --runtime nerdctl
	tmpDir  string // TMPDIR of etcd-ramdisk's runs when set (see privateTmp)
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// newNode brings up a fresh node named after the test and tears it down at the
// end, also when the test fails.
func newNode(t *testing.T, o testbed.NodeOptions) *node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	name := unsafeChars.ReplaceAllString(t.Name(), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	b, err := testbed.New(bedBase + "-" + strings.ToLower(name))
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Down(ctx) // a previous run killed midway may have left it
	t.Cleanup(func() {
		if t.Failed() {
			if log, err := os.ReadFile(b.Containerd.LogPath()); err == nil && len(log) > 0 {
				t.Logf("containerd log (tail):\n%s", tail(string(log), 3000))
			}
			logs, _ := filepath.Glob(filepath.Join(b.Kubelet().LogDir, "*", "etcd", "*.log"))
			for _, l := range logs {
				if log, err := os.ReadFile(l); err == nil {
					t.Logf("etcd log %s (tail):\n%s", l, tail(string(log), 3000))
				}
			}
		}
		if err := b.Down(context.Background()); err != nil {
			t.Errorf("tear down bed: %v", err)
		}
	})
	archives, err := filepath.Glob(filepath.Join(imageDir, "*.tar"))
	if err != nil || len(archives) == 0 {
		t.Fatalf("no image archives in %s", imageDir)
	}
	start := time.Now()
	if err := b.Up(ctx, o, archives); err != nil {
		t.Fatalf("bring up node: %v", err)
	}
	path, version, err := b.Containerd.Running()
	if err != nil {
		t.Fatalf("the node's containerd: %v", err)
	}
	t.Logf("node up in %s (%s; %s at %s)", time.Since(start).Round(time.Millisecond), b.Options.Image, version, path)
	return &node{Bed: b, t: t, ctx: ctx}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// kv runs the etcd test client and fails the test on error.
func (n *node) kv(args ...string) string {
	n.t.Helper()
	out, err := n.EtcdClient(n.ctx, filepath.Join(binDir, "etcd-3.6.16", "etcdkv"), args...)
	if err != nil {
		n.t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// kvErr runs the etcd test client and returns its error.
func (n *node) kvErr(args ...string) (string, error) {
	out, err := n.EtcdClient(n.ctx, filepath.Join(binDir, "etcd-3.6.16", "etcdkv"), args...)
	return strings.TrimSpace(out), err
}

func (n *node) reboot() {
	n.t.Helper()
	if err := n.Reboot(n.ctx); err != nil {
		n.t.Fatalf("reboot: %v", err)
	}
}

func (n *node) startEtcd() {
	n.t.Helper()
	if err := n.StartEtcd(n.ctx); err != nil {
		n.t.Fatalf("start etcd: %v", err)
	}
}

// result is one run of the etcd-ramdisk binary.
type result struct {
	stdout, stderr string
	code           int
	signal         syscall.Signal // set when the run was killed
}

// tool runs the built etcd-ramdisk binary pointed at this node.
func (n *node) tool(args ...string) result {
	n.t.Helper()
	return n.toolEnv(nil, args...)
}

// toolEnv runs etcd-ramdisk with extra environment variables.
func (n *node) toolEnv(env []string, args ...string) result {
	n.t.Helper()
	cmd := n.toolCommand(env, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signal = ws.Signal()
		}
	} else if err != nil {
		n.t.Fatalf("run etcd-ramdisk %v: %v", args, err)
	}
	n.t.Logf("etcd-ramdisk %s → exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, tail(r.stderr, 4000))
	return r
}

// toolCommand builds an etcd-ramdisk run against this node. With the nerdctl
// backend it runs inside containerd's mount namespace: nerdctl keeps its FIFOs
// under /run/containerd, which on the bed is private to containerd (on a real
// node /run is shared and nothing like this is needed).
func (n *node) toolCommand(env []string, args ...string) *exec.Cmd {
	n.t.Helper()
	bin := filepath.Join(binDir, "etcd-ramdisk")
	cmd := exec.CommandContext(n.ctx, bin, args...)
	if n.nerdctl {
		ns, err := n.Containerd.MountNamespace()
		if err != nil {
			n.t.Fatal(err)
		}
		cmd = exec.CommandContext(n.ctx, "nsenter", append([]string{"--mount=" + ns, "--", bin}, args...)...)
		env = append(env, "ETCD_RAMDISK_RUNTIME=nerdctl", "ETCD_RAMDISK_NERDCTL="+filepath.Join(binDir, "nerdctl"), "NERDCTL_TOML="+n.nerdctlConfig())
	}
	cmd.Env = append(append(os.Environ(), n.toolEnvVars()...), env...)
	return cmd
}

// toolEnvVars is the environment that points etcd-ramdisk at this node.
func (n *node) toolEnvVars() []string {
	env := n.ToolEnv()
	if n.tmpDir != "" {
		env = append(env, "TMPDIR="+n.tmpDir)
	}
	return env
}

// nerdctlConfig keeps nerdctl's state and CNI files inside the bed.
func (n *node) nerdctlConfig() string {
	path := filepath.Join(n.Dir, "nerdctl.toml")
	cfg := fmt.Sprintf("data_root = %q\ncni_netconfpath = %q\ncni_path = %q\n",
		filepath.Join(n.Dir, "nerdctl"), filepath.Join(n.Dir, "nerdctl/net.d"), filepath.Join(n.Dir, "nerdctl/cni"))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		n.t.Fatal(err)
	}
	return path
}

// mustTool runs etcd-ramdisk and fails the test unless it exits 0.
func (n *node) mustTool(args ...string) result {
	n.t.Helper()
	r := n.tool(args...)
	if r.code != 0 {
		n.t.Fatalf("etcd-ramdisk %v exited %d", args, r.code)
	}
	return r
}
