package e2e

import (
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// The loss this tool prevents: etcd's data lives on a real tmpfs, so a reboot
// without a backup and restore leaves an empty cluster.
func TestBedRebootLosesTmpfsData(t *testing.T) {
	for _, img := range etcdImages {
		t.Run(img.name, func(t *testing.T) {
			n := newNode(t, testbed.NodeOptions{Image: img.ref})
			n.kv("put", "/registry/demo/key", "before-reboot")
			if got := n.kv("get", "/registry/demo/key"); got != "before-reboot" {
				t.Fatalf("get before reboot = %q", got)
			}
			if !strings.Contains(mountType(t, n.DataDir()), "tmpfs") {
				t.Fatalf("data dir %s is not a tmpfs", n.DataDir())
			}
			n.reboot()
			n.startEtcd()
			if out, err := n.kvErr("get", "/registry/demo/key"); err == nil {
				t.Fatalf("key survived the reboot (%q): the data dir is not a real tmpfs", out)
			}
			if got := n.kv("count", "/registry/"); got != "0" {
				t.Fatalf("keys after reboot = %s, want 0", got)
			}
		})
	}
}

// etcd-ramdisk finds etcd by the labels kubelet puts on containers; the stand-in
// must produce them through CRI exactly as kubelet does.
func TestBedPodCarriesCRILabels(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{NodeName: "cp-7", IP: "127.0.0.3"})
	cl, err := n.Containerd.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := namespaces.WithNamespace(n.ctx, "k8s.io")
	ctrs, err := cl.Containers(ctx, `labels."io.kubernetes.container.name"==etcd`)
	if err != nil {
		t.Fatal(err)
	}
	if len(ctrs) != 1 {
		t.Fatalf("containers labelled etcd = %d, want 1", len(ctrs))
	}
	labels, err := ctrs[0].Labels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"io.kubernetes.container.name": "etcd",
		"io.kubernetes.pod.namespace":  "kube-system",
		"io.kubernetes.pod.name":       "etcd-cp-7",
	}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("label %s = %q, want %q (all: %v)", k, labels[k], v, labels)
		}
	}
	task, err := ctrs[0].Task(ctx, nil)
	if err != nil {
		t.Fatalf("etcd container has no task: %v", err)
	}
	st, err := task.Status(ctx)
	if err != nil || st.Status != "running" {
		t.Fatalf("etcd task status = %v, %v; want running", st.Status, err)
	}
}
