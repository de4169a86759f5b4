package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// leftoverSidecar returns the spec of the one sidecar a killed run left behind.
func (n *node) leftoverSidecar() *specs.Spec {
	n.t.Helper()
	cl, err := n.Containerd.Client()
	if err != nil {
		n.t.Fatal(err)
	}
	defer cl.Close()
	ctx := namespaces.WithNamespace(n.ctx, "k8s.io")
	ctrs, err := cl.Containers(ctx, `labels."io.etcd-ramdisk.sidecar"`)
	if err != nil || len(ctrs) != 1 {
		n.t.Fatalf("sidecars left = %d (%v), want 1", len(ctrs), err)
	}
	spec, err := ctrs[0].Spec(ctx)
	if err != nil {
		n.t.Fatal(err)
	}
	return spec
}

func hasNamespace(s *specs.Spec, typ specs.LinuxNamespaceType) bool {
	return slices.ContainsFunc(s.Linux.Namespaces, func(ns specs.LinuxNamespace) bool { return ns.Type == typ })
}

func bindMountsOf(s *specs.Spec) map[string]bool {
	out := map[string]bool{}
	for _, m := range s.Mounts {
		if m.Type == "bind" && !slices.Contains([]string{"/etc/hosts", "/etc/resolv.conf"}, m.Destination) {
			out[m.Destination] = slices.Contains(m.Options, "ro")
		}
	}
	return out
}

// Sidecars are locked down: read-only root, no new privileges, no capabilities,
// and only the mounts they need (certificates read-only); the restore sidecar has
// no network. A leftover from a killed run is removed by the next run.
func TestSidecarsAreLockedDown(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("put", "/registry/s", "1")
	n.killAt("sidecar-created", "backup", "--method", "sidecar")
	s := n.leftoverSidecar()
	checkLockedDown(t, "backup sidecar", s)
	if hasNamespace(s, specs.NetworkNamespace) {
		t.Error("backup sidecar: want the host network to reach etcd on loopback")
	}
	want := map[string]bool{"/etc/kubernetes/pki/etcd": true, "/var/lib/etcd-ramdisk-staging": false}
	if got := bindMountsOf(s); !mapsEqual(got, want) {
		t.Errorf("backup sidecar bind mounts (dest→read-only) = %v, want %v", got, want)
	}
	n.mustTool("backup")

	n.reboot()
	n.killAt("sidecar-created", "restore")
	s = n.leftoverSidecar()
	checkLockedDown(t, "restore sidecar", s)
	if !hasNamespace(s, specs.NetworkNamespace) {
		t.Error("restore sidecar: want a network namespace of its own (no network)")
	}
	// The snapshot read-only; only the work dir it restores into is writable.
	want = map[string]bool{"/var/lib/etcd-ramdisk-restore/in": true, "/var/lib/etcd-ramdisk-restore/out": false}
	if got := bindMountsOf(s); !mapsEqual(got, want) {
		t.Errorf("restore sidecar bind mounts (dest→read-only) = %v, want %v", got, want)
	}
	n.mustTool("restore")
	n.startEtcd()
	if got := n.kv("get", "/registry/s"); got != "1" {
		t.Errorf("key after restore = %q", got)
	}
}

func checkLockedDown(t *testing.T, what string, s *specs.Spec) {
	t.Helper()
	if s.Root == nil || !s.Root.Readonly {
		t.Errorf("%s: root filesystem is writable", what)
	}
	if !s.Process.NoNewPrivileges {
		t.Errorf("%s: new privileges allowed", what)
	}
	if c := s.Process.Capabilities; c != nil && (len(c.Bounding)+len(c.Effective)+len(c.Permitted)) > 0 {
		t.Errorf("%s: capabilities %v", what, c.Bounding)
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// Snapshots and metadata are 0600 in a 0700 root-owned backup dir.
func TestStoreFileModes(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("put", "/registry/m", "1")
	n.mustTool("backup")
	err := filepath.Walk(n.BackupDir(), func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != 0 {
			t.Errorf("%s not owned by root", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
