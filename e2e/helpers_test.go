package e2e

import (
	"os"
	"strings"
	"testing"
)

// mountType returns the filesystem type mounted exactly at dir, or "".
func mountType(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir {
			for i, x := range f {
				if x == "-" && i+1 < len(f) {
					return f[i+1]
				}
			}
		}
	}
	return ""
}
