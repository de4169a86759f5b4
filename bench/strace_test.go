package bench

import (
	"strings"
	"testing"
)

func TestParseTraceClassify(t *testing.T) {
	out := `100<containerd-shim> fdatasync(7</run/containerd/x.json>) = 0
102<etcdctl> fsync(9</var/lib/etcd/snap.db.part> <unfinished ...>
100<containerd-shim> fsync(3</var/tmp/bed/meta.db (deleted)>) = 0
102<etcdctl> <... fsync resumed>) = 0
103<etcdctl> fsync(9</var/lib/etcd>) = 0
100<containerd-shim> sync() = 0
100<containerd-shim> fsync(4<pipe:[123]>) = -1 EINVAL (Invalid argument)
101<runc> --- SIGURG {si_signo=SIGURG} ---
`
	tr, err := ParseTrace(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	container := mountTable{{"/", "overlay"}, {"/var/lib/etcd", "tmpfs"}}
	host := mountTable{{"/", "ext4"}, {"/run", "tmpfs"}, {"/var/lib/etcd", "ext4"}}
	s := tr.Classify(func(comm string) mountTable {
		if comm == "etcdctl" {
			return container
		}
		return host
	})
	if s.Persistent != 2 || s.Volatile != 3 || s.Unknown != 1 {
		t.Errorf("got %+v, want 2 persistent (meta.db, sync), 3 volatile, 1 unknown", s)
	}
}

func TestFsType(t *testing.T) {
	m := mountTable{{"/", "ext4"}, {"/var/tmp/b", "ext4"}, {"/var/tmp/b/var/lib/etcd", "tmpfs"}}
	for path, want := range map[string]string{"/var/tmp/b/var/lib/etcd/member/wal/0.wal": "tmpfs", "/var/tmp/b/var/lib/etcd-ramdisk/x": "ext4", "/etc": "ext4"} {
		if got := m.fsType(path); got != want {
			t.Errorf("fsType(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestParseTraceTimed(t *testing.T) {
	out := `5463<etcd-ramdisk> 1796540382.865820 fdatasync(7</b/journal/c/0000000000000010.seg>) = 0
5464<etcd-ramdisk> 1796540383.804619 fsync(8</b/journal/.new>) = 0
5464<etcd-ramdisk> 1796540383.904619 fdatasync(8</b/journal/.new/c/.tmp-1>(deleted)) = 0
`
	tr, err := ParseTrace(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Calls) != 3 || tr.Calls[2].Path != "/b/journal/.new/c/.tmp-1" || tr.Calls[0].At != 1796540382.865820 || tr.Calls[1].Call != "fsync" || tr.Calls[1].Path != "/b/journal/.new" {
		t.Fatalf("got %+v", tr.Calls)
	}
	if n := len(tr.Where(func(c SyncCall) bool { return c.At >= 1796540383 }).Calls); n != 2 {
		t.Errorf("calls from 1796540383 on: %d, want 2", n)
	}
}
