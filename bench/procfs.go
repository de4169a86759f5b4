package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// IOCounters are a process's /proc/<pid>/io: write_bytes counts what it caused to
// be sent to a block device (a page dirtied on a filesystem with writeback), so
// writes to tmpfs add to wchar but not to write_bytes. A parent's counters include
// those of the children it has reaped.
type IOCounters struct {
	RChar               int64 `json:"rchar"`
	WChar               int64 `json:"wchar"`
	ReadBytes           int64 `json:"readBytes"`
	WriteBytes          int64 `json:"writeBytes"`
	CancelledWriteBytes int64 `json:"cancelledWriteBytes"`
}

func (c IOCounters) Sub(o IOCounters) IOCounters {
	return IOCounters{c.RChar - o.RChar, c.WChar - o.WChar, c.ReadBytes - o.ReadBytes, c.WriteBytes - o.WriteBytes, c.CancelledWriteBytes - o.CancelledWriteBytes}
}

// ReadIO reads /proc/<pid>/io.
func ReadIO(pid int) (IOCounters, error) {
	var c IOCounters
	f, err := os.Open(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return c, err
	}
	defer f.Close()
	fields := map[string]*int64{"rchar": &c.RChar, "wchar": &c.WChar, "read_bytes": &c.ReadBytes, "write_bytes": &c.WriteBytes, "cancelled_write_bytes": &c.CancelledWriteBytes}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if p := fields[k]; ok && p != nil {
			*p, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return c, sc.Err()
}

// ParentPID is PPid from /proc/<pid>/status.
func ParentPID(pid int) (int, error) {
	return statusField(pid, "PPid")
}

func statusField(pid int, name string) (int, error) {
	v, err := statusValue(pid, name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

// statusKB reads a "Name:   123 kB" line of /proc/<pid>/status, in kB.
func statusKB(pid int, name string) (int64, error) {
	v, err := statusValue(pid, name)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
}

func statusValue(pid int, name string) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no %s in /proc/%d/status", name, pid)
}

// FindEtcdPID finds the host PID of the etcd serving clientPort: the process named
// etcd whose command line listens on that port.
func FindEtcdPID(clientPort int) (int, error) {
	ents, _ := os.ReadDir("/proc")
	want := fmt.Sprintf(":%d", clientPort)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if strings.TrimSpace(string(comm)) != "etcd" {
			continue
		}
		raw, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		for _, a := range strings.Split(string(raw), "\x00") {
			urls, ok := strings.CutPrefix(a, "--listen-client-urls=")
			for _, u := range strings.Split(urls, ",") {
				if ok && strings.HasSuffix(u, want) {
					return pid, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no etcd process listening on port %d", clientPort)
}

// DiskStat is the part of /sys/dev/block/<dev>/stat the cross-check uses.
type DiskStat struct {
	Device         string `json:"device"`
	WriteIOs       int64  `json:"writeIOs"`
	SectorsWritten int64  `json:"sectorsWritten"`
	Flushes        int64  `json:"flushes"`
}

func (d DiskStat) Sub(o DiskStat) DiskStat {
	return DiskStat{d.Device, d.WriteIOs - o.WriteIOs, d.SectorsWritten - o.SectorsWritten, d.Flushes - o.Flushes}
}

// BlockDevice names the block device ("254:0") holding path's filesystem.
func BlockDevice(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)), nil
}

// ReadDiskStat reads the device's counters (Documentation/block/stat.rst).
func ReadDiskStat(dev string) (DiskStat, error) {
	d, err := readStatFile("/sys/dev/block/" + dev + "/stat")
	d.Device = dev
	if link, err := os.Readlink("/sys/dev/block/" + dev); err == nil {
		d.Device = filepath.Base(link)
	}
	return d, err
}

// readStatFile parses a block device's stat file. Fields (1-based): 5 write
// I/Os, 7 sectors written (512 bytes each, whatever the device's sector
// size), 16 flush I/Os (kernel 5.5 and later; 0 before).
func readStatFile(path string) (DiskStat, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return DiskStat{}, err
	}
	f := strings.Fields(string(b))
	num := func(i int) int64 {
		if i >= len(f) {
			return 0
		}
		n, _ := strconv.ParseInt(f[i], 10, 64)
		return n
	}
	return DiskStat{WriteIOs: num(4), SectorsWritten: num(6), Flushes: num(15)}, nil
}

// mountTable maps paths to filesystem types as one process sees them.
type mountTable []struct{ point, fstype string }

// readMounts reads /proc/<pid>/mountinfo; pid 0 means this process.
func readMounts(pid int) (mountTable, error) {
	p := "/proc/self/mountinfo"
	if pid > 0 {
		p = fmt.Sprintf("/proc/%d/mountinfo", pid)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var t mountTable
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		for i, x := range f {
			if x == "-" && i+1 < len(f) && len(f) > 4 {
				t = append(t, struct{ point, fstype string }{unescapeMount(f[4]), f[i+1]})
				break
			}
		}
	}
	return t, nil
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// fsType is the type of the mount holding path (the last, i.e. topmost, of the
// longest matching mount points).
func (t mountTable) fsType(path string) string {
	best, typ := -1, ""
	for _, m := range t {
		if path == m.point || m.point == "/" || strings.HasPrefix(path, m.point+"/") {
			if len(m.point) >= best {
				best, typ = len(m.point), m.fstype
			}
		}
	}
	return typ
}

// volatileFS are filesystems whose data never reaches a disk.
var volatileFS = map[string]bool{"tmpfs": true, "ramfs": true, "devtmpfs": true, "proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "devpts": true, "mqueue": true}

// ParseBytes parses "1048576", "10MiB", "200MB", "1GiB", "1.5G" (powers of 1024).
func ParseBytes(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("bad byte count %q", s)
	}
	return int64(f * float64(mult)), nil
}
