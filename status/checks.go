package status

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/cron"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/systemd"
)

// Install assets, relative to Options.Root, where `etcd-ramdisk install`
// puts them.
const (
	DropInPath = "etc/systemd/system/kubelet.service.d/" + systemd.DropInName
	CronPath   = "etc/cron.d/" + cron.FileName
	FstabPath  = "etc/fstab"
)

// lockFile is the store's flock(2) file (store.Lock).
const lockFile = "lock"

// imageCheckTimeout bounds the containerd lookup, so a hung containerd
// cannot hang status.
const imageCheckTimeout = 10 * time.Second

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	Point  string
	FSType string
	Source string
}

// FSStats is what statfs(2) says about a filesystem, in bytes.
type FSStats struct {
	Size, Used, Free uint64
}

func checkDataDir(path string, mounts func() ([]Mount, error), statfs func(string) (FSStats, error)) DataDir {
	d := DataDir{Path: filepath.Clean(path)}
	var errs []string
	ms, err := mounts()
	if err != nil {
		errs = append(errs, fmt.Sprintf("read mounts: %v", err))
	}
	if m, ok := findMount(ms, d.Path); ok {
		d.Mounted, d.FSType, d.Source = true, m.FSType, m.Source
		st, err := statfs(d.Path)
		if err != nil {
			errs = append(errs, fmt.Sprintf("statfs: %v", err))
		} else {
			d.SizeBytes, d.UsedBytes, d.FreeBytes = st.Size, st.Used, st.Free
			d.UsedPercent = percent(int64(st.Used), st.Size)
		}
	}
	fi, err := os.Stat(filepath.Join(d.Path, "member", "snap", "db"))
	switch {
	case err == nil:
		d.DBBytes = fi.Size()
		d.DBPercent = percent(d.DBBytes, d.SizeBytes)
	case !errors.Is(err, fs.ErrNotExist):
		errs = append(errs, fmt.Sprintf("database: %v", err))
	}
	d.Error = strings.Join(errs, "; ")
	return d
}

// findMount returns the mount exactly at path (or at path with symlinks
// resolved). The last one wins: it is on top when mounts are stacked.
func findMount(ms []Mount, path string) (Mount, bool) {
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

func percent(n int64, of uint64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) * 100 / float64(of)
}

func readMountinfo(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMountinfo(f)
}

// parseMountinfo reads proc(5)'s mountinfo format:
// "36 35 98:0 /root /mnt/point rw,noatime shared:1 - tmpfs tmpfs rw,size=1024k".
func parseMountinfo(r io.Reader) ([]Mount, error) {
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
		ms = append(ms, Mount{Point: unescapeOctal(fields[4]), FSType: fields[sep+1], Source: unescapeOctal(fields[sep+2])})
	}
	return ms, sc.Err()
}

// unescapeOctal undoes the kernel's \040-style escaping of spaces, tabs,
// newlines and backslashes in mountinfo and fstab fields.
func unescapeOctal(s string) string {
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

func statfs(path string) (FSStats, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(path, &s); err != nil {
		return FSStats{}, err
	}
	bs := uint64(s.Bsize)
	return FSStats{Size: s.Blocks * bs, Used: (s.Blocks - s.Bfree) * bs, Free: s.Bavail * bs}, nil
}

// checkBackups fills b and returns the store and its newest good snapshot.
// It opens the store only when the backup dir is complete, because
// store.Open creates what is missing and status writes nothing.
func checkBackups(b *Backups, dir string, now time.Time) (*store.Store, *store.Snapshot) {
	b.Dir, b.Problems = dir, []string{}
	if dir == "" {
		b.Error = "no backup dir given"
		return nil, nil
	}
	for _, sub := range []string{"", "snapshots", "suspect", "images"} {
		path := filepath.Join(dir, sub)
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			b.Error = fmt.Sprintf("%s does not exist: no backup has run", path)
		case err != nil:
			b.Error = fmt.Sprintf("backup dir: %v", err)
		case !fi.IsDir():
			b.Error = fmt.Sprintf("%s is not a directory", path)
		default:
			continue
		}
		return nil, nil
	}
	st, err := store.Open(dir)
	if err != nil {
		b.Error = err.Error()
		return nil, nil
	}
	good, problems, err := st.List()
	if err != nil {
		b.Error = err.Error()
		return st, nil
	}
	suspect, sp, err := st.ListSuspect()
	if err != nil {
		b.Error = err.Error()
	}
	b.Good, b.Suspect = len(good), len(suspect)
	for _, p := range append(problems, sp...) {
		b.Problems = append(b.Problems, p.Error())
	}
	var newestWrong bool
	b.Clock, newestWrong = checkClock(now, good, suspect)
	if len(good) == 0 {
		return st, nil
	}
	// good[0] is the newest in the store's order, whatever its time says.
	m := good[0].Meta
	b.LastGood = &SnapshotInfo{ID: m.ID, Time: m.Time, AgeSeconds: int64(now.Sub(m.Time).Seconds()), age: now.Sub(m.Time), Revision: m.Etcd.Revision, Reason: m.Reason, ClockWrong: newestWrong}
	return st, &good[0]
}

