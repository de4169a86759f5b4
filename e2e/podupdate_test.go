package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// oldPodUID is the uid of the pod a test starts beside the manifest's: the
// pod kubelet is still killing while it replaces the static pod.
const oldPodUID = "0ld0ld0ld0ld0ld0ld0ld0ld0ld0ld00"

// startOldPod starts a second etcd pod under the manifest's pod name, from
// image, carrying the same CRI labels: what a node shows for a moment while
// kubelet replaces the static pod. It is created after the manifest's pod, so
// "newest created" alone would choose it. Its etcd serves a throwaway cluster
// of its own on other ports and in its own data dir, so the manifest's etcd
// keeps its data and port.
func (n *node) startOldPod(image string) {
	n.t.Helper()
	k := n.Kubelet()
	pod, err := k.ManifestPod()
	if err != nil {
		n.t.Fatal(err)
	}
	const url = "http://127.0.0.9:"
	c := &pod.Spec.Containers[0]
	c.Image, c.Args = image, nil // same mounts as the manifest's, as an old pod has
	c.Command = []string{"etcd", "--name=old", "--data-dir=/tmp/old",
		"--listen-client-urls=" + url + "22379", "--advertise-client-urls=" + url + "22379",
		"--listen-peer-urls=" + url + "22380", "--initial-advertise-peer-urls=" + url + "22380",
		"--initial-cluster=old=" + url + "22380"}
	if err := k.RunPod(n.ctx, pod, oldPodUID); err != nil {
		n.t.Fatalf("start the old pod: %v", err)
	}
	n.t.Cleanup(func() { _ = k.RemovePodUID(n.ctx, oldPodUID) })
	n.waitRunningEtcds(2)
}

func (n *node) removeOldPod() {
	n.t.Helper()
	if err := n.Kubelet().RemovePodUID(n.ctx, oldPodUID); err != nil {
		n.t.Fatalf("remove the old pod: %v", err)
	}
}

// waitRunningEtcds waits until want containers labelled as etcd run.
func (n *node) waitRunningEtcds(want int) {
	n.t.Helper()
	cl, err := n.Containerd.Client()
	if err != nil {
		n.t.Fatal(err)
	}
	defer cl.Close()
	ctx := namespaces.WithNamespace(n.ctx, "k8s.io")
	got := -1
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		ctrs, err := cl.Containers(ctx, `labels."io.kubernetes.container.name"==etcd,labels."io.kubernetes.pod.namespace"==kube-system`)
		if err != nil {
			n.t.Fatal(err)
		}
		got = 0
		for _, c := range ctrs {
			if t, err := c.Task(ctx, nil); err == nil {
				if st, err := t.Status(ctx); err == nil && st.Status == containerd.Running {
					got++
				}
			}
		}
		if got == want {
			return
		}
	}
	n.t.Fatalf("running etcd containers = %d, want %d", got, want)
}

func (n *node) imageDigest(ref string) string {
	n.t.Helper()
	cl, err := n.Containerd.Client()
	if err != nil {
		n.t.Fatal(err)
	}
	defer cl.Close()
	img, err := cl.GetImage(namespaces.WithNamespace(n.ctx, "k8s.io"), ref)
	if err != nil {
		n.t.Fatal(err)
	}
	return img.Target().Digest.String()
}

// newestRecordsImage checks the newest snapshot: from etcd at wantVersion, and
// recorded with image ref.
func (n *node) newestRecordsImage(ref, wantVersion string) {
	n.t.Helper()
	l := n.list()
	if len(l.Snapshots) == 0 {
		n.t.Fatal("no snapshot listed")
	}
	s := l.Snapshots[0]
	if s.Image.Reference != ref || s.Image.Digest != n.imageDigest(ref) {
		n.t.Errorf("snapshot %s records image %s (%s); want the manifest's %s (%s)", s.ID, s.Image.Reference, s.Image.Digest, ref, n.imageDigest(ref))
	}
	if !strings.HasPrefix(s.Etcd.Version, wantVersion) {
		n.t.Errorf("snapshot %s is of etcd %s; want the manifest's etcd %s", s.ID, s.Etcd.Version, wantVersion)
	}
}

