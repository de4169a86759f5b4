package install

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/kubelet"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

const (
	journalUnit = "etcd-ramdisk-journal.service"
	goldenDir   = "testdata/golden/install"
	dataDir     = "/var/lib/etcd"
	fstabBefore = "# /etc/fstab: static file system information.\n#\n# <file system> <mount point>   <type>  <options>       <dump>  <pass>\nUUID=0a1b / ext4 errors=remount-ro 0 1\n\n/swapfile none swap sw 0 0" // no final newline: must survive
)

// fakeNode records, in order, every side effect Install and Uninstall ask for.
type fakeNode struct {
	calls   []string
	mounted bool
	euid    int
	fail    map[string]error // by call
}

func (f *fakeNode) call(c string) error {
	f.calls = append(f.calls, c)
	return f.fail[c]
}

func (f *fakeNode) deps() Deps {
	return Deps{
		Backup: func(_ context.Context, m *manifest.Etcd, reason, from string) (string, error) {
			if m == nil || m.Member.HostDataDir != dataDir {
				return "", errors.New("backup without the parsed manifest")
			}
			if from == backup.FromDataDir {
				reason += " from data-dir"
			}
			return "snapshot fake verified", f.call("backup " + reason)
		},
		StopEtcd: func(_ context.Context, m *manifest.Etcd) error {
			if m == nil || m.Namespace != "kube-system" {
				return errors.New("stop etcd without the parsed manifest")
			}
			return f.call("stop etcd")
		},
		Run: func(_ context.Context, argv []string) error {
			if strings.HasSuffix(argv[0], "etcd-ramdisk") {
				return f.call("etcd-ramdisk " + argv[len(argv)-1])
			}
			return f.call(strings.Join(argv, " "))
		},
		Mounted: func(dir string) (bool, error) {
			if dir != dataDir {
				return false, errors.New("asked about " + dir)
			}
			return f.mounted, nil
		},
		Geteuid: func() int { return f.euid },
	}
}

// newRoot is a kubeadm node's root: the etcd manifest, an fstab with other
// lines, cron's directory with another table, a systemd unit.
func newRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	m, err := testbed.RenderManifest(testbed.ManifestOptions{NodeName: "cp1", IP: "192.168.56.10", Image: "registry.k8s.io/etcd:3.6.16-0"})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "/etc/kubernetes/manifests/etcd.yaml", m, 0o600)
	writeFile(t, root, "/etc/fstab", []byte(fstabBefore), 0o664)
	writeFile(t, root, "/etc/cron.d/e2scrub_all", []byte("30 3 * * 0 root test -e /run/systemd/system || SERVICE_MODE=1 /usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron\n"), 0o644)
	writeFile(t, root, "/etc/systemd/system/multi-user.target.wants/cron.service", []byte("[Unit]\n"), 0o644)
	writeFile(t, root, "/usr/local/bin/etcd-ramdisk", []byte("#!/bin/sh\n"), 0o755)
	return root
}

