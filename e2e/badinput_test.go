package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// treeListing describes every file under dir (path, mode, size) to show nothing was written.
func treeListing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String() + " " + strconv.FormatInt(fi.Size(), 10) + "\n")
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return b.String()
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// Bad input is refused with a message naming the problem, a documented exit
// code, and nothing written.
func TestBadInputRejected(t *testing.T) {
	n := newNode(t, testbed.NodeOptions{})
	n.kv("put", "/registry/b", "1")
	n.mustTool("backup")
	good, err := os.ReadFile(n.ManifestPath())
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(n.Dir, "bad")
	noEtcd := strings.Replace(string(good), "name: etcd\n", "name: not-etcd\n", 1)
	noEtcd = strings.Replace(noEtcd, "- etcd\n", "- /bin/sleep\n", 1)
	outside := strings.Replace(string(good), "--cert-file=/etc/kubernetes/pki/etcd/server.crt", "--cert-file=/opt/elsewhere/server.crt", 1)
	open := filepath.Join(d, "open-dir")
	if err := os.MkdirAll(open, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	link := filepath.Join(d, "link-to-open")
	os.Symlink(open, link)
	huge := writeFile(t, filepath.Join(n.BackupDir(), "snapshots", "20261125T000000Z-r1.json"), strings.Repeat(" ", 2<<20)+"{}", 0o600)
	hostile := writeFile(t, filepath.Join(n.BackupDir(), "snapshots", "20261125T000001Z-r2.json"), `{"formatVersion":1,"id":"../../etc/passwd","file":"../../etc/passwd","sha256":"x"}`, 0o600)

	cases := []struct {
		name    string
		env     []string
		args    []string
		code    int
		message string
	}{
		{"malformed manifest", []string{"ETCD_RAMDISK_MANIFEST=" + writeFile(t, filepath.Join(d, "bad.yaml"), "apiVersion: v1\nkind: Pod\nspec: [unclosed", 0o600)}, []string{"backup"}, 3, "bad.yaml"},
		{"manifest without etcd", []string{"ETCD_RAMDISK_MANIFEST=" + writeFile(t, filepath.Join(d, "noetcd.yaml"), noEtcd, 0o600)}, []string{"backup"}, 3, "not etcd"},
		{"flag path outside the volumes", []string{"ETCD_RAMDISK_MANIFEST=" + writeFile(t, filepath.Join(d, "outside.yaml"), outside, 0o600)}, []string{"backup"}, 3, "/opt/elsewhere/server.crt"},
		{"missing manifest", []string{"ETCD_RAMDISK_MANIFEST=" + filepath.Join(d, "absent.yaml")}, []string{"restore"}, 3, "absent.yaml"},
		{"unknown flag", nil, []string{"backup", "--no-such-flag"}, 2, "no-such-flag"},
		{"unknown method", nil, []string{"backup", "--method", "ssh"}, 2, "--method"},
		{"relative backup dir", []string{"ETCD_RAMDISK_BACKUP_DIR=relative/dir"}, []string{"backup"}, 3, "relative/dir"},
		{"backup dir writable by others", []string{"ETCD_RAMDISK_BACKUP_DIR=" + open}, []string{"backup"}, 3, "writable by group or others"},
		{"symlink to an open backup dir", []string{"ETCD_RAMDISK_BACKUP_DIR=" + link}, []string{"backup"}, 3, "writable by group or others"},
		{"--snapshot outside the backup dir", nil, []string{"restore", "--snapshot", "../../../etc/passwd"}, 2, "invalid snapshot id"},
		{"snapshot name with a path separator", nil, []string{"verify", "a/b"}, 2, "invalid snapshot id"},
	}
	before := treeListing(t, n.BackupDir())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := n.toolEnv(c.env, c.args...)
			if r.code != c.code || !strings.Contains(r.stderr, c.message) {
				t.Errorf("exit %d (want %d), stderr %q (want it to name %q)", r.code, c.code, tail(r.stderr, 600), c.message)
			}
			if after := treeListing(t, n.BackupDir()); after != before {
				t.Errorf("backup dir changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	t.Run("hostile metadata is listed as a problem, never as a snapshot", func(t *testing.T) {
		l := n.list()
		if len(l.Snapshots) != 1 {
			t.Errorf("snapshots = %d, want only the real one", len(l.Snapshots))
		}
		for _, f := range []string{huge, hostile} {
			found := false
			for _, p := range l.Problems {
				found = found || strings.Contains(p, filepath.Base(f))
			}
			if !found {
				t.Errorf("no problem reported for %s: %v", f, l.Problems)
			}
		}
	})
}
