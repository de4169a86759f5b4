package hostfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// MountinfoPath is the kernel's mount table of this process's namespace.
const MountinfoPath = "/proc/self/mountinfo"

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	Point  string
	FSType string
	Source string
}

// Mounts reads this process's mount table.
func Mounts() ([]Mount, error) { return ReadMountinfo(MountinfoPath) }

// ReadMountinfo reads a mount table in proc(5)'s mountinfo format.
func ReadMountinfo(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseMountinfo(f)
}

// ParseMountinfo reads proc(5)'s mountinfo format:
// "36 35 98:0 /root /mnt/point rw,noatime shared:1 - tmpfs tmpfs rw,size=1024k".
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	var ms []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(fields) {
			return nil, fmt.Errorf("malformed mountinfo line %q", sc.Text())
		}
		ms = append(ms, Mount{Point: Unescape(fields[4]), FSType: fields[sep+1], Source: Unescape(fields[sep+2])})
	}
	return ms, sc.Err()
}

// FindMount returns the mount exactly at path (or at path with symlinks
// resolved). The last one wins: it is on top when mounts are stacked.
func FindMount(ms []Mount, path string) (Mount, bool) {
	path = filepath.Clean(path)
	want := map[string]bool{path: true}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		want[real] = true
	}
	var found Mount
	ok := false
	for _, m := range ms {
		if want[m.Point] {
			found, ok = m, true
		}
	}
	return found, ok
}

// IsTmpfs reports whether ms mount a tmpfs on top of dir.
func IsTmpfs(ms []Mount, dir string) bool {
	m, ok := FindMount(ms, dir)
	return ok && m.FSType == "tmpfs"
}

// TmpfsMounted reports whether dir is a tmpfs mount point now, from the
// kernel's mount table.
func TmpfsMounted(dir string) (bool, error) {
	ms, err := Mounts()
	if err != nil {
		return false, err
	}
	return IsTmpfs(ms, dir), nil
}

// Unescape undoes the kernel's \040-style octal escaping of spaces, tabs,
// newlines and backslashes in mountinfo and fstab fields.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// FSStats is what statfs(2) says about a filesystem, in bytes. Free is what an
// unprivileged writer may still use.
type FSStats struct {
	Size, Used, Free uint64
}

// Statfs reports the size and use of the filesystem holding path. Its error
// is statfs(2)'s own: the caller names what it asked about.
func Statfs(path string) (FSStats, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(path, &s); err != nil {
		return FSStats{}, err
	}
	bs := uint64(s.Bsize)
	return FSStats{Size: s.Blocks * bs, Used: (s.Blocks - s.Bfree) * bs, Free: s.Bavail * bs}, nil
}
