package install

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
)

// With off-host settings, install writes them root-only in a root-only
// directory; a second install with the same settings changes nothing, and
// new settings replace them.
func TestInstallOffhostConfig(t *testing.T) {
	root := newRoot(t)
	o := options(root)
	o.OffhostConfigPath, o.OffhostConfig = "/etc/etcd-ramdisk/offhost.yaml", []byte("dir: /mnt/nas\nrecipients: [age1x]\n")
	node := &fakeNode{}
	res, err := Install(context.Background(), node.deps(), o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, o.OffhostConfigPath)
	if s := res.Files()[path]; s != StatusCreated {
		t.Errorf("first install: %s %q, want created", path, s)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config %v %v, want mode 0600", fi, err)
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("config dir %v %v, want mode 0700", di, err)
	}
	if res, _ := Install(context.Background(), node.deps(), o); res.Files()[path] != StatusUnchanged {
		t.Errorf("second install: %q, want unchanged", res.Files()[path])
	}
	o.OffhostConfig = []byte("dir: /mnt/other\nrecipients: [age1x]\n")
	if res, _ := Install(context.Background(), node.deps(), o); res.Files()[path] != StatusUpdated {
		t.Errorf("install with new settings: %q, want updated", res.Files()[path])
	}
	if b, _ := os.ReadFile(path); string(b) != string(o.OffhostConfig) {
		t.Errorf("config holds %q", b)
	}
}

// assets.Installed is the table of what install writes: on a node without an
// fstab and with off-host settings, install writes exactly its files, each
// with its mode.
func TestInstallWritesInstalled(t *testing.T) {
	root := newRoot(t)
	if err := os.Remove(filepath.Join(root, assets.Fstab.Path)); err != nil {
		t.Fatal(err)
	}
	o := options(root)
	o.OffhostConfigPath, o.OffhostConfig = assets.OffhostConfig.Path, []byte("dir: /mnt/nas\n")
	res, err := Install(context.Background(), (&fakeNode{}).deps(), o)
	if err != nil {
		t.Fatal(err)
	}
	written := res.Files()
	for _, f := range assets.Installed {
		path := filepath.Join(root, f.Path)
		if written[path] != StatusCreated {
			t.Errorf("%s: %q, want created", f.Path, written[path])
		}
		delete(written, path)
		if fi, err := os.Stat(path); err != nil || fi.Mode() != f.Mode {
			t.Errorf("%s: %v %v, want mode %v", f.Path, fi, err, f.Mode)
		}
	}
	if len(written) > 0 {
		t.Errorf("install wrote %v, which assets.Installed does not list", written)
	}
}
