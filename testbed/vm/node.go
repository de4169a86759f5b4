package vm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// NodeOptions describe the kubeadm node SetupNode makes of the VM.
type NodeOptions struct {
	EtcdImage          string // default registry.k8s.io/etcd:3.6.16-0 (must be an imported archive)
	KubeletConfigExtra string // YAML lines appended to kubelet's config, e.g. "shutdownGracePeriod: 30s"
}

// Node is the VM set up as a kubeadm node whose etcd the host reaches through
// VM.EtcdAddr with kubeadm's etcd CA and healthcheck-client certificate.
type Node struct {
	VM         *VM
	EtcdImage  string
	CACert     string // host copy of /etc/kubernetes/pki/etcd/ca.crt
	ClientCert string // host copy of healthcheck-client.crt
	ClientKey  string // host copy of healthcheck-client.key
	etcdkv     string
}

// DefaultEtcdImage is the etcd of a kubeadm 1.34-1.36 node (the newest 3.6 the
// test bed builds).
const DefaultEtcdImage = "registry.k8s.io/etcd:3.6.16-0"

// EtcdImage37 is the etcd of a kubeadm 1.37 node: kubeadm 1.37.2's default is
// 3.7.0-0; the test bed builds 3.7.4 and names it by its own version, given to
// kubeadm as imageTag.
const EtcdImage37 = "registry.k8s.io/etcd:3.7.4-0"

// splitEtcdImage turns registry.k8s.io/etcd:3.6.16-0 into kubeadm's
// imageRepository (registry.k8s.io) and imageTag (3.6.16-0).
func splitEtcdImage(ref string) (repo, tag string, err error) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return "", "", fmt.Errorf("vm: etcd image %q has no tag", ref)
	}
	name, tag := ref[:i], ref[i+1:]
	repo, ok := strings.CutSuffix(name, "/etcd")
	if !ok || repo == "" {
		return "", "", fmt.Errorf("vm: etcd image %q: kubeadm names it <imageRepository>/etcd:<imageTag>", ref)
	}
	return repo, tag, nil
}

// SetupNode sets the VM up as a kubeadm node (node-setup.sh from the payload):
// containerd, the images, real kubelet with kubeadm's unit files, kubeadm's etcd
// certificates and static pod, kubelet started; then waits until etcd answers
// over TLS and copies the etcd CA and healthcheck-client certificate and key to
// Work/pki on the host.
func (v *VM) SetupNode(ctx context.Context, o NodeOptions) (*Node, error) {
	if o.EtcdImage == "" {
		o.EtcdImage = DefaultEtcdImage
	}
	repo, tag, err := splitEtcdImage(o.EtcdImage)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	script := fmt.Sprintf("ls %[5]s/node-setup.sh >/dev/null\n"+ // the automount mounts the payload
		"cat >/root/kubelet-extra.yaml <<'ERD_VM_EOF'\n%[1]s\nERD_VM_EOF\n"+
		"ERD_CONTAINERD=%[2]s ERD_ETCD_REPO=%[3]s ERD_ETCD_TAG=%[4]s ERD_KUBELET_EXTRA=/root/kubelet-extra.yaml bash %[5]s/node-setup.sh",
		strings.TrimRight(o.KubeletConfigExtra, "\n"), shellQuote(v.o.Containerd), shellQuote(repo), shellQuote(tag), PayloadMount)
	out, err := v.Run(ctx, script)
	if err != nil {
		return nil, fmt.Errorf("vm: node setup: %w", err)
	}
	v.logf("node setup (%s, containerd %s) in %s:\n%s", o.EtcdImage, v.o.Containerd,
		time.Since(t0).Round(100*time.Millisecond), strings.TrimSpace(out))

	pki := filepath.Join(v.o.Work, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return nil, err
	}
	n := &Node{
		VM:         v,
		EtcdImage:  o.EtcdImage,
		CACert:     filepath.Join(pki, "ca.crt"),
		ClientCert: filepath.Join(pki, "healthcheck-client.crt"),
		ClientKey:  filepath.Join(pki, "healthcheck-client.key"),
		etcdkv:     filepath.Join(v.o.Bin, "etcd-3.6.16", "etcdkv"),
	}
	for guest, host := range map[string]string{
		"ca.crt":                 n.CACert,
		"healthcheck-client.crt": n.ClientCert,
		"healthcheck-client.key": n.ClientKey,
	} {
		pem, err := v.Run(ctx, "cat /etc/kubernetes/pki/etcd/"+guest)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(host, []byte(pem), 0o600); err != nil {
			return nil, err
		}
	}
	if _, err := n.WaitEtcd(ctx); err != nil {
		return nil, err
	}
	return n, nil
}

// Versions is what a node runs, as its own binaries report it.
type Versions struct {
	Kubelet, Kubeadm, Containerd, EtcdImage string
}

func (v Versions) String() string {
	return fmt.Sprintf("kubelet %s, kubeadm %s, containerd %s, etcd image %s", v.Kubelet, v.Kubeadm, v.Containerd, v.EtcdImage)
}

// Versions asks the node: `kubelet --version`, `kubeadm version -o short`,
// `containerd --version` and the image of kubeadm's etcd manifest now.
func (n *Node) Versions(ctx context.Context) (Versions, error) {
	out, err := n.VM.Run(ctx, `kubelet --version | awk '{print $2}'
kubeadm version -o short
containerd --version | awk '{print $3}'
awk '$1 == "image:" {print $2; exit}' /etc/kubernetes/manifests/etcd.yaml`)
	if err != nil {
		return Versions{}, fmt.Errorf("vm: versions: %w", err)
	}
	f := strings.Fields(out)
	if len(f) != 4 {
		return Versions{}, fmt.Errorf("vm: versions: want 4 words, got %q", out)
	}
	return Versions{Kubelet: f[0], Kubeadm: f[1], Containerd: f[2], EtcdImage: f[3]}, nil
}

// Etcdkv runs the host's etcdkv (bin/etcd-3.6.16/etcdkv) against etcd through
// EtcdAddr with the node's certificates; args are its command and arguments
// (put K V, get K, put-many P N, check-many P N, count P, status, load ...).
func (n *Node) Etcdkv(ctx context.Context, args ...string) (string, error) {
	argv := append([]string{
		"--endpoint", "https://" + n.VM.EtcdAddr(),
		"--cacert", n.CACert, "--cert", n.ClientCert, "--key", n.ClientKey,
	}, args...)
	cmd := exec.CommandContext(ctx, n.etcdkv, argv...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("vm: etcdkv %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// WaitEtcd waits until etcd answers a key read from the host (default limit 10
// minutes unless ctx ends earlier) and returns how long that took. Its error
// shows kubelet's journal and the console tail.
func (n *Node) WaitEtcd(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var last error
	for {
		rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
		_, err := n.Etcdkv(rctx, "--timeout", "5s", "count", "erd-vm-probe/")
		rcancel()
		if err == nil {
			return time.Since(t0), nil
		}
		last = err
		select {
		case <-ctx.Done():
			jctx, jcancel := context.WithTimeout(context.Background(), time.Minute)
			j, _ := n.VM.Journal(jctx, "-b -u kubelet -u containerd -n 40")
			jcancel()
			return time.Since(t0), n.VM.failf("etcd did not answer at %s within %s: %v\n--- kubelet/containerd journal:\n%s",
				n.VM.EtcdAddr(), time.Since(t0).Round(time.Second), last, strings.TrimSpace(j))
		case <-time.After(time.Second):
		}
	}
}
