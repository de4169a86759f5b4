package hostfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTmpfsSize(t *testing.T) {
	for _, tc := range []struct {
		quota int64
		want  string
	}{
		{0, "size=4224m"},                 // etcd's default 2 GiB: 2×2048 + 128
		{2 << 30, "size=4224m"},           // the same, spelled out
		{8 << 30, "size=16512m"},          // 2×8192 + 128
		{100*mib + 1, "size=329m"},        // rounded up to the next MiB
		{(1 << 30) + mib/2, "size=2177m"}, // 2×1024 + 1 + 128
	} {
		got := FstabLine("/var/lib/etcd", tc.quota)
		want := "tmpfs /var/lib/etcd tmpfs defaults,noatime,mode=0700," + tc.want + " 0 0"
		if got != want {
			t.Errorf("quota %d: got %q, want %q", tc.quota, got, want)
		}
	}
}

const ourBlock = FstabMarker + "\ntmpfs /var/lib/etcd tmpfs defaults,noatime,mode=0700,size=4224m 0 0"

func TestFstabAdd(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, existing string
	}{
		{"empty", "", ourBlock + "\n", ""},
		{"absent", "# /etc/fstab\nUUID=1 / ext4 errors=remount-ro 0 1\n", "# /etc/fstab\nUUID=1 / ext4 errors=remount-ro 0 1\n" + ourBlock + "\n", ""},
		{"no trailing newline", "UUID=1 / ext4 defaults 0 1", "UUID=1 / ext4 defaults 0 1\n" + ourBlock, ""},
		{"crlf and tabs kept", "UUID=1\t/\text4\tdefaults\t0 1\r\n#c\n", "UUID=1\t/\text4\tdefaults\t0 1\r\n#c\n" + ourBlock + "\n", ""},
		{"present, other options", "tmpfs /var/lib/etcd tmpfs size=1g 0 0\n", "tmpfs /var/lib/etcd tmpfs size=1g 0 0\n", "tmpfs /var/lib/etcd tmpfs size=1g 0 0"},
		{"present, trailing slash", "none\t/var/lib/etcd/ tmpfs defaults 0 0", "none\t/var/lib/etcd/ tmpfs defaults 0 0", "none\t/var/lib/etcd/ tmpfs defaults 0 0"},
		{"present as disk", "/dev/sdb1 /var/lib/etcd ext4 defaults 0 2\n", "/dev/sdb1 /var/lib/etcd ext4 defaults 0 2\n", "/dev/sdb1 /var/lib/etcd ext4 defaults 0 2"},
		{"present, escaped", "tmpfs /var/lib/et\\040cd tmpfs defaults 0 0\n", "tmpfs /var/lib/et\\040cd tmpfs defaults 0 0\n", "tmpfs /var/lib/et\\040cd tmpfs defaults 0 0"},
		{"commented out is not present", "#tmpfs /var/lib/etcd tmpfs defaults 0 0\n", "#tmpfs /var/lib/etcd tmpfs defaults 0 0\n" + ourBlock + "\n", ""},
		{"other dir", "tmpfs /var/lib/etcd2 tmpfs defaults 0 0\n", "tmpfs /var/lib/etcd2 tmpfs defaults 0 0\n" + ourBlock + "\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := "/var/lib/etcd"
			if tc.name == "present, escaped" {
				dir = "/var/lib/et cd"
			}
			got, existing := FstabAdd([]byte(tc.in), dir, 0)
			if string(got) != tc.want || existing != tc.existing {
				t.Errorf("got %q (existing %q), want %q (existing %q)", got, existing, tc.want, tc.existing)
			}
		})
	}
}