func writeFile(t *testing.T, root, path string, data []byte, mode fs.FileMode) {
	t.Helper()
	p := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func options(root string) Options {
	return Options{Root: root, Binary: "/usr/local/bin/etcd-ramdisk", Manifest: "/etc/kubernetes/manifests/etcd.yaml",
		BackupDir: "/var/lib/etcd-ramdisk", ContainerdAddress: "/run/containerd/containerd.sock", Namespace: "k8s.io"}
}

type entry struct {
	mode    fs.FileMode
	content string
	mtime   time.Time
}

// tree lists every file and directory under root with its mode, content and mtime.
func tree(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{mode: fi.Mode(), mtime: fi.ModTime()}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.content = string(b)
		}
		rel, _ := filepath.Rel(root, p)
		out["/"+filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diffTrees names the paths whose presence, mode or content differ (and mtime
// when withTime), so failures say what moved.
func diffTrees(a, b map[string]entry, withTime bool) []string {
	var out []string
	for p, ea := range a {
		eb, ok := b[p]
		switch {
		case !ok:
			out = append(out, "-"+p)
		case ea.mode != eb.mode || ea.content != eb.content || (withTime && !ea.mode.IsDir() && !ea.mtime.Equal(eb.mtime)):
			out = append(out, "~"+p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, "+"+p)
		}
	}
	slices.Sort(out)
	return out
}

// The files install writes, where it writes them: compared byte for byte with
// testdata/golden (go test ./install -update rewrites them).
var installed = []string{
	"/etc/cron.d/etcd-ramdisk",
	"/etc/fstab",
	"/etc/systemd/system/kubelet.service.d/20-etcd-ramdisk.conf",
	"/etc/systemd/system/etcd-ramdisk-journal.service",
}

func TestInstallGolden(t *testing.T) {
	root := newRoot(t)
	before := tree(t, root)
	res, err := Install(context.Background(), (&fakeNode{}).deps(), options(root))
	if err != nil {
		t.Fatal(err)
	}
	after := tree(t, root)
	want := []string{"+/etc/cron.d/etcd-ramdisk", "+/etc/systemd/system/etcd-ramdisk-journal.service", "+/etc/systemd/system/kubelet.service.d", "+/etc/systemd/system/kubelet.service.d/20-etcd-ramdisk.conf", "~/etc/fstab"}
	if got := diffTrees(before, after, false); !slices.Equal(got, want) {
		t.Errorf("install changed %v, want %v", got, want)
	}
	for _, p := range installed {
		golden := filepath.Join(goldenDir, p)
		if *update {
			writeFile(t, ".", golden, []byte(after[p].content), 0o644)
			continue
		}
		b, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if after[p].content != string(b) {
			t.Errorf("%s differs from %s (go test ./install -update rewrites it):\n%s", p, golden, after[p].content)
		}
	}
	for p, mode := range map[string]fs.FileMode{installed[0]: 0o644, installed[1]: 0o664, installed[2]: 0o644, installed[3]: 0o644} {
		if after[p].mode != mode {
			t.Errorf("%s: mode %v, want %v", p, after[p].mode, mode)
		}
	}
	wantFiles := map[string]string{}
	for _, p := range installed {
		wantFiles[filepath.Join(root, p)] = StatusCreated
	}
	wantFiles[filepath.Join(root, "/etc/fstab")] = StatusUpdated
	if got := res.Files(); !mapsEqual(got, wantFiles) {
		t.Errorf("reported %v, want %v", got, wantFiles)
	}
	if cmds := res.Commands(); len(cmds) != 0 {
		t.Errorf("ran %v under --root", cmds)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestInstallTwiceChangesNothing(t *testing.T) {
	root := newRoot(t)
	node := &fakeNode{}
	if _, err := Install(context.Background(), node.deps(), options(root)); err != nil {
		t.Fatal(err)
	}
	first := tree(t, root)
	res, err := Install(context.Background(), node.deps(), options(root))
	if err != nil {
		t.Fatal(err)
	}
	if d := diffTrees(first, tree(t, root), true); len(d) > 0 {
		t.Errorf("second install changed %v", d)
	}
	files := res.Files()
	if len(files) != len(installed) {
		t.Errorf("second install reported %v", files)
	}
	for p, s := range files {
		if s != StatusUnchanged {
			t.Errorf("second install: %s %s, want unchanged", s, p)
		}
	}
	if want := []string{"backup install", "backup install"}; !slices.Equal(node.calls, want) {
		t.Errorf("calls %v, want %v", node.calls, want)
	}
}

func TestUninstallRestoresTree(t *testing.T) {
	root := newRoot(t)
	before := tree(t, root)
	if _, err := Install(context.Background(), (&fakeNode{}).deps(), options(root)); err != nil {
		t.Fatal(err)
	}
	node := &fakeNode{}
	res, err := Uninstall(context.Background(), node.deps(), options(root))
	if err != nil {
		t.Fatal(err)
	}
	after := tree(t, root)
	if d := diffTrees(before, after, false); len(d) > 0 {
		t.Errorf("install then uninstall changed %v", d)
	}
	if before["/etc/fstab"].content != after["/etc/fstab"].content {
		t.Errorf("fstab %q, want %q", after["/etc/fstab"].content, before["/etc/fstab"].content)
	}
	if len(node.calls) != 0 {
		t.Errorf("uninstall --root called %v", node.calls)
	}
	if got := res.Files(); got[filepath.Join(root, installed[2])] != StatusRemoved || got[filepath.Join(root, installed[0])] != StatusRemoved || got[filepath.Join(root, installed[1])] != StatusUpdated {
		t.Errorf("reported %v", got)
	}

	res, err = Uninstall(context.Background(), node.deps(), options(root))
	if err != nil {
		t.Fatal(err)
	}
	if d := diffTrees(after, tree(t, root), true); len(d) > 0 {
		t.Errorf("second uninstall changed %v", d)
	}
	if len(res.Steps) != 1 || res.Steps[0].Text != "not installed: nothing to do" || len(node.calls) != 0 {
		t.Errorf("second uninstall: steps %+v, calls %v", res.Steps, node.calls)
	}
}

func TestInstallBackupFailureWritesNothing(t *testing.T) {
	root := newRoot(t)
	before := tree(t, root)
	o := options(root)
	o.live = true
	node := &fakeNode{fail: map[string]error{"backup install": errors.New("etcd is not running")}}
	_, err := Install(context.Background(), node.deps(), o)
	if err == nil || !strings.Contains(err.Error(), "etcd is not running") {
		t.Fatalf("got %v, want the backup's error", err)
	}
	if d := diffTrees(before, tree(t, root), true); len(d) > 0 {
		t.Errorf("failed install changed %v", d)
	}
	if want := []string{"backup install"}; !slices.Equal(node.calls, want) {
		t.Errorf("calls %v, want %v", node.calls, want)
	}
}

func TestInstallNotRoot(t *testing.T) {
	root := newRoot(t)
	before := tree(t, root)
	o := options(root)
	o.live = true
	node := &fakeNode{euid: 1000}
	if _, err := Install(context.Background(), node.deps(), o); !errors.Is(err, ErrNotRoot) {
		t.Fatalf("got %v, want ErrNotRoot", err)
	}
	if _, err := Uninstall(context.Background(), node.deps(), o); !errors.Is(err, ErrNotRoot) {
		t.Fatalf("uninstall: got %v, want ErrNotRoot", err)
	}
	if d := diffTrees(before, tree(t, root), true); len(d) > 0 || len(node.calls) > 0 {
		t.Errorf("changed %v, called %v", d, node.calls)
	}
	o.DryRun = true // allowed without root
	if _, err := Install(context.Background(), node.deps(), o); err != nil {
		t.Errorf("dry run as non-root: %v", err)
	}
}

func TestInstallPreflight(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, root string, o *Options)
		want   string
	}{
		{"binary missing", func(t *testing.T, root string, o *Options) { o.Binary = "/usr/bin/etcd-ramdisk" }, "is not an executable"},
		{"binary not executable", func(t *testing.T, root string, o *Options) {
			writeFile(t, root, o.Binary, []byte("x"), 0o644)
		}, "is not an executable"},
		{"no cron", func(t *testing.T, root string, o *Options) { os.RemoveAll(filepath.Join(root, "/etc/cron.d")) }, "is cron installed"},
		{"relative binary", func(t *testing.T, root string, o *Options) { o.Binary = "etcd-ramdisk" }, "must be an absolute path"},
		{"percent in path", func(t *testing.T, root string, o *Options) { o.BackupDir = "/var/lib/erd%h" }, "must be an absolute path"},
		{"no manifest", func(t *testing.T, root string, o *Options) { o.Manifest = "/etc/kubernetes/manifests/none.yaml" }, "none.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t)
			o := options(root)
			o.live = true
			tc.break_(t, root, &o)
			before := tree(t, root)
			node := &fakeNode{}
			_, err := Install(context.Background(), node.deps(), o)
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a ConfigError mentioning %q", err, tc.want)
			}
			if d := diffTrees(before, tree(t, root), true); len(d) > 0 || len(node.calls) > 0 {
				t.Errorf("changed %v, called %v", d, node.calls)
			}
		})
	}
}

func TestInstallLive(t *testing.T) {
	for _, tc := range []struct {
		name    string
		now     bool
		mounted bool
		want    []string
		next    bool
	}{
		{"reboot later", false, false, []string{"backup install", "systemctl daemon-reload", "systemctl enable " + journalUnit}, true},
		{"now", true, false, []string{"backup install", "systemctl daemon-reload", "systemctl enable " + journalUnit, "systemctl stop kubelet", "stop etcd", "backup install from data-dir", "mount /var/lib/etcd", "etcd-ramdisk restore", "systemctl start kubelet", "systemctl restart " + journalUnit}, false},
		{"now, already on tmpfs", true, true, []string{"backup install", "systemctl daemon-reload", "systemctl enable " + journalUnit, "systemctl restart " + journalUnit}, false},
		{"already on tmpfs", false, true, []string{"backup install", "systemctl daemon-reload", "systemctl enable " + journalUnit, "systemctl restart " + journalUnit}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t)
			o := options(root)
			o.live, o.Now = true, tc.now
			node := &fakeNode{mounted: tc.mounted}
			res, err := Install(context.Background(), node.deps(), o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(node.calls, tc.want) {
				t.Errorf("calls %v, want %v", node.calls, tc.want)
			}
			if (len(res.Next) > 0) != tc.next {
				t.Errorf("next %q", res.Next)
			}
			// A second run finds the drop-in and the journal unit in place:
			// no daemon-reload, and the journal is left as it is.
			node.calls, node.mounted = nil, true
			if _, err := Install(context.Background(), node.deps(), o); err != nil {
				t.Fatal(err)
			}
			if want := []string{"backup install"}; !slices.Equal(node.calls, want) {
				t.Errorf("second run: calls %v, want %v", node.calls, want)
			}
		})
	}
}

