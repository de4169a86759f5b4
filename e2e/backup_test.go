package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

type listOutput struct {
	Snapshots []struct {
		Kind    string `json:"kind"`
		ID      string `json:"id"`
		Reason  string `json:"reason"`
		Suspect string `json:"suspect"`
		Image   struct{ Reference, Digest string }
		Etcd    struct {
			Version   string
			Revision  int64
			TotalKeys int64
		}
		RawSize, StoredSize int64
		Member              struct {
			Name, InitialCluster, DataDir string
		}
	} `json:"snapshots"`
	Problems []string `json:"problems"`
}

func (n *node) list() listOutput {
	n.t.Helper()
	r := n.mustTool("list", "--json")
	var out listOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		n.t.Fatalf("list --json: %v\n%s", err, r.stdout)
	}
	return out
}

// runningImageDigest is the manifest digest of the image the etcd container runs.
func (n *node) runningImageDigest() string {
	n.t.Helper()
	cl, err := n.Containerd.Client()
	if err != nil {
		n.t.Fatal(err)
	}
	defer cl.Close()
	ctx := namespaces.WithNamespace(n.ctx, "k8s.io")
	img, err := cl.GetImage(ctx, n.Options.Image)
	if err != nil {
		n.t.Fatal(err)
	}
	return img.Target().Digest.String()
}

// The whole promise, for every etcd release: keys written, backed up, the node
// power-cycled (tmpfs emptied), restored before kubelet starts, every key back.
// Both ways of running etcdctl are exercised: exec in the etcd container and a
// sidecar from the same digest.
func TestBackupRebootRestore(t *testing.T) {
	for _, img := range etcdReleases {
		for _, method := range []string{"exec", "sidecar"} {
			t.Run(img.name+"/"+method, func(t *testing.T) { backupRebootRestore(t, img.ref, method, false) })
		}
	}
}

// The nerdctl backend passes the same test: exec and sidecars through the CLI.
func TestBackupRebootRestoreNerdctl(t *testing.T) {
	if _, err := os.Stat(filepath.Join(binDir, "nerdctl")); err != nil {
		t.Fatalf("nerdctl missing from ERD_BIN (make testbed-bins builds it): %v", err)
	}
	for _, img := range etcdImages {
		for _, method := range []string{"exec", "sidecar"} {
			t.Run(img.name+"/"+method, func(t *testing.T) { backupRebootRestore(t, img.ref, method, true) })
		}
	}
}

func backupRebootRestore(t *testing.T, ref, method string, nerdctl bool) {
	n := newNode(t, testbed.NodeOptions{Image: ref})
	n.nerdctl = nerdctl
	n.kv("put-many", "/registry/pods/", "300")

	r := n.mustTool("backup", "--reason", "manual", "--method", method)
	if !strings.HasPrefix(r.stdout, "good ") || !strings.Contains(r.stdout, "("+method+",") {
		t.Fatalf("backup stdout = %q, want a good snapshot line taken by %s", r.stdout, method)
	}
	if nerdctl && !strings.Contains(r.stderr, "backend=nerdctl") {
		t.Fatalf("backup did not use the nerdctl backend: %s", r.stderr)
	}
	l := n.list()
	if len(l.Snapshots) != 1 || len(l.Problems) != 0 {
		t.Fatalf("list = %+v, want one snapshot and no problems", l)
	}
	s := l.Snapshots[0]
	if s.Image.Reference != ref || s.Image.Digest != n.runningImageDigest() {
		t.Errorf("recorded image %s@%s, want %s@%s", s.Image.Reference, s.Image.Digest, ref, n.runningImageDigest())
	}
	if want := strings.TrimSuffix(ref[strings.LastIndex(ref, ":")+1:], "-0"); s.Etcd.Version != want {
		t.Errorf("recorded etcd version %q, want %q", s.Etcd.Version, want)
	}
	if s.Member.Name != "node1" || s.Member.InitialCluster != "node1=https://127.0.0.2:2380" || s.Member.DataDir != n.DataDir() {
		t.Errorf("recorded member = %+v", s.Member)
	}
	if s.Etcd.TotalKeys < 300 || s.RawSize <= 0 || s.StoredSize <= 0 || s.StoredSize >= s.RawSize {
		t.Errorf("recorded sizes/keys = keys %d raw %d stored %d", s.Etcd.TotalKeys, s.RawSize, s.StoredSize)
	}
	if !strings.Contains(n.mustTool("verify").stdout, "ok   "+s.ID) {
		t.Errorf("verify did not pass %s", s.ID)
	}
	if r := n.mustTool("backup"); !strings.Contains(r.stdout, "unchanged") {
		t.Errorf("second backup without writes: %q, want unchanged", r.stdout)
	}
	if got := len(n.list().Snapshots); got != 1 {
		t.Errorf("snapshots after an idle backup = %d, want 1", got)
	}

	n.reboot()
	r = n.mustTool("restore")
	if !strings.Contains(r.stdout, "restored snapshot "+s.ID) {
		t.Fatalf("restore stdout = %q", r.stdout)
	}
	if fi, err := os.Stat(n.DataDir()); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	n.startEtcd()
	n.kv("check-many", "/registry/pods/", "300")

	// kubelet restarting without a reboot: the member is there, restore does nothing.
	before := dirSnapshot(t, n.DataDir())
	if r := n.mustTool("restore"); !strings.Contains(r.stdout, "nothing to do") {
		t.Errorf("restore on a populated data dir: %q", r.stdout)
	}
	if after := dirSnapshot(t, n.DataDir()); after != before {
		t.Errorf("restore changed a populated data dir:\nbefore %s\nafter  %s", before, after)
	}
}

