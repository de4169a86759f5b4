package hostfs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	in := `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
35 22 0:30 / /var/lib/etcd rw,nosuid shared:20 - tmpfs tmpfs rw,size=1048576k,mode=700
36 22 0:31 / /mnt/with\040space rw master:3 unbindable - tmpfs my\040src rw
37 35 0:32 / /var/lib/etcd rw - xfs /dev/sdb1 rw
`
	ms, err := ParseMountinfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{
		{"/", "ext4", "/dev/sda1"},
		{"/var/lib/etcd", "tmpfs", "tmpfs"},
		{"/mnt/with space", "tmpfs", "my src"},
		{"/var/lib/etcd", "xfs", "/dev/sdb1"},
	}
	if !slices.Equal(ms, want) {
		t.Fatalf("ParseMountinfo = %+v, want %+v", ms, want)
	}
	// Stacked mounts: the last one is visible.
	if m, ok := FindMount(ms, "/var/lib/etcd"); !ok || m.FSType != "xfs" {
		t.Errorf("FindMount = %+v, %v; want the xfs on top", m, ok)
	}
	if IsTmpfs(ms, "/var/lib/etcd") {
		t.Error("IsTmpfs: a tmpfs under an xfs counted as the data dir's filesystem")
	}
	if !IsTmpfs(ms, "/mnt/with space/") {
		t.Error("IsTmpfs missed an escaped mount point given with a trailing slash")
	}
	if _, ok := FindMount(ms, "/var/lib"); ok {
		t.Error("FindMount matched a parent of a mount point")
	}
	if _, err := ParseMountinfo(strings.NewReader("22 1 8:1 / / rw\n")); err == nil {
		t.Error("ParseMountinfo accepted a line without the - separator")
	}
}

// A data dir reached through a symlink is the mount point it resolves to.
func TestFindMountThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	resolved, err := filepath.EvalSymlinks(real)
	if err != nil {
		t.Fatal(err)
	}
	if !IsTmpfs([]Mount{{Point: resolved, FSType: "tmpfs"}}, link) {
		t.Errorf("IsTmpfs(%s) missed the tmpfs at %s", link, resolved)
	}
}

func TestParseRealMountinfo(t *testing.T) {
	ms, err := Mounts()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := FindMount(ms, "/"); !ok {
		t.Errorf("no mount at / in %+v", ms)
	}
	// TmpfsMounted reads the same table: it must agree with it.
	for _, m := range ms[:min(len(ms), 20)] {
		got, err := TmpfsMounted(m.Point)
		if err != nil {
			t.Fatal(err)
		}
		if want := IsTmpfs(ms, m.Point); got != want {
			t.Errorf("TmpfsMounted(%s) = %v, the table says %v", m.Point, got, want)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:           "plain",
		`/mnt/a\040b`:     "/mnt/a b",
		`tab\011nl\012`:   "tab\tnl\n",
		`back\134slash`:   `back\slash`,
		`\040`:            " ",
		`short\04`:        `short\04`, // too short to be an escape
		`not\09octal`:     `not\09octal`,
		`trailing\`:       `trailing\`,
		`two\040\040here`: "two  here",
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatfs(t *testing.T) {
	st, err := Statfs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if st.Size == 0 || st.Used > st.Size || st.Free > st.Size {
		t.Errorf("Statfs = %+v", st)
	}
	if _, err := Statfs(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("Statfs of a missing path succeeded")
	}
}
