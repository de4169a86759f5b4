package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	out, err = runApp(t, "version")
	if err != nil || out != "etcd-ramdisk dev\n" {
		t.Errorf("version: %v %q", err, out)
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
	_, err = runApp(t, "install", "--root", root, "--now")
	wantExit(t, err, 2, "--now switches this machine")
	_, err = runApp(t, "uninstall", "extra")
	wantExit(t, err, 2, "no arguments expected")
}