func checkImage(ctx context.Context, st *store.Store, snap *store.Snapshot, images ImageChecker) *ImageInfo {
	img := snap.Meta.Image
	info := &ImageInfo{Reference: img.Reference, Digest: img.Digest, InContainerd: ImageUnknown, Archived: st.HasImageArchive(img.Digest)}
	var present bool
	var err error
	switch {
	case img.Digest == "":
		err = errors.New("the snapshot records no image digest")
	case images == nil:
		err = errors.New("containerd not checked")
	default:
		ctx, cancel := context.WithTimeout(ctx, imageCheckTimeout)
		present, err = images.HasImage(ctx, img.Reference, img.Digest)
		cancel()
	}
	switch {
	case err != nil:
		info.ContainerdError = err.Error()
	case present:
		info.InContainerd = ImagePresent
	default:
		info.InContainerd = ImageMissing
	}
	return info
}

// checkLock asks whether another process holds the store lock, with a
// shared, non-blocking flock on the existing lock file: that conflicts with
// store.Lock's exclusive lock but, unlike store.Lock, neither creates the
// file nor records a holder.
func checkLock(st *store.Store) Lock {
	f, err := os.Open(filepath.Join(st.Dir, lockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Lock{} // never locked
	}
	if err != nil {
		return Lock{Error: err.Error()}
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return Lock{}
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return Lock{Error: fmt.Sprintf("flock %s: %v", f.Name(), err)}
	}
	l := Lock{Held: true}
	if l.Holder, err = st.LockHolder(); err != nil {
		l.Error = err.Error()
	}
	return l
}

func checkInstall(root, dataDir string) Install {
	in := Install{
		DropIn: isFile(filepath.Join(root, DropInPath)),
		Cron:   isFile(filepath.Join(root, CronPath)),
	}
	if dataDir != "" {
		in.FstabLine = fstabLine(filepath.Join(root, FstabPath), filepath.Clean(dataDir))
		in.Fstab = in.FstabLine != ""
	}
	return in
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// fstabLine returns the first fstab line mounting a tmpfs on dir, or "".
func fstabLine(path, dir string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 3 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if filepath.Clean(unescapeOctal(fields[1])) == dir && fields[2] == "tmpfs" {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// warnings lists what needs attention, one sentence each, saying what to do
// where that is clear.
func warnings(r *Report, maxAge time.Duration) []string {
	w := []string{}
	add := func(format string, args ...any) { w = append(w, fmt.Sprintf(format, args...)) }
	if r.ManifestError != "" {
		add("manifest: %s", r.ManifestError)
	}
	b := &r.Backups
	switch last := b.LastGood; {
	case last == nil && b.Error != "":
		add("no good backup: %s", b.Error)
	case last == nil:
		add("no good backup in %s: run `etcd-ramdisk backup`", b.Dir)
	case last.age > maxAge && !last.ClockWrong: // a wrong time is the clock warning's, below
		add("newest good backup %s is %s old (limit %s): is cron running `etcd-ramdisk backup`?", last.ID, time.Duration(last.AgeSeconds)*time.Second, maxAge)
	case b.Error != "":
		add("backup dir: %s", b.Error)
	}
	w = append(w, clockWarnings(b)...)
	d := &r.DataDir
	switch {
	case d.Error != "":
		add("data dir %s: %s", d.Path, d.Error)
	case d.Path != "" && r.Install.DropIn && !d.IsTmpfs():
		add("data dir %s is %s, yet the kubelet drop-in is installed: mount the tmpfs (see /etc/fstab)", d.Path, d.mountText())
	}
	if d.IsTmpfs() && d.UsedPercent > FullPercent {
		add("tmpfs %s is %.0f%% full (%s of %s): enlarge it (size= in /etc/fstab) or defragment etcd", d.Path, d.UsedPercent, Human(int64(d.UsedBytes)), Human(int64(d.SizeBytes)))
	}
	if img := r.Image; img != nil && !img.Archived && img.InContainerd != ImagePresent {
		where := "neither in containerd nor archived in the backup dir"
		if img.InContainerd == ImageUnknown {
			where = "not archived in the backup dir, and containerd could not be checked"
		}
		add("image %s@%s of the newest snapshot is %s: a restore could not run it", img.Reference, img.Digest, where)
	}
	if b.Suspect > 0 {
		add("%d suspect snapshot(s) kept aside (revision went backwards): inspect with `etcd-ramdisk list`", b.Suspect)
	}
	if len(b.Problems) > 0 {
		add("%d problem(s) in the backup dir: see `etcd-ramdisk list`", len(b.Problems))
	}
	return w
}
