package bench

import (
	"strings"
	"testing"
)

func TestParseTraceClassify(t *testing.T) {
	out := `100 clone(child_stack=NULL, flags=CLONE_VM) = 101
101 execve("/usr/local/bin/etcdctl", ["etcdctl"], 0xc0 /* 5 vars */) = 0
101 clone3({flags=CLONE_VM, exit_signal=0, stack=0x1, stack_size=0x1}, 88 <unfinished ...>
100 fdatasync(7</run/containerd/x.json>) = 0
101 <... clone3 resumed>) = 102
102 fsync(9</var/lib/etcd/snap.db.part> <unfinished ...>
100 fsync(3</var/tmp/bed/meta.db (deleted)>) = 0
102 <... fsync resumed>) = 0
100 sync() = 0
100 fsync(4<pipe:[123]>) = -1 EINVAL (Invalid argument)
100 execve("/nope", ["x"], 0x0 /* 0 vars */) = -1 ENOENT (No such file or directory)
`
	tr, err := ParseTrace(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Program(102); got != "/usr/local/bin/etcdctl" {
		t.Errorf("Program(102) = %q", got)
	}
	if got := tr.Program(100); got != "" {
		t.Errorf("Program(100) = %q", got)
	}
	container := mountTable{{"/", "overlay"}, {"/var/lib/etcd", "tmpfs"}}
	host := mountTable{{"/", "ext4"}, {"/run", "tmpfs"}}
	s := tr.Classify(func(pid int) mountTable {
		if tr.Program(pid) != "" {
			return container
		}
		return host
	})
	if s.Persistent != 2 || s.Volatile != 2 || s.Unknown != 1 {
		t.Errorf("got %+v, want 2 persistent (meta.db, sync), 2 volatile, 1 unknown", s)
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