// Removing must give back the input byte for byte, whatever it looked like.
func TestFstabRoundTrip(t *testing.T) {
	for _, in := range []string{
		"",
		"\n",
		"UUID=1 / ext4 defaults 0 1",
		"UUID=1 / ext4 defaults 0 1\n",
		"# comment\n\n  UUID=1   /   ext4 defaults 0 1  \r\n# trailing comment",
		"UUID=1 / ext4 defaults 0 1\n\n\n",
	} {
		added, _ := FstabAdd([]byte(in), "/var/lib/etcd", 0)
		if FstabTmpfsEntry(added, "/var/lib/etcd") == "" {
			t.Errorf("%q: the added line is not found as the data dir's tmpfs entry", in)
		}
		got, removed, foreign := FstabRemove(added, "/var/lib/etcd")
		if !removed || foreign != "" || string(got) != in {
			t.Errorf("%q: add then remove gave %q (removed %v, foreign %q)", in, got, removed, foreign)
		}
	}
}

func TestFstabRemove(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, foreign string
		removed                 bool
	}{
		{"ours in the middle", "a / ext4 d 0 1\n" + ourBlock + "\nb /home ext4 d 0 2", "a / ext4 d 0 1\nb /home ext4 d 0 2", "", true},
		{"edited options still ours", FstabMarker + "\ntmpfs /var/lib/etcd tmpfs size=9g 0 0\n", "", "", true},
		{"line without marker is not ours", "tmpfs /var/lib/etcd tmpfs size=1g 0 0\n", "tmpfs /var/lib/etcd tmpfs size=1g 0 0\n", "tmpfs /var/lib/etcd tmpfs size=1g 0 0", false},
		{"marker before another line", FstabMarker + "\nUUID=1 / ext4 d 0 1\n", FstabMarker + "\nUUID=1 / ext4 d 0 1\n", "", false},
		{"marker before another dir", FstabMarker + "\ntmpfs /tmp tmpfs d 0 0\n", FstabMarker + "\ntmpfs /tmp tmpfs d 0 0\n", "", false},
		{"absent", "a / ext4 d 0 1", "a / ext4 d 0 1", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, removed, foreign := FstabRemove([]byte(tc.in), "/var/lib/etcd")
			if string(got) != tc.want || removed != tc.removed || foreign != tc.foreign {
				t.Errorf("got %q removed %v foreign %q; want %q removed %v foreign %q", got, removed, foreign, tc.want, tc.removed, tc.foreign)
			}
		})
	}
}

func TestFstabTmpfsEntry(t *testing.T) {
	fstab := []byte(`# tmpfs /var/lib/etcd tmpfs size=1g 0 0
tmpfs /var/lib/etcd-old tmpfs size=1g 0 0
/dev/sdb1 /var/lib/etcd xfs defaults 0 0
	tmpfs   /var/lib/etcd/   tmpfs   size=2g,mode=0700   0 0
tmpfs /mnt/a\040b tmpfs defaults 0 0
`)
	if got := FstabTmpfsEntry(fstab, "/var/lib/etcd"); got != "tmpfs   /var/lib/etcd/   tmpfs   size=2g,mode=0700   0 0" {
		t.Errorf("FstabTmpfsEntry = %q", got)
	}
	if got := FstabEntry(fstab, "/var/lib/etcd"); got != "/dev/sdb1 /var/lib/etcd xfs defaults 0 0" {
		t.Errorf("FstabEntry = %q, want the first entry whatever its type", got)
	}
	if got := FstabTmpfsEntry(fstab, "/mnt/a b"); got == "" {
		t.Error("FstabTmpfsEntry missed an escaped mount point")
	}
	if got := FstabTmpfsEntry(fstab, "/var/lib"); got != "" {
		t.Errorf("FstabTmpfsEntry(/var/lib) = %q", got)
	}
}

func TestReadFstab(t *testing.T) {
	dir := t.TempDir()
	b, mode, err := ReadFstab(filepath.Join(dir, "absent"))
	if b != nil || mode != 0 || err != nil {
		t.Errorf("absent fstab: %q %o %v, want nil 0 nil", b, mode, err)
	}
	path := filepath.Join(dir, "fstab")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o664); err != nil {
		t.Fatal(err)
	}
	b, mode, err = ReadFstab(path)
	if b == nil || len(b) != 0 || mode != 0o664 || err != nil {
		t.Errorf("empty fstab: %q (nil %v) %o %v, want empty, its mode 0664", b, b == nil, mode, err)
	}
}
