package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// NodeOptions describe the kubeadm-like node; they are kept in <bed>/node.json so
// that later commands (reboot, kubelet, down) act on the same node.
type NodeOptions struct {
	Image        string `json:"image"`        // etcd image reference
	NodeName     string `json:"nodeName"`     // kubeadm node name, also etcd's member name
	IP           string `json:"ip"`           // advertise address (a loopback address)
	DataHostPath string `json:"dataHostPath"` // hostPath of etcd-data, relative to the bed dir unless absolute; default var/lib/etcd
	TmpfsSize    string `json:"tmpfsSize"`    // size= option of the data tmpfs
	ClientPort   int    `json:"clientPort"`
	PeerPort     int    `json:"peerPort"`
	MetricsPort  int    `json:"metricsPort"`
	QuotaBytes   int64  `json:"quotaBytes"`
	// EtcdExtraArgs: etcd flags as kubeadm's etcd.local.extraArgs (name without "--").
	EtcdExtraArgs map[string]string `json:"etcdExtraArgs,omitempty"`
	// NoTmpfs keeps etcd's data in a plain directory on the bed's (persistent)
	// filesystem instead of a tmpfs: the "etcd on disk" baseline of the benchmarks.
	NoTmpfs bool `json:"noTmpfs,omitempty"`
	// ContainerdBin is a directory with containerd, containerd-shim-runc-v2 and
	// ctr (containerd 2.x from build-containerd2.sh); empty means the containerd
	// on PATH (Debian's 1.6), unless ERD_CONTAINERD_BIN names such a directory.
	ContainerdBin string `json:"containerdBin,omitempty"`
}

func (o *NodeOptions) defaults(bedDir string) {
	if o.Image == "" {
		o.Image = "registry.k8s.io/etcd:3.6.16-0"
	}
	if o.NodeName == "" {
		o.NodeName = "node1"
	}
	if o.IP == "" {
		o.IP = "127.0.0.2"
	}
	if o.DataHostPath == "" {
		o.DataHostPath = "var/lib/etcd"
	}
	if !filepath.IsAbs(o.DataHostPath) {
		o.DataHostPath = filepath.Join(bedDir, o.DataHostPath)
	}
	if o.TmpfsSize == "" {
		o.TmpfsSize = "512m"
	}
	if o.ClientPort == 0 {
		o.ClientPort = 2379
	}
	if o.PeerPort == 0 {
		o.PeerPort = 2380
	}
	if o.MetricsPort == 0 {
		o.MetricsPort = 2381
	}
	if o.ContainerdBin == "" {
		o.ContainerdBin = os.Getenv(ContainerdBinEnv)
	}
	if o.ContainerdBin != "" {
		if abs, err := filepath.Abs(o.ContainerdBin); err == nil {
			o.ContainerdBin = abs
		}
	}
}

// Bed is one kubeadm-like node under one directory: a private containerd with CRI,
// kubeadm's PKI and etcd manifest, the data dir on a real tmpfs, and a kubelet stand-in.
type Bed struct {
	Dir        string
	Containerd *Containerd
	Options    NodeOptions
}

// New returns the bed rooted at dir, loading the node options of a bed already up.
func New(dir string) (*Bed, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b := &Bed{Dir: dir, Containerd: newContainerd(filepath.Join(dir, "containerd"))}
	if raw, err := os.ReadFile(b.optionsPath()); err == nil {
		if err := json.Unmarshal(raw, &b.Options); err != nil {
			return nil, fmt.Errorf("read %s: %w", b.optionsPath(), err)
		}
	}
	b.Options.defaults(dir)
	b.Containerd.BinDir = b.Options.ContainerdBin
	return b, nil
}

func (b *Bed) optionsPath() string { return filepath.Join(b.Dir, "node.json") }

// ManifestPath is the static pod manifest, as /etc/kubernetes/manifests/etcd.yaml on a real node.
func (b *Bed) ManifestPath() string {
	return filepath.Join(b.Dir, "etc/kubernetes/manifests/etcd.yaml")
}

// PKIDir stands for /etc/kubernetes/pki.
func (b *Bed) PKIDir() string { return filepath.Join(b.Dir, "etc/kubernetes/pki") }

// DataDir is the host path of etcd's data, on the tmpfs.
func (b *Bed) DataDir() string { return b.Options.DataHostPath }

// BackupDir stands for /var/lib/etcd-ramdisk on the persistent disk.
func (b *Bed) BackupDir() string { return filepath.Join(b.Dir, "var/lib/etcd-ramdisk") }