func TestInstallNowRestoreFailureLeavesKubeletStopped(t *testing.T) {
	root := newRoot(t)
	o := options(root)
	o.live, o.Now = true, true
	node := &fakeNode{fail: map[string]error{"etcd-ramdisk restore": exitError(t, 7)}}
	_, err := Install(context.Background(), node.deps(), o)
	if err == nil || !strings.Contains(err.Error(), "kubelet left stopped") {
		t.Fatalf("got %v", err)
	}
	// restore's own exit code goes through, for install to exit with it.
	var te *ToolExit
	if !errors.As(err, &te) || te.Code != 7 {
		t.Errorf("got %v, want a ToolExit with restore's code 7", err)
	}
	if slices.Contains(node.calls, "systemctl start kubelet") {
		t.Errorf("started kubelet after a failed restore: %v", node.calls)
	}
}

// exitError is what exec returns for a process that exited with code.
func exitError(t *testing.T, code int) error {
	t.Helper()
	err := exec.Command("sh", "-c", fmt.Sprintf("exit %d", code)).Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != code {
		t.Fatalf("sh exit %d: %v", code, err)
	}
	return err
}

func TestDryRunWritesNothing(t *testing.T) {
	root := newRoot(t)
	before := tree(t, root)
	o := options(root)
	o.live, o.Now, o.DryRun = true, true, true
	node := &fakeNode{euid: 1000}
	res, err := Install(context.Background(), node.deps(), o)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffTrees(before, tree(t, root), true); len(d) > 0 || len(node.calls) > 0 {
		t.Errorf("dry run changed %v, called %v", d, node.calls)
	}
	var out bytes.Buffer
	res.Report(&out)
	golden, err := os.ReadFile(filepath.Join(goldenDir, installed[2]))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"would take and verify a backup (reason install)",
		"would create " + filepath.Join(root, installed[2]) + ":\n" + string(golden) + "---\n",
		"would create " + filepath.Join(root, installed[0]) + ":\n",
		"would update " + filepath.Join(root, installed[1]) + ":\n" + fstabBefore + "\n" + hostfs.FstabMarker + "\ntmpfs /var/lib/etcd tmpfs",
		"would create " + filepath.Join(root, installed[3]) + ":\n",
		"would run: systemctl daemon-reload\nwould run: systemctl enable etcd-ramdisk-journal.service\nwould run: systemctl stop kubelet\nwould stop the etcd container through containerd\nwould copy the stopped etcd's data dir into a verified snapshot (reason install): it holds every write etcd acknowledged\nwould run: mount /var/lib/etcd\nwould run: /usr/local/bin/etcd-ramdisk --manifest=/etc/kubernetes/manifests/etcd.yaml --backup-dir=/var/lib/etcd-ramdisk --containerd-address=/run/containerd/containerd.sock --namespace=k8s.io restore\nwould run: systemctl start kubelet\nwould run: systemctl restart etcd-ramdisk-journal.service\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestUninstallLive(t *testing.T) {
	root := newRoot(t)
	o := options(root)
	if _, err := Install(context.Background(), (&fakeNode{}).deps(), o); err != nil {
		t.Fatal(err)
	}
	// What was on disk under the tmpfs since install: must not come back as etcd's data.
	writeFile(t, root, "/var/lib/etcd/member/snap/db", []byte("stale"), 0o600)
	o.live = true
	node := &fakeNode{mounted: true}
	if _, err := Uninstall(context.Background(), node.deps(), o); err != nil {
		t.Fatal(err)
	}
	want := []string{"backup manual", "systemctl stop kubelet", "stop etcd", "backup manual from data-dir", "umount /var/lib/etcd", "etcd-ramdisk restore", "systemctl disable --now " + journalUnit, "systemctl daemon-reload", "systemctl start kubelet"}
	if !slices.Equal(node.calls, want) {
		t.Errorf("calls %v, want %v", node.calls, want)
	}
	if _, err := os.Stat(filepath.Join(root, "/var/lib/etcd/member")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale member/ still in the data dir: %v", err)
	}
	aside, _ := filepath.Glob(filepath.Join(root, "/var/lib/etcd/member.before-etcd-ramdisk-*/snap/db"))
	if len(aside) != 1 {
		t.Errorf("stale data not moved aside: %v", aside)
	}
	for _, p := range []string{installed[0], installed[2], installed[3]} {
		if _, err := os.Stat(filepath.Join(root, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
}

func TestUninstallRestoreFailureKeepsInstall(t *testing.T) {
	root := newRoot(t)
	o := options(root)
	if _, err := Install(context.Background(), (&fakeNode{}).deps(), o); err != nil {
		t.Fatal(err)
	}
	installedTree := tree(t, root)
	o.live = true
	node := &fakeNode{mounted: true, fail: map[string]error{"etcd-ramdisk restore": errors.New("exit status 7")}}
	if _, err := Uninstall(context.Background(), node.deps(), o); err == nil {
		t.Fatal("uninstall succeeded though restore failed")
	}
	for _, p := range installed {
		if installedTree[p] != tree(t, root)[p] {
			t.Errorf("%s changed although the switch back failed", p)
		}
	}
}

func TestUninstallRefusesForeignTmpfsLine(t *testing.T) {
	root := newRoot(t)
	writeFile(t, root, "/etc/fstab", []byte("tmpfs /var/lib/etcd tmpfs size=1g 0 0\n"), 0o644)
	o := options(root)
	if _, err := Install(context.Background(), (&fakeNode{}).deps(), o); err != nil {
		t.Fatal(err)
	}
	before := tree(t, root)
	if before["/etc/fstab"].content != "tmpfs /var/lib/etcd tmpfs size=1g 0 0\n" {
		t.Errorf("install changed an fstab that already mounts the data dir: %q", before["/etc/fstab"].content)
	}
	_, err := Uninstall(context.Background(), (&fakeNode{}).deps(), o)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "did not add") {
		t.Fatalf("got %v, want a refusal", err)
	}
	if d := diffTrees(before, tree(t, root), true); len(d) > 0 {
		t.Errorf("refused uninstall changed %v", d)
	}
}

func TestExecStartPreFailsClosed(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(goldenDir, installed[2]))
	if err != nil {
		t.Fatal(err)
	}
	var pre []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "ExecStartPre=") {
			pre = append(pre, l)
		}
	}
	if len(pre) != 1 || !strings.HasPrefix(pre[0], "ExecStartPre=/usr/local/bin/etcd-ramdisk ") || !strings.HasSuffix(pre[0], " restore") {
		t.Errorf("ExecStartPre lines %q: want one, calling restore without a prefix (a \"-\" would start an empty etcd)", pre)
	}
}

// A dry run under --root prints what install prints: the graceful-shutdown
// finding and the next step.
func TestDryRunUnderRootSaysWhatIsNext(t *testing.T) {
	root := newRoot(t)
	writeFile(t, root, kubelet.DefaultConfigPath, []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nshutdownGracePeriod: 30s\nshutdownGracePeriodCriticalPods: 10s\n"), 0o644)
	o := options(root)
	o.DryRun = true
	res, err := Install(context.Background(), (&fakeNode{euid: 1000}).deps(), o)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	res.Report(&out)
	for _, want := range []string{"next: reboot", "etcd-ramdisk install --now", "kubelet: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run under --root lacks %q:\n%s", want, out.String())
		}
	}
}
