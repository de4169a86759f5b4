package hostfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// StartTime is a process's start time in clock ticks since boot (field 22 of
// /proc/<pid>/stat). With the pid it names one process: a reused pid starts
// at another time. A process that is gone gives an error wrapping
// fs.ErrNotExist.
func StartTime(pid int) (uint64, error) {
	return startTime(fmt.Sprintf("/proc/%d/stat", pid))
}

func startTime(statPath string) (uint64, error) {
	b, err := os.ReadFile(statPath)
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: count from
	// the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: unexpected format", statPath)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, fmt.Errorf("%s: unexpected format", statPath)
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22; f[0] is field 3
}