// Kubelet returns the kubelet stand-in for this node.
func (b *Bed) Kubelet() *Kubelet {
	return &Kubelet{Address: b.Containerd.Address, Manifest: b.ManifestPath(), NodeName: b.Options.NodeName, LogDir: filepath.Join(b.Dir, "var/log/pods")}
}

// ToolEnv is the environment that points etcd-ramdisk at this node instead of the host's.
func (b *Bed) ToolEnv() []string {
	return []string{
		"ETCD_RAMDISK_MANIFEST=" + b.ManifestPath(),
		"ETCD_RAMDISK_CONTAINERD_ADDRESS=" + b.Containerd.Address,
		"ETCD_RAMDISK_BACKUP_DIR=" + b.BackupDir(),
	}
}

// Up builds and starts the node: PKI, manifest, tmpfs, containerd, images, etcd pod.
// It is idempotent: parts already in place are left as they are.
func (b *Bed) Up(ctx context.Context, o NodeOptions, imageArchives []string) error {
	o.defaults(b.Dir)
	b.Options = o
	b.Containerd.BinDir = o.ContainerdBin
	if err := b.prepareMounts(); err != nil {
		return err
	}
	raw, _ := json.MarshalIndent(o, "", "  ")
	if err := os.WriteFile(b.optionsPath(), raw, 0o644); err != nil {
		return err
	}
	if err := GeneratePKI(b.PKIDir(), PKIOptions{NodeName: o.NodeName, IPs: []net.IP{net.ParseIP(o.IP)}}); err != nil {
		return fmt.Errorf("generate pki: %w", err)
	}
	if err := b.WriteManifest(); err != nil {
		return err
	}
	if o.NoTmpfs {
		if err := os.MkdirAll(b.DataDir(), 0o700); err != nil {
			return err
		}
	} else if !isMountPoint(b.DataDir()) {
		if err := mountTmpfs(b.DataDir(), o.TmpfsSize); err != nil {
			return err
		}
	}
	if err := b.Containerd.Start(ctx); err != nil {
		return err
	}
	if err := b.ImportImages(ctx, imageArchives); err != nil {
		return err
	}
	return b.StartEtcd(ctx)
}

// WriteManifest renders kubeadm's etcd.yaml for the node options.
func (b *Bed) WriteManifest() error {
	o := b.Options
	m, err := RenderManifest(ManifestOptions{
		NodeName: o.NodeName, IP: o.IP, Image: o.Image,
		DataHostPath: o.DataHostPath, CertsHostPath: filepath.Join(b.PKIDir(), "etcd"),
		ClientPort: o.ClientPort, PeerPort: o.PeerPort, MetricsPort: o.MetricsPort, QuotaBackendBytes: o.QuotaBytes,
		ExtraArgs: o.EtcdExtraArgs,
	})
	if err != nil {
		return fmt.Errorf("render manifest: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(b.ManifestPath()), 0o755); err != nil {
		return err
	}
	return os.WriteFile(b.ManifestPath(), m, 0o600)
}

// prepareMounts makes the bed directory a shared mount so that the tmpfs mounted
// in it later propagates into containerd's private mount namespace.
func (b *Bed) prepareMounts() error {
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		return err
	}
	if !isMountPoint(b.Dir) {
		if err := unix.Mount(b.Dir, b.Dir, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind mount %s: %w", b.Dir, err)
		}
	}
	if err := unix.Mount("", b.Dir, "", unix.MS_SHARED, ""); err != nil {
		return fmt.Errorf("make %s shared: %w", b.Dir, err)
	}
	return nil
}

// StartEtcd runs the kubelet stand-in once and waits until etcd answers its health check.
func (b *Bed) StartEtcd(ctx context.Context) error {
	if err := b.Kubelet().Sync(ctx); err != nil {
		return err
	}
	return b.WaitHealthy(ctx, 60*time.Second)
}

