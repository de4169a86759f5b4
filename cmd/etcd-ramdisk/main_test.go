package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/buildinfo"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// runApp runs the command line in-process, as main does, and returns its
// stdout: the Actions' flag reading is what it checks.
func runApp(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	app := newApp()
	app.Writer = &out
	err := app.RunContext(context.Background(), append([]string{"etcd-ramdisk"}, args...))
	return out.String(), err
}

func TestAppReadsFlags(t *testing.T) {
	e := newEnv(t)
	snap := e.writeSnapshot(t, time.Now().Add(-time.Hour), 100, store.Good)
	out, err := runApp(t, "--backup-dir", e.g.BackupDir, "list", "--json")
	if err != nil || !strings.Contains(out, `"id": "`+snap.Meta.ID+`"`) {
		t.Errorf("list --json: %v\n%s", err, out)
	}
	out, err = runApp(t, "--backup-dir", e.g.BackupDir, "--containerd-address", e.g.ContainerdAddress, "verify", snap.Meta.ID)
	wantExit(t, err, 4, e.g.ContainerdAddress)
	if out != "" {
		t.Errorf("verify printed %q", out)
	}
	// version and --version print the same line: name, version, commit, Go
	// version and platform, from the build, never a bare "dev".
	want := "etcd-ramdisk " + buildinfo.Get().String() + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err = runApp(t, args...)
		if err != nil || out != want || !strings.Contains(out, runtime.Version()) || strings.HasPrefix(out, "etcd-ramdisk dev") {
			t.Errorf("%s: %v %q, want %q", args[0], err, out, want)
		}
	}
	// install reads the manifest under --root, at the default path.
	root := t.TempDir()
	manifest, err := os.ReadFile(kubeadmManifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "etc/kubernetes/manifests"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/kubernetes/manifests/etcd.yaml"), manifest, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runApp(t, "--backup-dir", e.g.BackupDir, "install", "--root", root, "--dry-run", "--skip-backup")
	if err != nil || !strings.Contains(out, root) {
		t.Errorf("install --dry-run: %v\n%s", err, out)
	}
	// Without --binary the drop-in calls this executable (the package's
	// /usr/bin/etcd-ramdisk), not a path where no binary may be.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "\nExecStartPre="+self+" ") {
		t.Errorf("install --dry-run: the drop-in does not call %s:\n%s", self, out)
	}
	_, err = runApp(t, "install", "--root", root, "--now")
	wantExit(t, err, 2, "--now switches this machine")
	_, err = runApp(t, "uninstall", "extra")
	wantExit(t, err, 2, "no arguments expected")
}
