package install

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
)

// fstabMarker precedes the line install adds; uninstall removes exactly the
// marker and the line after it, so an admin's own lines are never touched.
const fstabMarker = "# etcd-ramdisk: etcd's data dir on tmpfs; `etcd-ramdisk uninstall` removes this line and the next"

const (
	mib          = 1 << 20
	defaultQuota = 2 << 30 // etcd's --quota-backend-bytes default
)

// TmpfsSize is the size= of the tmpfs for a backend quota (0: etcd's default).
// restore needs twice the database plus 80 MiB at once (the staged snapshot, the
// restored database and the preallocated WAL), so the cap is 2×quota + 128 MiB,
// rounded up to MiB. A tmpfs takes memory only for what it holds, so a generous
// cap costs nothing until etcd grows into it.
func TmpfsSize(quota int64) int64 {
	if quota <= 0 {
		quota = defaultQuota
	}
	n := 2*quota + 128*mib
	return (n + mib - 1) / mib * mib
}

// FstabLine is the line that mounts dataDir as etcd's tmpfs.
func FstabLine(dataDir string, quota int64) string {
	return fmt.Sprintf("tmpfs %s tmpfs defaults,noatime,mode=0700,size=%dm 0 0", dataDir, TmpfsSize(quota)/mib)
}

// fstabAdd returns fstab with the marker and line appended, keeping every other
// byte (a missing final newline stays missing). existing is the line that
// already mounts dataDir, in which case fstab is returned as it is.
func fstabAdd(fstab []byte, dataDir string, quota int64) (out []byte, existing string) {
	for _, l := range fstabLines(fstab) {
		if mountPoint(l) == filepath.Clean(dataDir) {
			return fstab, strings.TrimRight(l, "\r\n")
		}
	}
	block := fstabMarker + "\n" + FstabLine(dataDir, quota)
	switch {
	case len(fstab) == 0:
		return []byte(block + "\n"), ""
	case fstab[len(fstab)-1] != '\n':
		return append(bytes.Clone(fstab), "\n"+block...), ""
	}
	return append(bytes.Clone(fstab), block+"\n"...), ""
}

// fstabRemove removes the marker and the tmpfs line after it for dataDir, the
// exact inverse of fstabAdd. foreign is a remaining line that still mounts
// dataDir, one install did not add.
func fstabRemove(fstab []byte, dataDir string) (out []byte, removed bool, foreign string) {
	lines := fstabLines(fstab)
	dir := filepath.Clean(dataDir)
	for i := 0; i+1 < len(lines); i++ {
		if strings.TrimRight(lines[i], "\r\n") != fstabMarker || mountPoint(lines[i+1]) != dir || !isTmpfs(lines[i+1]) {
			continue
		}
		last := lines[i+1]
		if !strings.HasSuffix(last, "\n") && i+2 == len(lines) && i > 0 {
			// fstabAdd added the newline before the marker: take it back.
			lines[i-1] = strings.TrimSuffix(lines[i-1], "\n")
		}
		lines = append(lines[:i], lines[i+2:]...)
		removed = true
		break
	}
	for _, l := range lines {
		if mountPoint(l) == dir {
			foreign = strings.TrimRight(l, "\r\n")
		}
	}
	return []byte(strings.Join(lines, "")), removed, foreign
}

// fstabLines splits fstab keeping each line's terminator, so joining them gives
// back the same bytes.
func fstabLines(fstab []byte) []string {
	var out []string
	for _, l := range bytes.SplitAfter(fstab, []byte("\n")) {
		if len(l) > 0 {
			out = append(out, string(l))
		}
	}
	return out
}

// mountPoint is the second field of an fstab entry, "" for comments and blanks.
func mountPoint(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 || strings.HasPrefix(f[0], "#") {
		return ""
	}
	return filepath.Clean(unescapeFstab(f[1]))
}

func isTmpfs(line string) bool {
	f := strings.Fields(line)
	return len(f) >= 3 && f[2] == "tmpfs"
}

// unescapeFstab undoes fstab's octal escapes (\040 for a space).
func unescapeFstab(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}
