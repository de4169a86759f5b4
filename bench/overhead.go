package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// OverheadConfig is the backup/restore cost experiment.
type OverheadConfig struct {
	Sizes []int64 // bytes of values etcdkv fill writes
	Runs  int     // runs per operation and size (medians)
}

// Target is the most etcd-ramdisk may cost at one size, as a ratio to etcd's
// bare tool (issue 13): backup ÷ `etcdctl snapshot save`, restore ÷
// `etcdutl snapshot restore`.
type Target struct{ Backup, Restore float64 }

// Targets by etcdkv fill size (13.5 MiB, 135 MiB and 1.35 GiB snapshots).
var Targets = map[int64]Target{
	10 << 20:  {Backup: 3, Restore: 4},
	100 << 20: {Backup: 1.5, Restore: 1.5},
	1 << 30:   {Backup: 1.2, Restore: 1.2},
}

// Timing is the runs of one operation at one size.
type Timing struct {
	Wall      []time.Duration `json:"wallNs"`
	MaxRSS    []int64         `json:"maxRssBytes"`
	DiskWrite []int64         `json:"diskWriteBytes"`
}

func (t *Timing) add(r *CmdRun) {
	t.Wall = append(t.Wall, r.Wall)
	t.MaxRSS = append(t.MaxRSS, r.MaxRSS)
	t.DiskWrite = append(t.DiskWrite, r.DiskWrite)
}

// Median wall time.
func (t Timing) Median() time.Duration {
	if len(t.Wall) == 0 {
		return 0
	}
	w := slices.Clone(t.Wall)
	slices.Sort(w)
	if len(w)%2 == 1 {
		return w[len(w)/2]
	}
	return (w[len(w)/2-1] + w[len(w)/2]) / 2
}

// PeakRSS is the largest max RSS over the runs.
func (t Timing) PeakRSS() int64 { return slices.Max(append([]int64{0}, t.MaxRSS...)) }

// SizeResult is one database size: etcd-ramdisk against the bare tools.
type SizeResult struct {
	Target       int64            `json:"targetBytes"`
	DBSize       int64            `json:"dbSizeBytes"`
	RawSnapshot  int64            `json:"rawSnapshotBytes"`
	Stored       int64            `json:"storedBytes"`
	Backup       Timing           `json:"backup"`      // etcd-ramdisk backup
	BareSave     Timing           `json:"bareSave"`    // etcdctl snapshot save to the persistent disk
	Restore      Timing           `json:"restore"`     // etcd-ramdisk restore --data-dir <fresh tmpfs dir>
	BackupSteps  StepTimes        `json:"backupSteps"` // from etcd-ramdisk's debug log
	RestoreSteps StepTimes        `json:"restoreSteps"`
	BareRestore  Timing           `json:"bareRestore"` // etcdutl snapshot restore into a fresh tmpfs dir
	Compression  []CompressResult `json:"compression"`
}

// RunOverhead measures each size on a bed of its own, torn down before the next.
func RunOverhead(ctx context.Context, e *Env, c OverheadConfig) ([]*SizeResult, error) {
	var out []*SizeResult
	for _, size := range c.Sizes {
		r, err := runSize(ctx, e, c, size)
		if err != nil {
			return out, fmt.Errorf("size %s: %w", human(size), err)
		}
		out = append(out, r)
	}
	return out, nil
}

func runSize(ctx context.Context, e *Env, c OverheadConfig, size int64) (*SizeResult, error) {
	o := slot(0)
	o.TmpfsSize = strconv.FormatInt(max(512<<20, 4*size), 10)
	o.QuotaBytes = 8 << 30
	b, err := e.upBed(ctx, "overhead", o, 0, DiskFormat{})
	defer b.down()
	if err != nil {
		return nil, err
	}
	r := &SizeResult{Target: size}
	if _, err := b.kv(ctx, "fill", "/bench/fill/", strconv.FormatInt(size, 10)); err != nil {
		return nil, err
	}
	if r.DBSize, err = b.dbSize(ctx); err != nil {
		return nil, err
	}
	// The first backup also archives the image (once per etcd version): not timed.
	if _, err := b.erd(ctx, "", "backup", "--reason", "install"); err != nil {
		return nil, err
	}
	bare, err := backupRuns(ctx, b, c.Runs, r)
	if err != nil {
		return nil, err
	}
	if err := restoreRuns(ctx, b, c.Runs, bare, r); err != nil {
		return nil, err
	}
	e.Log.Info("compression", "size", human(size), "raw", human(r.RawSnapshot))
	r.Compression, err = MeasureCompression(bare, min(c.Runs, 3))
	return r, err
}

