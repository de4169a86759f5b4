package vmtest

import (
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed/vm"
)

// TestVMNodeSmoke: a VM boots, becomes a kubeadm etcd node (etcd on disk), takes
// a key over TLS through the port forward, reboots with systemctl, and has the
// key after etcd is healthy again. Prints the timings.
func TestVMNodeSmoke(t *testing.T) {
	forEachContainerd(t, func(t *testing.T, containerd string) {
		t0 := time.Now()
		v := startVM(t, containerd)
		boot := time.Since(t0)

		t1 := time.Now()
		n, err := v.SetupNode(ctxFor(t, 20*time.Minute), vm.NodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		setup := time.Since(t1)

		ctx := ctxFor(t, 30*time.Minute)
		if mnt, _ := v.Run(ctx, "findmnt -n -o FSTYPE --target /var/lib/etcd"); strings.TrimSpace(mnt) != "ext4" {
			t.Fatalf("etcd's data dir should be on the root disk before install, findmnt says %q", mnt)
		}
		if skew := clockSkew(t, v); skew > time.Minute || skew < -time.Minute {
			t.Fatalf("the guest's clock is %s off the host's", skew)
		}
		want := "value-" + containerd
		if _, err := n.Etcdkv(ctx, "put", "smoke/key", want); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Etcdkv(ctx, "put-many", "smoke/many/", "100"); err != nil {
			t.Fatal(err)
		}

		rb, err := v.Reboot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		healthy, err := n.WaitEtcd(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := n.Etcdkv(ctx, "get", "smoke/key")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(got) != want {
			t.Fatalf("after reboot smoke/key = %q, want %q", got, want)
		}
		if out, err := n.Etcdkv(ctx, "check-many", "smoke/many/", "100"); err != nil {
			t.Fatalf("after reboot: %v %s", err, out)
		}
		cver, _ := v.Run(ctx, "containerd --version")
		t.Logf("TIMINGS containerd %s (%s): boot to SSH+running %s; SetupNode %s; reboot shutdown %s, boot %s; etcd healthy %s after SSH; total %s; watchdog restarts %d",
			containerd, strings.TrimSpace(cver), round(boot), round(setup), round(rb.Shutdown), round(rb.Boot), round(healthy), round(time.Since(t0)), v.Restarts())
	})
}
