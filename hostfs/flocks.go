package hostfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// maxHolderSize bounds how much of a holder's command line is shown.
const maxHolderSize = 4 << 10

// FlockHolder describes the process holding an flock(2) on the file at path
// ("pid 123: etcd-ramdisk backup --reason cron"), or returns "" when none
// does or the file does not exist. It asks the kernel (/proc/locks) which
// process holds a lock on the file's inode, so taking a lock need not write
// who took it.
func FlockHolder(path string) (string, error) {
	return flockHolder(path, "/proc/locks")
}

func flockHolder(path, procLocks string) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("stat %s: no inode", path)
	}
	data, err := os.ReadFile(procLocks)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", procLocks, err)
	}
	want := fmt.Sprintf(":%d", st.Ino)
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		// 1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF
		if len(f) < 6 || f[1] != "FLOCK" || !strings.HasSuffix(f[5], want) {
			continue
		}
		return describePID(f[4]), nil
	}
	return "", nil
}

// describePID names a process by its pid and command line.
func describePID(pid string) string {
	cmd, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil || len(cmd) == 0 {
		return "pid " + pid
	}
	if len(cmd) > maxHolderSize {
		cmd = cmd[:maxHolderSize]
	}
	return "pid " + pid + ": " + strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
}
