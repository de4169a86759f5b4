package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// dockerShim runs scripts/docker (the docker command legacy scripts call) with
// the nerdctl built by testbed/build-nerdctl.sh, against one node's containerd.
type dockerShim struct {
	n       *node
	script  string
	nerdctl string
	env     []string
	mountNS string
}

// requireNerdctl fails (never skips) the test when nerdctl was not built.
func requireNerdctl(t *testing.T) string {
	t.Helper()
	nerdctl := filepath.Join(binDir, "nerdctl")
	if _, err := os.Stat(nerdctl); err != nil {
		t.Fatalf("nerdctl missing (build it with testbed/build-nerdctl.sh %s): %v", binDir, err)
	}
	return nerdctl
}

func newDockerShim(t *testing.T, n *node, nerdctl string) *dockerShim {
	t.Helper()
	script, err := filepath.Abs("../scripts/docker")
	if err != nil {
		t.Fatal(err)
	}
	// The node's containerd has a private /run, while nerdctl creates the FIFOs of
	// `run` and `exec` under /run/containerd/fifo (hardcoded) for the shim to open.
	// On a real node both see the same /run; here the shim runs in containerd's
	// mount namespace, which shows the host's files everywhere but /run.
	pid, err := os.ReadFile(filepath.Join(n.Containerd.Dir, "containerd.pid"))
	if err != nil {
		t.Fatalf("read containerd's pid: %v", err)
	}
	return &dockerShim{
		n: n, script: script, nerdctl: nerdctl,
		mountNS: fmt.Sprintf("/proc/%s/ns/mnt", strings.TrimSpace(string(pid))),
		env: []string{
			"NERDCTL=" + nerdctl,
			"CONTAINERD_ADDRESS=" + n.Containerd.Address,
			// nerdctl's own state stays in the bed, not in the host's /var/lib/nerdctl
			// and /etc/nerdctl (nerdctl creates its CNI config dir even for --net host).
			"NERDCTL_DATA_ROOT=" + filepath.Join(n.Dir, "var/lib/nerdctl"),
			"NETCONFPATH=" + filepath.Join(n.Dir, "etc/nerdctl/cni/net.d"),
			"CNI_PATH=" + filepath.Join(n.Dir, "opt/cni/bin"),
		},
	}
}

// run runs argv (scripts/docker or nerdctl and its arguments) in the node's
// mount namespace with stdin, and returns what it printed and its exit code.
func (d *dockerShim) run(stdin string, argv ...string) result {
	d.n.t.Helper()
	cmd := exec.CommandContext(d.n.ctx, "nsenter", append([]string{"--mount=" + d.mountNS, "--"}, argv...)...)
	cmd.Env = append(os.Environ(), d.env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		d.n.t.Fatalf("run %v: %v", argv, err)
	}
	d.n.t.Logf("%s → exit %d\nstdout: %s\nstderr: %s", strings.Join(argv, " "), r.code, tail(r.stdout, 2000), tail(r.stderr, 2000))
	return r
}

// docker runs `docker ARGS...` through the shim.
func (d *dockerShim) docker(args ...string) result {
	d.n.t.Helper()
	return d.run("", append([]string{d.script}, args...)...)
}

// mustDocker runs `docker ARGS...` and fails the test unless it exits 0.
func (d *dockerShim) mustDocker(args ...string) string {
	d.n.t.Helper()
	r := d.docker(args...)
	if r.code != 0 {
		d.n.t.Fatalf("docker %v exited %d", args, r.code)
	}
	return r.stdout
}

