package assets_test

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
)

// render fills f's template as install does, for kubeadm's paths and binary.
func render(t *testing.T, f assets.File, binary string) string {
	t.Helper()
	tm := template.Must(template.New(filepath.Base(f.Path)).Option("missingkey=error").Parse(f.Template))
	var b bytes.Buffer
	err := tm.Execute(&b, map[string]string{"Binary": binary, "Manifest": "/etc/kubernetes/manifests/etcd.yaml", "BackupDir": "/var/lib/etcd-ramdisk",
		"ContainerdAddress": "/run/containerd/containerd.sock", "Namespace": "k8s.io", "DataDir": "/var/lib/etcd"})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The table is what install writes and status checks: every entry a distinct
// absolute path, no file or directory writable by others than root, the
// off-host config (it names where every Secret goes) readable by root only.
func TestInstalled(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range assets.Installed {
		if !filepath.IsAbs(f.Path) || filepath.Clean(f.Path) != f.Path || seen[f.Path] {
			t.Errorf("%q: want a distinct clean absolute path", f.Path)
		}
		seen[f.Path] = true
		if f.Mode&0o022 != 0 || f.DirMode&0o022 != 0 || f.Mode&^fs.ModePerm != 0 {
			t.Errorf("%s: mode %v, directory %v: others than root could change it", f.Path, f.Mode, f.DirMode)
		}
	}
	for _, f := range []assets.File{assets.DropIn, assets.Cron, assets.Fstab, assets.OffhostConfig, assets.JournalUnit} {
		if !seen[f.Path] {
			t.Errorf("%s is not in Installed", f.Path)
		}
	}
	if oh := assets.OffhostConfig; oh.Mode != 0o600 || oh.DirMode != 0o700 {
		t.Errorf("off-host config %v in a directory %v, want 0600 in 0700", oh.Mode, oh.DirMode)
	}
	for _, f := range []assets.File{assets.DropIn, assets.Cron, assets.JournalUnit} {
		if !strings.Contains(f.Template, "{{.Binary}}") {
			t.Errorf("%s: template %q does not call the binary", f.Path, f.Template)
		}
	}
	if strings.Contains(filepath.Base(assets.Cron.Path), ".") {
		t.Errorf("cron ignores %s: a dot in the name", assets.Cron.Path)
	}
}
