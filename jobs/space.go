package jobs

import (
	"fmt"
	"os"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
)

const mib = 1 << 20

// freeBytes is what an unprivileged writer may still put on dir's filesystem.
func freeBytes(dir string) (int64, error) {
	s, err := hostfs.Statfs(dir)
	if err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(s.Free), nil
}

// dbSize is the size of etcd's bbolt file, what a snapshot will roughly weigh.
func dbSize(hostDataDir string) int64 {
	fi, err := os.Stat(hostDataDir + "/member/snap/db")
	if err != nil {
		return 0
	}
	return fi.Size()
}

func humanMiB(n int64) string { return fmt.Sprintf("%d MiB", (n+mib-1)/mib) }
