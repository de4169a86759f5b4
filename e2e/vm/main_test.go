// Package vmtest runs etcd-ramdisk against a real kubeadm node in a QEMU (TCG)
// virtual machine (testbed/vm): systemd as PID 1, real kubelet, real reboots,
// power-offs and power cuts. Like the other e2e tests these never skip: a VM
// that cannot run is a failure. Run with `make vm-test` (after `make vm-assets`).
//
// Environment:
//
//	ERD_BIN, ERD_IMAGES   _output/bin and _output/images (default: the repo's)
//	ERD_VM_CACHE          base image cache of testbed/vm/build-rootfs.sh (default /var/cache/erd-vm)
//	ERD_VM_WORK           per-test work dirs (default /var/tmp/erd-vm)
//	ERD_VM_CONTAINERD     "1.6", "2" or "1.6,2" (default): the flavours table tests run
//	ERD_VM_MEMORY_MIB     guest memory (default 2048)
package vmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed/vm"
)

var (
	binDir   = envOr("ERD_BIN", repoPath("_output/bin"))
	imageDir = envOr("ERD_IMAGES", repoPath("_output/images"))
	cacheDir = envOr("ERD_VM_CACHE", vm.DefaultCache)
	workBase = envOr("ERD_VM_WORK", "/var/tmp/erd-vm")
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// repoPath resolves p against the repository root (this package is e2e/vm).
func repoPath(p string) string {
	abs, err := filepath.Abs(filepath.Join("..", "..", p))
	if err != nil {
		return p
	}
	return abs
}

func TestMain(m *testing.M) {
	var problems []string
	if os.Geteuid() != 0 {
		problems = append(problems, "must run as root (QEMU, mke2fs -d with root ownership)")
	}
	for _, f := range []string{"etcd-ramdisk", "kubelet", "kubeadm", "etcd-3.6.16/etcdkv"} {
		if _, err := os.Stat(filepath.Join(binDir, f)); err != nil {
			problems = append(problems, fmt.Sprintf("missing %s in %s (make vm-assets): %v", f, binDir, err))
		}
	}
	for _, c := range containerds() {
		if c == "2" {
			for _, f := range []string{"containerd", "containerd-shim-runc-v2", "ctr"} {
				if _, err := os.Stat(filepath.Join(binDir, "containerd2", f)); err != nil {
					problems = append(problems, fmt.Sprintf("missing containerd2/%s in %s (make vm-assets): %v", f, binDir, err))
				}
			}
		}
		if c != "1.6" && c != "2" {
			problems = append(problems, fmt.Sprintf("ERD_VM_CONTAINERD: %q is neither 1.6 nor 2", c))
		}
	}
	if tars, _ := filepath.Glob(filepath.Join(imageDir, "*.tar")); len(tars) == 0 {
		problems = append(problems, fmt.Sprintf("no image archives in %s (make images)", imageDir))
	}
	base, err := vm.BaseImage(cacheDir)
	if err != nil {
		problems = append(problems, err.Error())
	}
	qemu, err := exec.Command("qemu-system-x86_64", "--version").CombinedOutput()
	if err != nil {
		problems = append(problems, fmt.Sprintf("qemu-system-x86_64: %v (testbed/vm/install-deps.sh)", err))
	}
	if len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "vmtest: the VM test bed cannot run:\n  "+strings.Join(problems, "\n  "))
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "vmtest: %s\n", firstLine(string(qemu)))
	fmt.Fprintf(os.Stderr, "vmtest: base image %s (%s)\n", base, debianVersions(base, "linux-image-amd64", "systemd", "containerd", "runc"))
	kubelet, _ := exec.Command(filepath.Join(binDir, "kubelet"), "--version").Output()
	kubeadm, _ := exec.Command(filepath.Join(binDir, "kubeadm"), "version", "-o", "short").Output()
	fmt.Fprintf(os.Stderr, "vmtest: kubelet %s, kubeadm %s (both legs)\n", strings.TrimPrefix(strings.TrimSpace(string(kubelet)), "Kubernetes "), strings.TrimSpace(string(kubeadm)))
	if out, err := exec.Command(filepath.Join(binDir, "containerd2", "containerd"), "--version").Output(); err == nil {
		fmt.Fprintf(os.Stderr, "vmtest: containerd 2: %s\n", strings.TrimSpace(string(out)))
	}
	fmt.Fprintf(os.Stderr, "vmtest: containerd flavours under test: %s; work dirs under %s\n", strings.Join(containerds(), ", "), workBase)
	os.Exit(m.Run())
}

// debianVersions reads package versions from the base image's packages.txt.
func debianVersions(base string, pkgs ...string) string {
	b, err := os.ReadFile(filepath.Join(base, "packages.txt"))
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		for _, p := range pkgs {
			if len(f) == 2 && f[0] == p {
				out = append(out, p+" "+f[1])
			}
		}
	}
	return strings.Join(out, ", ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
