package hostfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FstabMarker precedes the line install adds; uninstall removes exactly the
// marker and the line after it, so an admin's own lines are never touched.
const FstabMarker = "# etcd-ramdisk: etcd's data dir on tmpfs; `etcd-ramdisk uninstall` removes this line and the next"

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

// ReadFstab returns fstab and its mode; nil and 0 when absent (a new one
// gets assets.Fstab's mode).
func ReadFstab(path string) ([]byte, fs.FileMode, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	b, err := os.ReadFile(path)
	if b == nil && err == nil {
		b = []byte{}
	}
	return b, fi.Mode().Perm(), err
}

// FstabEntry returns the first entry of fstab that mounts dir, whatever its
// type, without its line end; "" when there is none.
func FstabEntry(fstab []byte, dir string) string {
	return firstEntry(fstab, dir, func(string) bool { return true })
}

// FstabTmpfsEntry returns the first entry of fstab that mounts a tmpfs on
// dir, trimmed; "" when there is none. This is what "installed" means for
// the fstab line: install adds one, status looks for one.
func FstabTmpfsEntry(fstab []byte, dir string) string {
	return firstEntry(fstab, dir, IsTmpfsEntry)
}

func firstEntry(fstab []byte, dir string, match func(string) bool) string {
	dir = filepath.Clean(dir)
	for _, l := range fstabLines(fstab) {
		if mountPoint(l) == dir && match(l) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// FstabAdd returns fstab with the marker and line appended, keeping every other
// byte (a missing final newline stays missing). existing is the entry that
// already mounts dataDir, in which case fstab is returned as it is.
func FstabAdd(fstab []byte, dataDir string, quota int64) (out []byte, existing string) {
	if existing := FstabEntry(fstab, dataDir); existing != "" {
		return fstab, existing
	}
	block := FstabMarker + "\n" + FstabLine(dataDir, quota)
	switch {
	case len(fstab) == 0:
		return []byte(block + "\n"), ""
	case fstab[len(fstab)-1] != '\n':
		return append(bytes.Clone(fstab), "\n"+block...), ""
	}
	return append(bytes.Clone(fstab), block+"\n"...), ""
}

// FstabRemove removes the marker and the tmpfs line after it for dataDir, the
// exact inverse of FstabAdd. foreign is a remaining entry that still mounts
// dataDir, one install did not add.
func FstabRemove(fstab []byte, dataDir string) (out []byte, removed bool, foreign string) {
	lines := fstabLines(fstab)
	dir := filepath.Clean(dataDir)
	for i := 0; i+1 < len(lines); i++ {
		if strings.TrimRight(lines[i], "\r\n") != FstabMarker || mountPoint(lines[i+1]) != dir || !IsTmpfsEntry(lines[i+1]) {
			continue
		}
		last := lines[i+1]
		if !strings.HasSuffix(last, "\n") && i+2 == len(lines) && i > 0 {
			// FstabAdd added the newline before the marker: take it back.
			lines[i-1] = strings.TrimSuffix(lines[i-1], "\n")
		}
		lines = append(lines[:i], lines[i+2:]...)
		removed = true
		break
	}
	for _, l := range lines {
		if mountPoint(l) == dir {
			foreign = strings.TrimSpace(l)
		}
	}
	return []byte(strings.Join(lines, "")), removed, foreign
}

// IsTmpfsEntry reports whether an fstab entry mounts a tmpfs.
func IsTmpfsEntry(line string) bool {
	f := strings.Fields(line)
	return len(f) >= 3 && f[2] == "tmpfs"
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
	return filepath.Clean(Unescape(f[1]))
}
