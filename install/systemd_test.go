package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
)

// verifyDropIn runs systemd-analyze verify on a minimal kubelet.service
// extended by dropIn; it returns what systemd-analyze said and whether it
// accepted the unit (exit 0 and no warnings).
func verifyDropIn(t *testing.T, dropIn []byte) (string, bool) {
	t.Helper()
	return verifyUnit(t, "kubelet.service", map[string][]byte{"kubelet.service.d/" + filepath.Base(assets.DropIn.Path): dropIn})
}

// verifyUnit runs systemd-analyze verify on unit in a directory holding
// files and stand-ins for kubelet.service and containerd.service.
func verifyUnit(t *testing.T, unit string, files map[string][]byte) (string, bool) {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze not found (%v): install systemd (apt-get install systemd) to check the kubelet drop-in", err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "kubelet.service", []byte("[Unit]\nDescription=kubelet stand-in\n\n[Service]\nExecStart=/bin/true\n"), 0o644)
	// The drop-in requires containerd.service: a stand-in keeps the check
	// independent of whether this machine has containerd installed yet.
	writeFile(t, dir, "containerd.service", []byte("[Unit]\nDescription=containerd stand-in\n\n[Service]\nExecStart=/bin/true\n"), 0o644)
	for name, b := range files {
		writeFile(t, dir, name, b, 0o644)
	}
	cmd := exec.Command(sa, "verify", "--man=no", filepath.Join(dir, unit))
	// The trailing colon keeps the system's unit path for the units systemd
	// itself brings (mount and slice dependencies).
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+dir+":")
	out, err := cmd.CombinedOutput()
	return string(out), err == nil && strings.TrimSpace(string(out)) == ""
}

func renderDropIn(t *testing.T, binary string) []byte {
	t.Helper()
	return renderAsset(t, assets.DropIn, binary)
}

// renderAsset renders f as install does for kubeadm's paths and binary.
func renderAsset(t *testing.T, f assets.File, binary string) []byte {
	t.Helper()
	a, err := render(f, templateData{Binary: binary, Manifest: "/etc/kubernetes/manifests/etcd.yaml",
		BackupDir: "/var/lib/etcd-ramdisk", ContainerdAddress: "/run/containerd/containerd.sock", Namespace: "k8s.io", DataDir: "/var/lib/etcd"})
	if err != nil {
		t.Fatal(err)
	}
	return a.content
}

func TestDropInSystemdAnalyzeVerify(t *testing.T) {
	self, err := os.Executable() // systemd checks that ExecStartPre and ExecStop exist
	if err != nil {
		t.Fatal(err)
	}
	if out, ok := verifyDropIn(t, renderDropIn(t, self)); !ok {
		t.Errorf("systemd-analyze verify rejects the drop-in:\n%s", out)
	}
}

// The check above must be able to fail: a typo and a missing binary are caught.
func TestDropInSystemdAnalyzeCatchesMistakes(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name, dropIn := range map[string][]byte{
		"unknown key":    append(renderDropIn(t, self), "TimeoutStopSecs=1\n"...),
		"missing binary": renderDropIn(t, "/nonexistent/etcd-ramdisk"),
	} {
		if out, ok := verifyDropIn(t, dropIn); ok {
			t.Errorf("%s: systemd-analyze accepted it (%q)", name, out)
		}
	}
}

// verifyJournalUnit runs systemd-analyze verify on the journal unit beside
// kubelet's stand-in, which it orders itself before.
func verifyJournalUnit(t *testing.T, unit []byte) (string, bool) {
	t.Helper()
	return verifyUnit(t, assets.JournalUnitName, map[string][]byte{assets.JournalUnitName: unit})
}

func TestJournalUnitSystemdAnalyzeVerify(t *testing.T) {
	self, err := os.Executable() // systemd checks that ExecStart exists
	if err != nil {
		t.Fatal(err)
	}
	if out, ok := verifyJournalUnit(t, renderAsset(t, assets.JournalUnit, self)); !ok {
		t.Errorf("systemd-analyze verify rejects the journal unit:\n%s", out)
	}
	for name, unit := range map[string][]byte{
		"unknown key":    append(renderAsset(t, assets.JournalUnit, self), "RestartSecs=1\n"...),
		"missing binary": renderAsset(t, assets.JournalUnit, "/nonexistent/etcd-ramdisk"),
	} {
		if out, ok := verifyJournalUnit(t, unit); ok {
			t.Errorf("%s: systemd-analyze accepted it (%q)", name, out)
		}
	}
}