// dirSnapshot describes a data dir's top level (names and inodes): a no-op
// restore must leave it alone, while the running etcd may still write inside member/.
func dirSnapshot(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(dir, e.Name()), &st); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%d;", e.Name(), st.Ino)
	}
	return b.String()
}

// A manifest whose data hostPath is not /var/lib/etcd, with another member name
// and IP: every container path is mapped through the pod's volumes.
func TestBackupRestoreManifestVariant(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{NodeName: "cp-7", IP: "127.0.0.3", DataHostPath: "mnt/fast/etcd-data"})
	if !strings.HasSuffix(n.DataDir(), "/mnt/fast/etcd-data") || mountType(t, n.DataDir()) != "tmpfs" {
		t.Fatalf("data dir %s (%s), want the variant path on tmpfs", n.DataDir(), mountType(t, n.DataDir()))
	}
	n.kv("put-many", "/registry/v/", "40")
	n.mustTool("backup")
	s := n.list().Snapshots[0]
	if s.Member.Name != "cp-7" || s.Member.InitialCluster != "cp-7=https://127.0.0.3:2380" {
		t.Errorf("recorded member = %+v", s.Member)
	}
	n.reboot()
	n.mustTool("restore")
	n.startEtcd()
	n.kv("check-many", "/registry/v/", "40")
}

// etcd's revision is asked over its JSON gateway: an unchanged cluster's
// backup starts no process in etcd's container, and a changed one's first
// is the save. With the gateway turned off (kubeadm's extraArgs), etcdctl's
// endpoint status answers instead, and the backup is the same.
func TestBackupAsksTheRevision(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     map[string]string
		fallback bool
	}{
		{"over the gateway", nil, false},
		{"gateway off: with etcdctl", map[string]string{"enable-grpc-gateway": "false"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, testbed.NodeOptions{EtcdExtraArgs: tc.args})
			n.kv("put-many", "/registry/r/", "50")
			for _, run := range []string{"changed", "unchanged"} {
				r := n.mustTool("--debug", "backup")
				fellBack := strings.Contains(r.stderr, "JSON gateway did not answer")
				asked := strings.Contains(r.stderr, `step="etcdctl endpoint status"`)
				saved := strings.Contains(r.stderr, `step="etcdctl snapshot save"`)
				if fellBack != tc.fallback || asked != tc.fallback {
					t.Errorf("%s: fell back to etcdctl %v, ran endpoint status %v; want %v", run, fellBack, asked, tc.fallback)
				}
				if saved != (run == "changed") {
					t.Errorf("%s: snapshot save ran %v", run, saved)
				}
				if run == "unchanged" && !strings.Contains(r.stdout, "unchanged at revision") {
					t.Errorf("second backup: %q, want unchanged", r.stdout)
				}
				if !tc.fallback && strings.Contains(r.stderr, `step="etcdctl`) && run == "unchanged" {
					t.Errorf("an unchanged cluster's backup ran etcdctl: %s", tail(r.stderr, 600))
				}
			}
			l := n.list()
			if len(l.Snapshots) != 1 || l.Snapshots[0].Etcd.Version != "3.6.16" {
				t.Errorf("snapshots %+v; want one, with the server's version 3.6.16", l.Snapshots)
			}
			n.reboot()
			n.mustTool("restore")
			n.startEtcd()
			n.kv("check-many", "/registry/r/", "50")
		})
	}
}