// The real kubelet replaces a static pod by starting the new pod before the
// old one is gone: for a moment two running containers carry etcd's labels.
// A cron backup in that window snapshots the etcd of the manifest's image and
// records that image, whichever pod is newer; it waits for the overlap to end
// when it can, and when it cannot tell, it exits 13 and writes nothing.
func TestBackupDuringStaticPodUpdate(t *testing.T) {
	for i, img := range etcdImages {
		other := etcdImages[1-i]
		version := strings.TrimSuffix(strings.TrimPrefix(img.ref, "registry.k8s.io/etcd:"), "-0")
		t.Run(img.name, func(t *testing.T) {
			n := newNode(t, testbed.NodeOptions{Image: img.ref})
			n.kv("put-many", "/registry/pu/a/", "50")
			n.startOldPod(other.ref)
			quick := []string{"ETCD_RAMDISK_POD_UPDATE_WAIT=3s"}

			// The overlap outlasts the wait: the manifest's image decides.
			r := n.toolEnv(quick, "backup", "--reason", "cron")
			if r.code != 0 || !strings.HasPrefix(r.stdout, "good ") || !strings.Contains(r.stderr, "kubelet was replacing the etcd pod") {
				t.Fatalf("backup during the overlap: exit %d, stdout %q; want a good snapshot and a log of the choice", r.code, r.stdout)
			}
			n.newestRecordsImage(img.ref, version)
			if t.Failed() || i > 0 {
				return
			}

			// The overlap ends within the wait: the backup waits for it.
			n.kv("put-many", "/registry/pu/b/", "50")
			done := make(chan result, 1)
			start := time.Now()
			go func() { done <- n.toolEnv([]string{"ETCD_RAMDISK_POD_UPDATE_WAIT=60s"}, "backup", "--reason", "cron") }()
			time.Sleep(3 * time.Second)
			n.removeOldPod()
			r = <-done
			took := time.Since(start)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "good ") || took < 3*time.Second || took > 40*time.Second {
				t.Fatalf("backup while the old pod goes away: exit %d after %s, stdout %q; want a good snapshot once it has gone", r.code, took, r.stdout)
			}
			n.newestRecordsImage(img.ref, version)

			// A flag-only edit: both pods from the manifest's image; the newer is used.
			n.kv("put-many", "/registry/pu/c/", "50")
			n.startOldPod(img.ref)
			if r := n.toolEnv(quick, "backup", "--reason", "cron"); r.code != 0 || !strings.HasPrefix(r.stdout, "good ") {
				t.Fatalf("backup with two pods of the same image: exit %d", r.code)
			}
			n.newestRecordsImage(img.ref, version)
			n.removeOldPod()

			// Neither running pod is the manifest's image: refuse, plainly.
			n.kv("put-many", "/registry/pu/d/", "50")
			n.startOldPod(other.ref)
			manifest, err := os.ReadFile(n.ManifestPath())
			if err != nil {
				t.Fatal(err)
			}
			edited := strings.Replace(string(manifest), "image: "+img.ref, "image: "+testbed.PauseImage, 1)
			if err := os.WriteFile(n.ManifestPath(), []byte(edited), 0o600); err != nil {
				t.Fatal(err)
			}
			before := len(n.list().Snapshots)
			r = n.toolEnv(quick, "backup", "--reason", "cron")
			if r.code != 13 || !strings.Contains(r.stderr, "none from the manifest's image") || !strings.Contains(r.stderr, "nothing was done") {
				t.Errorf("backup with no pod from the manifest's image: exit %d; want 13 saying none is the manifest's", r.code)
			}
			if after := len(n.list().Snapshots); after != before {
				t.Errorf("snapshots %d → %d; a refused backup must write nothing", before, after)
			}
			if err := os.WriteFile(n.ManifestPath(), manifest, 0o600); err != nil {
				t.Fatal(err)
			}
		})
	}
}