// TestDockerShim checks the docker commands scripts/README.md lists as working.
func TestDockerShim(t *testing.T) {
	nerdctl := requireNerdctl(t)
	n := newNode(t, testbed.NodeOptions{IP: "127.0.0.9", ClientPort: 12379, PeerPort: 12380, MetricsPort: 12381})
	d := newDockerShim(t, n, nerdctl)
	const image = "registry.k8s.io/etcd:3.6.16-0"
	const etcdName = "k8s://kube-system/etcd-node1/etcd"
	pki := filepath.Join(n.PKIDir(), "etcd")
	endpoint := fmt.Sprintf("https://127.0.0.1:%d", n.Options.ClientPort)
	etcdctlTLS := func(certDir string) []string {
		return []string{"etcdctl", "--endpoints", endpoint, "--cacert", certDir + "/ca.crt",
			"--cert", certDir + "/healthcheck-client.crt", "--key", certDir + "/healthcheck-client.key"}
	}

	if got := strings.TrimSpace(d.mustDocker("--version")); got != "nerdctl version 2.0.5" {
		t.Fatalf("docker --version = %q, want nerdctl version 2.0.5", got)
	}

	// ps shows kubelet's containers in the k8s.io namespace, by their CRI names.
	if out := d.mustDocker("ps"); !strings.Contains(out, etcdName) {
		t.Fatalf("docker ps does not list %s", etcdName)
	}
	id := strings.TrimSpace(d.mustDocker("ps", "-q", "--filter", "label=io.kubernetes.container.name=etcd"))
	if strings.Count(id, "\n") != 0 || id == "" {
		t.Fatalf("docker ps -q --filter label=… = %q, want one container id", id)
	}
	if got := strings.TrimSpace(d.mustDocker("inspect", "--format", "{{.State.Status}} {{.Image}}", id)); got != "running "+image {
		t.Fatalf("docker inspect = %q, want %q", got, "running "+image)
	}
	if out := d.mustDocker("ps", "--no-trunc"); !strings.Contains(out, "etcd --advertise-client-urls=") {
		t.Fatalf("docker ps --no-trunc does not show etcd's command line")
	}
	d.mustDocker("version")
	d.mustDocker("info")
	if out := d.mustDocker("images"); !strings.Contains(out, "registry.k8s.io/etcd") || !strings.Contains(out, "3.6.16-0") {
		t.Fatalf("docker images does not list %s", image)
	}
	if got := strings.TrimSpace(d.mustDocker("image", "inspect", "--format", "{{.RepoTags}}", image)); got != "["+image+"]" {
		t.Fatalf("docker image inspect = %q, want [%s]", got, image)
	}
	// etcd logs JSON to stderr; docker logs keeps the stream.
	if r := d.docker("logs", "--tail", "5", id); r.code != 0 || !strings.Contains(r.stderr, `"msg":`) {
		t.Fatalf("docker logs exited %d without etcd's log lines", r.code)
	}

	out := d.mustDocker("run", "--rm", "--net", "host", image, "etcdctl", "version")
	if !strings.Contains(out, "etcdctl version: 3.6.16") {
		t.Fatalf("docker run … etcdctl version printed %q", out)
	}

	// The container's exit code comes back unchanged: etcdctl exits 128 (bad
	// arguments), a code nerdctl never uses for its own errors.
	shim := d.docker("run", "--rm", "--net", "none", image, "etcdctl", "get")
	direct := d.run("", d.nerdctl, "--address", n.Containerd.Address, "--namespace", "k8s.io",
		"--data-root", filepath.Join(n.Dir, "var/lib/nerdctl"), "run", "--rm", "--net", "none", image, "etcdctl", "get")
	if shim.code != 128 || direct.code != shim.code {
		t.Fatalf("exit code of etcdctl get: through docker %d, nerdctl itself %d; want 128 both", shim.code, direct.code)
	}

	// stdin reaches the container and its end too: etcdctl put reads the value
	// from stdin until EOF. nerdctl alone loses that EOF when it comes before the
	// container's task exists (most runs against containerd 2.4 hung); the shim
	// holds it back until then, so every one of these runs must finish.
	for i := 0; i < 5; i++ {
		value := fmt.Sprintf("from-stdin-%d", i)
		start := time.Now()
		put := d.run(value, append(append([]string{d.script, "run", "-i", "--rm", "--net", "host", "-v", pki + ":/pki:ro", image},
			etcdctlTLS("/pki")...), "put", "/shim/stdin")...)
		if put.code != 0 || strings.TrimSpace(put.stdout) != "OK" {
			t.Fatalf("docker run -i … etcdctl put (run %d) exited %d printing %q", i, put.code, put.stdout)
		}
		if got := n.kv("get", "/shim/stdin"); got != value {
			t.Fatalf("value put from stdin = %q, want %s", got, value)
		}
		t.Logf("docker run -i with piped stdin, run %d: %s", i, time.Since(start).Round(time.Millisecond))
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "docker-stdin.*")); len(left) > 0 {
		t.Errorf("docker run -i left %v behind", left)
	}

	// exec runs in kubelet's etcd container, with the certificates it mounts.
	got := d.mustDocker(append(append([]string{"exec", id}, etcdctlTLS("/etc/kubernetes/pki/etcd")...), "get", "--print-value-only", "/shim/stdin")...)
	if strings.TrimSpace(got) != "from-stdin-4" {
		t.Fatalf("docker exec … etcdctl get printed %q, want from-stdin-4", got)
	}

	// A detached container's life cycle: run -d, ps, logs, stop, rm.
	const name = "shim-detached"
	d.mustDocker("run", "-d", "--name", name, "--net", "none", image, "etcd", "--data-dir", "/tmp/etcd",
		"--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
		"--listen-peer-urls", "http://127.0.0.1:2380")
	if got := d.mustDocker("ps", "--filter", "name="+name, "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(got, name+" Up") {
		t.Fatalf("docker ps for %s = %q, want it up", name, got)
	}
	for i := 0; ; i++ {
		r := d.docker("logs", "--tail", "3", name)
		if r.code == 0 && strings.Contains(r.stderr, "serving client traffic") {
			break
		}
		if i == 50 {
			t.Fatalf("docker logs %s exited %d without etcd's start-up lines", name, r.code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.mustDocker("exec", name, "etcdctl", "endpoint", "health")
	d.mustDocker("stop", name)
	d.mustDocker("rm", name)
	if got := d.mustDocker("ps", "-a", "--format", "{{.Names}}"); strings.Contains(got, name) {
		t.Fatalf("%s still listed after docker rm: %q", name, got)
	}
}

// TestDockerShimArgs checks what scripts/docker hands to nerdctl, with a fake
// nerdctl that echoes its arguments, environment and stdin and exits 42.
func TestDockerShimArgs(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "nerdctl")
	script := "#!/bin/sh\necho \"args: $*\"\necho \"NETCONFPATH=$NETCONFPATH\"\ncat\nexit 42\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  []string
		want []string
	}{
		{"defaults", nil, []string{
			"args: --address /run/containerd/containerd.sock --namespace k8s.io ps -a --format {{.Names}}",
			"NETCONFPATH=/etc/nerdctl/cni/net.d"}},
		{"overrides", []string{"CONTAINERD_ADDRESS=/x.sock", "CONTAINERD_NAMESPACE=moby", "NETCONFPATH=/n",
			"NERDCTL_DATA_ROOT=/d", "NERDCTL_CGROUP_MANAGER=systemd"}, []string{
			"args: --address /x.sock --namespace moby --cgroup-manager systemd --data-root /d ps -a --format {{.Names}}",
			"NETCONFPATH=/n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("../scripts/docker", "ps", "-a", "--format", "{{.Names}}")
			cmd.Env = append([]string{"PATH=/usr/bin:/bin", "NERDCTL=" + fake}, tc.env...)
			cmd.Stdin = strings.NewReader("from stdin\n")
			out, err := cmd.Output()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 42 {
				t.Fatalf("docker exited with %v, want exit status 42", err)
			}
			want := strings.Join(append(tc.want, "from stdin"), "\n") + "\n"
			if string(out) != want {
				t.Fatalf("docker printed\n%s\nwant\n%s", out, want)
			}
		})
	}
}
