package status

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What stops backups from working is a FAIL line naming the part, never
// "OK": one condition at a time on a healthy node.
func TestBroken(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *fixture, o *Options)
		want   string // the FAIL line's start; "" for none
	}{
		{"healthy", func(*fixture, *Options) {}, ""},
		{"containerd socket missing", func(_ *fixture, o *Options) {
			o.ContainerdError = errors.New("containerd unavailable: socket /run/containerd/containerd.sock: no such file or directory")
			o.Images = nil
		}, "containerd: containerd unavailable: socket"},
		{"etcd stopped", func(f *fixture, _ *Options) { f.etcd = fakeEtcd{} }, "etcd: no running etcd container"},
		{"containerd cannot say about etcd", func(f *fixture, _ *Options) { f.etcd = fakeEtcd{err: errors.New("list containers: deadline exceeded")} }, ""},
		{"data dir empty after a boot", func(f *fixture, _ *Options) { f.noDB = true }, "data dir: "},
		{"data dir empty, no snapshot yet", func(f *fixture, _ *Options) { f.noDB, f.backupAges = true, nil }, ""},
		{"backup dir missing, installed", func(_ *fixture, o *Options) { o.BackupDir += "-gone" }, "backup dir: "},
		{"backup dir missing, not installed", func(f *fixture, o *Options) { f.dropIn, f.cron = false, false; o.BackupDir += "-gone" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := healthy()
			tt.change(&f, &Options{}) // fixture changes first
			o := f.build(t)
			tt.change(&fixture{}, &o)
			r := gather(t, o)
			var b bytes.Buffer
			if err := r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if tt.want == "" {
				if len(r.Broken) != 0 || strings.Contains(out, "FAIL") {
					t.Fatalf("broken %q, want none:\n%s", r.Broken, out)
				}
				return
			}
			if len(r.Broken) != 1 || !strings.HasPrefix(r.Broken[0], tt.want) || !r.NeedsAttention {
				t.Fatalf("broken %q, want one starting %q", r.Broken, tt.want)
			}
			if !strings.Contains(out, "FAIL "+tt.want) || strings.Contains(out, "OK ") {
				t.Errorf("screen lacks the FAIL line or says OK:\n%s", out)
			}
		})
	}
}

// A backup dir the process cannot write (a read-only mount, even for root)
// is broken; status itself writes nothing to find out.
func TestBrokenReadOnlyBackupDir(t *testing.T) {
	o := healthy().build(t)
	if os.Geteuid() == 0 {
		mountReadOnly(t, o.BackupDir)
	} else if err := os.Chmod(filepath.Join(o.BackupDir, "snapshots"), 0o500); err != nil {
		t.Fatal(err)
	}
	r := gather(t, o)
	if len(r.Broken) != 1 || !strings.HasPrefix(r.Broken[0], "backup dir ") || !strings.Contains(r.Broken[0], "not writable") {
		t.Fatalf("broken %q, want the backup dir not writable", r.Broken)
	}
}
