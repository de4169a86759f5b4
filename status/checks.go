package status

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// imageCheckTimeout bounds the containerd lookup, so a hung containerd
// cannot hang status.
const imageCheckTimeout = 10 * time.Second

// Mount is one line of /proc/self/mountinfo.
type Mount = hostfs.Mount

// FSStats is what statfs(2) says about a filesystem, in bytes.
type FSStats = hostfs.FSStats

func checkDataDir(path string, mounts func() ([]Mount, error), statfs func(string) (FSStats, error)) DataDir {
	d := DataDir{Path: filepath.Clean(path)}
	var errs []string
	ms, err := mounts()
	if err != nil {
		errs = append(errs, fmt.Sprintf("read mounts: %v", err))
	}
	if m, ok := hostfs.FindMount(ms, d.Path); ok {
		d.Mounted, d.FSType, d.Source = true, m.FSType, m.Source
		st, err := statfs(d.Path)
		if err != nil {
			errs = append(errs, fmt.Sprintf("statfs: %v", err))
		} else {
			d.SizeBytes, d.UsedBytes, d.FreeBytes = st.Size, st.Used, st.Free
			d.UsedPercent = percent(int64(st.Used), st.Size)
		}
	}
	fi, err := os.Stat(manifest.DBPath(d.Path))
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

func percent(n int64, of uint64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) * 100 / float64(of)
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
	st, err := store.OpenExisting(dir)
	if err != nil {
		b.Error = err.Error()
		_, serr := os.Stat(dir)
		b.Missing = errors.Is(serr, fs.ErrNotExist)
		return nil, nil
	}
	b.ReadOnly = checkWritable(st)
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

// checkLock asks the store whether another process holds its lock, without
// taking it or creating the lock file.
func checkLock(st *store.Store) Lock {
	held, holder, err := st.LockState()
	l := Lock{Held: held, Holder: holder}
	if err != nil {
		l.Error = err.Error()
	}
	return l
}

// checkInstall looks under root for what install writes (assets.Installed).
func checkInstall(root, dataDir string) Install {
	in := Install{
		DropIn: isFile(filepath.Join(root, assets.DropIn.Path)),
		Cron:   isFile(filepath.Join(root, assets.Cron.Path)),
	}
	if dataDir != "" {
		in.FstabLine = fstabLine(filepath.Join(root, assets.Fstab.Path), dataDir)
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
	data, _, err := hostfs.ReadFstab(path)
	if err != nil {
		return ""
	}
	return hostfs.FstabTmpfsEntry(data, dir)
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
