package jobs

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

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

// memAvailable is the kernel's estimate of memory available without swapping;
// a tmpfs write competes for it.
func memAvailable() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no MemAvailable in /proc/meminfo")
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