// backupRuns alternates etcd-ramdisk backup and etcdctl snapshot save, writing a
// key before each so that the backup never skips an unchanged revision. It
// returns the last bare snapshot.
func backupRuns(ctx context.Context, b *bed, runs int, r *SizeResult) (string, error) {
	dir := filepath.Join(b.Dir, "bare")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	var last string
	warm := warmBytes(r.DBSize)
	for i := 0; i < runs; i++ {
		snap := filepath.Join(dir, fmt.Sprintf("snapshot-%d.db", i))
		steps := []func() error{
			func() error {
				b.env.warmMemory(warm)
				run, err := b.erdSteps(ctx, "backup", "--reason", "manual")
				if err == nil {
					r.Backup.add(run)
					r.BackupSteps.add(run.Stderr)
				}
				return err
			},
			func() error {
				b.env.warmMemory(warm)
				run, err := run(ctx, nil, append(append([]string{b.env.etcdctl()}, b.tlsFlags()...), "snapshot", "save", snap)...)
				if err == nil {
					r.BareSave.add(run)
				}
				return err
			},
		}
		if i%2 == 1 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for j, step := range steps {
			if _, err := b.kv(ctx, "put", "/bench/tick", fmt.Sprintf("%d-%d", i, j)); err != nil {
				return "", err
			}
			if err := step(); err != nil {
				return "", err
			}
		}
		if last != "" {
			os.Remove(last)
		}
		last = snap
	}
	fi, err := os.Stat(last)
	if err != nil {
		return "", err
	}
	r.RawSnapshot = fi.Size()
	r.Stored, err = newestStored(b)
	return last, err
}

// newestStored is the size of the newest .db.zst in the bed's store.
func newestStored(b *bed) (int64, error) {
	files, err := filepath.Glob(filepath.Join(b.BackupDir(), "snapshots", "*.db.zst"))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("no stored snapshot in %s", b.BackupDir())
	}
	slices.Sort(files) // ids start with the UTC time
	fi, err := os.Stat(files[len(files)-1])
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// restoreRuns restores into a fresh directory on a tmpfs each run (etcd keeps
// running on its own data dir), with etcd-ramdisk and with bare etcdutl using the
// same member flags and revision bump.
func restoreRuns(ctx context.Context, b *bed, runs int, bare string, r *SizeResult) error {
	tmp, err := b.mountTmpfs("restore", 3*r.RawSnapshot+256<<20)
	if err != nil {
		return err
	}
	o := b.Options
	warm := warmBytes(r.RawSnapshot)
	for i := 0; i < runs; i++ {
		dir := filepath.Join(tmp, fmt.Sprintf("erd-%d", i))
		b.env.warmMemory(warm)
		run, err := b.erdSteps(ctx, "restore", "--data-dir", dir)
		if err != nil {
			return err
		}
		r.Restore.add(run)
		r.RestoreSteps.add(run.Stderr)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		dir = filepath.Join(tmp, fmt.Sprintf("bare-%d", i))
		b.env.warmMemory(warm)
		run, err = runBareRestore(ctx, b, bare, dir, o)
		if err != nil {
			return err
		}
		r.BareRestore.add(run)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	return nil
}

func runBareRestore(ctx context.Context, b *bed, snap, dir string, o testbed.NodeOptions) (*CmdRun, error) {
	return run(ctx, nil, b.env.etcdutl(), "snapshot", "restore", snap, "--data-dir", dir,
		"--name", o.NodeName, "--initial-cluster", o.NodeName+"="+b.peerURL(),
		"--initial-advertise-peer-urls", b.peerURL(), "--bump-revision", "1000000000", "--mark-compacted")
}

// warmBytes is how much memory to touch before a timed run at a database of
// size db: more than the run allocates (a restore holds the staged snapshot
// and the restored database at once).
func warmBytes(db int64) int64 { return max(3*db, 256<<20) }

// warmMemory writes n bytes to a file on tmpfs and removes it, so that the
// timed run after it finds memory the kernel has handed out recently. On a VM
// whose host takes back the memory its guest frees (free page reporting, a
// balloon, DAMON reclaim), the first touch of such memory is slow: seen here,
// the same `etcdutl snapshot restore` of 1.35 GiB took 1.8-20.5 s cold and
// 1.90-1.97 s after this. It costs the same for both sides, and is skipped
// when memory is short.
func (e *Env) warmMemory(n int64) {
	if avail, err := hostfs.MemAvailable(); err != nil || n > avail/2 {
		return
	}
	f, err := os.CreateTemp(e.ShmDir, "warm-")
	if err != nil {
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	for w := int64(0); w < n; w += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}
