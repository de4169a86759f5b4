package etcdtool

import (
	"fmt"
	"os"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
)

// MiB is the unit room is counted and reported in.
const MiB = 1 << 20

// FreeBytes is what an unprivileged writer may still put on dir's filesystem.
func FreeBytes(dir string) (int64, error) {
	s, err := hostfs.Statfs(dir)
	if err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(s.Free), nil
}

// DBSize is the size of etcd's bbolt file, what a snapshot will roughly weigh.
func DBSize(hostDataDir string) int64 {
	fi, err := os.Stat(manifest.DBPath(hostDataDir))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// HumanMiB writes n bytes in whole MiB, rounded up.
func HumanMiB(n int64) string { return fmt.Sprintf("%d MiB", (n+MiB-1)/MiB) }