// WaitHealthy polls etcd's plain-HTTP health endpoint on the metrics port.
func (b *Bed) WaitHealthy(ctx context.Context, timeout time.Duration) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/health", b.Options.MetricsPort)
	deadline := time.Now().Add(timeout)
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var body struct{ Health string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if body.Health == "true" {
				return nil
			}
			last = "health=" + body.Health
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd not healthy at %s after %s: %s", url, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ImportImages imports OCI archives into the k8s.io namespace and unpacks them for
// the overlayfs snapshotter, skipping images containerd already has.
func (b *Bed) ImportImages(ctx context.Context, archives []string) error {
	cl, err := b.Containerd.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx = namespaces.WithNamespace(ctx, "k8s.io")
	for _, a := range archives {
		if err := importArchive(ctx, cl, a); err != nil {
			return fmt.Errorf("import %s: %w", a, err)
		}
	}
	return nil
}

func importArchive(ctx context.Context, cl *containerd.Client, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	imgs, err := cl.Import(ctx, f)
	if err != nil {
		return err
	}
	for _, img := range imgs {
		if err := containerd.NewImage(cl, img).Unpack(ctx, "overlayfs"); err != nil {
			return fmt.Errorf("unpack %s: %w", img.Name, err)
		}
	}
	return nil
}

// RemoveImage deletes an image from containerd's k8s.io namespace under every
// name it has (tag, repo digest, CRI's image id), as `crictl rmi` does: the
// "containerd lost it" case of the tests.
func (b *Bed) RemoveImage(ctx context.Context, ref string) error {
	cl, err := b.Containerd.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx = namespaces.WithNamespace(ctx, "k8s.io")
	is := cl.ImageService()
	img, err := is.Get(ctx, ref)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	all, err := is.List(ctx, "target.digest=="+img.Target.Digest.String())
	if err != nil {
		return err
	}
	for _, i := range all {
		if err := is.Delete(ctx, i.Name, images.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// Reboot does to the node what a power cycle does: every container dies at once,
// containerd stops, the tmpfs comes back empty, containerd starts again. Like a
// real boot it does not start kubelet: call StartEtcd (or restore first).
func (b *Bed) Reboot(ctx context.Context) error {
	if err := b.Containerd.PowerOff(); err != nil {
		return err
	}
	if b.Options.NoTmpfs { // a disk keeps its data across a power cycle
		return b.Containerd.Start(ctx)
	}
	if isMountPoint(b.DataDir()) {
		if err := unix.Unmount(b.DataDir(), 0); err != nil {
			return fmt.Errorf("unmount %s: %w", b.DataDir(), err)
		}
	}
	if err := mountTmpfs(b.DataDir(), b.Options.TmpfsSize); err != nil {
		return err
	}
	return b.Containerd.Start(ctx)
}

// StopEtcd stops and removes the etcd pod, as kubelet does when the manifest is removed.
func (b *Bed) StopEtcd(ctx context.Context) error { return b.Kubelet().StopPod(ctx) }

// ResetEtcd replaces the cluster with a freshly initialised, empty one (what
// `kubeadm reset` followed by `kubeadm init` does to etcd's data).
func (b *Bed) ResetEtcd(ctx context.Context) error {
	if err := b.StopEtcd(ctx); err != nil {
		return err
	}
	ents, err := os.ReadDir(b.DataDir())
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(b.DataDir(), e.Name())); err != nil {
			return err
		}
	}
	return b.StartEtcd(ctx)
}

// Down ends every process of the node, unmounts everything under it and removes it.
// It works on a half-built or broken bed too, so it is safe as a teardown after failure.
// A process forked while the tree was being killed (containerd cleaning up a
// shim) can outlive one pass, so it goes round a few times before it gives up.
func (b *Bed) Down(ctx context.Context) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = b.down(); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return err
}

func (b *Bed) down() error {
	var errs []error
	errs = append(errs, b.Containerd.PowerOff())
	if b.DataDir() != "" && !strings.HasPrefix(b.DataDir(), b.Dir+"/") && isMountPoint(b.DataDir()) {
		errs = append(errs, unix.Unmount(b.DataDir(), unix.MNT_DETACH))
	}
	errs = append(errs, unmountAllUnder(b.Dir))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.RemoveAll(b.Dir)
}

// EtcdClient runs the etcdkv test client against the node's TLS client endpoint
// with kubeadm's healthcheck-client certificate.
func (b *Bed) EtcdClient(ctx context.Context, etcdkv string, args ...string) (string, error) {
	pki := filepath.Join(b.PKIDir(), "etcd")
	full := append([]string{
		"--endpoint", fmt.Sprintf("https://127.0.0.1:%d", b.Options.ClientPort),
		"--cacert", filepath.Join(pki, "ca.crt"),
		"--cert", filepath.Join(pki, "healthcheck-client.crt"),
		"--key", filepath.Join(pki, "healthcheck-client.key"),
	}, args...)
	cmd := exec.CommandContext(ctx, etcdkv, full...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("etcdkv %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
