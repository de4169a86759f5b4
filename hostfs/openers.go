package hostfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Openers lists the processes (other than this one) holding a file below dir
// open, by comparing device and inode of every open descriptor: paths in
// /proc/<pid>/fd are relative to each process's own mount namespace, inodes are
// not.
func Openers(dir string) ([]string, error) {
	inodes := map[[2]uint64]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if s, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode().IsRegular() {
			inodes[[2]uint64{uint64(s.Dev), s.Ino}] = p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	self := strconv.Itoa(os.Getpid())
	var users []string
	for _, p := range procs {
		pid := p.Name()
		if pid == self || pid[0] < '0' || pid[0] > '9' {
			continue
		}
		fds, err := os.ReadDir("/proc/" + pid + "/fd")
		if err != nil {
			continue // exited, or a kernel thread
		}
		for _, fd := range fds {
			fi, err := os.Stat("/proc/" + pid + "/fd/" + fd.Name())
			if err != nil {
				continue
			}
			s, ok := fi.Sys().(*syscall.Stat_t)
			if !ok {
				continue
			}
			if path, hit := inodes[[2]uint64{uint64(s.Dev), s.Ino}]; hit {
				comm, _ := os.ReadFile("/proc/" + pid + "/comm")
				users = append(users, fmt.Sprintf("pid %s (%s) has %s open", pid, strings.TrimSpace(string(comm)), path))
				break
			}
		}
	}
	return users, nil
}
