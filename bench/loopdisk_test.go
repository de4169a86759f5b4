package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
)

func TestParseDiskFormat(t *testing.T) {
	for in, want := range map[string]DiskFormat{
		"ext4":           {},
		"ext4:commit=30": {Options: "commit=30"},
		" xfs ":          {FS: "xfs"},
	} {
		got, err := ParseDiskFormat(in)
		if err != nil || got != want {
			t.Errorf("ParseDiskFormat(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "btrfs", "ext3:commit=5"} {
		if _, err := ParseDiskFormat(in); err == nil {
			t.Errorf("ParseDiskFormat(%q) took it", in)
		}
	}
	if s := (DiskFormat{Options: "commit=30"}).String(); s != "ext4 commit=30" {
		t.Errorf("String = %q", s)
	}
}

// Each disk format adds one (c) setup at the default interval on the
// realistic DB, on a bed and disk of its own name.
func TestJournalDiskSetups(t *testing.T) {
	c := SilenceConfig{RealisticDB: 50 << 20, Journal: true, JournalDisks: []DiskFormat{{FS: "xfs"}, {Options: "commit=30"}}}
	names := map[string]bool{}
	var disks []string
	for _, s := range c.Setups() {
		if names[s.Name] {
			t.Errorf("two setups named %s", s.Name)
		}
		names[s.Name] = true
		if s.Disk != (DiskFormat{}) {
			if s.JournalEvery != journal.DefaultInterval || s.Fill != c.RealisticDB || !strings.Contains(s.Label, s.Disk.String()) {
				t.Errorf("%+v: want the default interval on the realistic DB, named for its disk", s)
			}
			disks = append(disks, s.Disk.String())
		}
	}
	if strings.Join(disks, ",") != "xfs,ext4 commit=30" {
		t.Errorf("disk setups %v", disks)
	}
}

// A real loop disk of each format: made, mounted with its options, torn
// down. (The bench's own teardown path; needs root, as make unit does.)
func TestLoopDiskFormats(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, f := range []DiskFormat{{}, {FS: "xfs"}, {Options: "commit=30"}} {
		dir := t.TempDir()
		l, err := newLoopDisk(ctx, filepath.Join(dir, "disk.img"), 512<<20, f, filepath.Join(dir, "mnt"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		mounts, err := os.ReadFile("/proc/self/mounts")
		if err != nil {
			t.Fatal(err)
		}
		var line string
		for _, m := range strings.Split(string(mounts), "\n") {
			if fs := strings.Fields(m); len(fs) > 3 && fs[0] == l.Dev && fs[1] == l.Mount {
				line = m
			}
		}
		fs := strings.Fields(line)
		if len(fs) < 4 || fs[2] != f.fs() || (f.Options != "" && !strings.Contains(","+fs[3]+",", ","+f.Options+",")) {
			t.Errorf("%s: mounted as %q", f, line)
		}
		if err := l.close(); err != nil {
			t.Errorf("%s: close: %v", f, err)
		}
		if _, err := os.Stat(l.Image); !os.IsNotExist(err) {
			t.Errorf("%s: image left: %v", f, err)
		}
	}
}
