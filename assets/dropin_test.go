package assets_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
)

// Every directive says why, and the ones that keep etcd safe are there.
// (install's tests run systemd-analyze verify on the rendered drop-in.)
func TestDropIn(t *testing.T) {
	dropIn := wantDirectives(t, assets.DropIn, map[string]string{
		"After":             "containerd.service",
		"Requires":          "containerd.service",
		"RequiresMountsFor": "/var/lib/etcd /var/lib/etcd-ramdisk",
		"ExecStartPre":      erd + "restore", // no "-": a failed restore must keep kubelet from starting an empty etcd
		// After kubelet has exited, not ExecStop: nothing may restart etcd
		// once the shutdown backup has stopped it.
		"ExecStopPost":    erd + "backup --reason shutdown",
		"ExecStop":        "",
		"TimeoutStartSec": "15min",
		"TimeoutStopSec":  "15min",
	})
	if !regexp.MustCompile(`(?m)^# .*"ExecStartPre=-…"`).MatchString(dropIn) {
		t.Error("the comment explaining why ExecStartPre has no \"-\" prefix is gone")
	}
}

// erd is etcd-ramdisk with the global flags install passes on kubeadm's paths.
const erd = "/usr/local/bin/etcd-ramdisk --manifest=/etc/kubernetes/manifests/etcd.yaml --backup-dir=/var/lib/etcd-ramdisk --containerd-address=/run/containerd/containerd.sock --namespace=k8s.io "

// wantDirectives renders f as install does, checks that every directive
// says why and that each of want has its value ("" for none), and returns
// the rendered unit.
func wantDirectives(t *testing.T, f assets.File, want map[string]string) string {
	t.Helper()
	unit := render(t, f, "/usr/local/bin/etcd-ramdisk")
	directives := commentedDirectives(t, unit)
	for k, v := range want {
		if directives[k] != v {
			t.Errorf("%s=%q, want %q", k, directives[k], v)
		}
	}
	return unit
}

// commentedDirectives returns a unit file's directives by key. Each must
// follow a comment (or a directive that does), and none may come twice.
func commentedDirectives(t *testing.T, unit string) map[string]string {
	t.Helper()
	lines := strings.Split(unit, "\n")
	directives := map[string]string{}
	for i, l := range lines {
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "[") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("line %d %q is not a directive", i+1, l)
		}
		if i == 0 || !strings.HasPrefix(lines[i-1], "#") && !strings.Contains(lines[i-1], "=") {
			t.Errorf("%s has no comment saying why", k)
		}
		if _, dup := directives[k]; dup {
			t.Errorf("%s twice", k)
		}
		directives[k] = v
	}
	return directives
}
