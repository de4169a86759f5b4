package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// SilenceConfig is the disk-silence experiment: the same Kubernetes-like write
// load against etcd on disk and etcd on tmpfs with etcd-ramdisk backing it up.
type SilenceConfig struct {
	Duration        time.Duration // load per setup
	BackupEvery     time.Duration // backup interval during the (time-compressed) run
	ProdBackupEvery time.Duration // the production interval the per-hour figures assume
	// ProdBackupEveryJournal is the production cron interval with the
	// journal on, which the (c) setups' per-hour figures assume: install
	// makes the cron backups rarer when the journal runs.
	ProdBackupEveryJournal time.Duration
	Rate                   float64 // load writes per second
	RealisticDB            int64   // the DB size of the third setup
	Parallel               bool    // run the setups at the same time (same background)
	Journal                bool    // also the (c) setups: cron backups and the journal service
	// Disk is the size of each setup's own loop disk (sparse), which
	// holds its backup dir and, for (a), etcd's data dir: ext4 with its
	// defaults unless the setup names another format.
	Disk int64
	// JournalDisks are more (c) setups at the journal's default interval on
	// the realistic DB, each with its disk in one of these formats (xfs;
	// ext4 with a longer commit interval): what the same journal costs a
	// disk whose filesystem commits differently.
	JournalDisks []DiskFormat
}

// prodEvery is the production backup interval setup s assumes.
func (c SilenceConfig) prodEvery(s Setup) time.Duration {
	if s.JournalEvery > 0 {
		return c.ProdBackupEveryJournal
	}
	return c.ProdBackupEvery
}

// journalIntervals are the (c) setups' intervals: 1 s, the shortest the
// journal was measured at, and journal.DefaultInterval and
// journal.MaxInterval (5 s), in order, each once.
func journalIntervals() []time.Duration {
	iv := []time.Duration{time.Second, journal.DefaultInterval, journal.MaxInterval}
	slices.Sort(iv)
	return slices.Compact(iv)
}

// Setup is one arm of the experiment.
type Setup struct {
	Name         string        `json:"name"`
	Label        string        `json:"label"`
	Short        string        `json:"short"` // the label in the ratio rows and the cross-check table
	Tmpfs        bool          `json:"tmpfs"`
	Backups      bool          `json:"backups"`
	Fill         int64         `json:"fillBytes"`
	JournalEvery time.Duration `json:"journalIntervalNs,omitempty"` // run the journal service with this --interval
	Disk         DiskFormat    `json:"disk"`                        // the loop disk's filesystem
}

// Setups are (a) disk, (b) tmpfs + etcd-ramdisk, (b) the same at a realistic DB
// size and, with Journal, (c) the (b) setups with the journal service beside
// the cron backups, at each of journalIntervals on both sizes, and at the
// default interval on the realistic size on each of JournalDisks.
func (c SilenceConfig) Setups() []Setup {
	db := human(c.RealisticDB) + " DB"
	s := []Setup{
		{Name: "disk", Label: "(a) etcd on disk", Short: "(a)", Tmpfs: false},
		{Name: "tmpfs", Label: "(b) etcd on tmpfs + etcd-ramdisk", Short: "(b)", Tmpfs: true, Backups: true},
		{Name: "tmpfs-db", Label: "(b) tmpfs + etcd-ramdisk, " + db, Short: "(b), " + db, Tmpfs: true, Backups: true, Fill: c.RealisticDB},
	}
	if !c.Journal {
		return s
	}
	for _, iv := range journalIntervals() {
		n := iv.String()
		if iv == journal.DefaultInterval {
			n += " (default)"
		}
		s = append(s,
			Setup{Name: "journal-" + iv.String(), Label: "(c) tmpfs + etcd-ramdisk cron + journal " + n, Short: "(c) " + iv.String(), Tmpfs: true, Backups: true, JournalEvery: iv},
			Setup{Name: "journal-" + iv.String() + "-db", Label: "(c) tmpfs + cron + journal " + n + ", " + db, Short: "(c) " + iv.String() + ", " + db, Tmpfs: true, Backups: true, Fill: c.RealisticDB, JournalEvery: iv})
	}
	iv := journal.DefaultInterval
	for _, f := range c.JournalDisks {
		s = append(s, Setup{Name: "journal-" + iv.String() + "-db-" + unsafeName.ReplaceAllString(f.String(), "-"),
			Label: "(c) tmpfs + cron + journal " + iv.String() + " (default), " + db + ", disk " + f.String(),
			Short: "(c) " + iv.String() + ", " + db + ", " + f.String(), Tmpfs: true, Backups: true, Fill: c.RealisticDB, JournalEvery: iv, Disk: f})
	}
	return s
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// BackupRun is one scheduled backup inside the window.
type BackupRun struct {
	At        time.Duration `json:"atNs"`
	Wall      time.Duration `json:"wallNs"`
	DiskWrite int64         `json:"diskWriteBytes"` // etcd-ramdisk (and strace, writing to tmpfs) via wait4 ru_oublock
	Sync      SyncCount     `json:"sync"`
	Output    string        `json:"output"`
	// Device is what the setup's disk received from the backup's start to
	// its end or, with the journal, to the journal's rotation onto the new
	// snapshot (Rotated; at most a bounded wait): DeviceWall long.
	Device     DiskStat      `json:"device"`
	DeviceWall time.Duration `json:"deviceWallNs"`
	Rotated    bool          `json:"rotated,omitempty"`
}

// Sample is cumulative bytes sent to persistent storage at T seconds into the window.
type Sample struct {
	T     float64 `json:"t"`
	Bytes int64   `json:"bytes"`
}

// SilenceResult is one setup's measurement.
type SilenceResult struct {
	Setup
	DBSize        int64          `json:"dbSizeBytes"`
	Window        time.Duration  `json:"windowNs"`
	Writes        int64          `json:"writes"`
	EtcdPID       int            `json:"etcdPid"`
	ShimPID       int            `json:"shimPid"`
	EtcdIO        IOCounters     `json:"etcdIO"`
	EtcdSync      SyncCount      `json:"etcdSync"`
	EtcdWALFsyncs float64        `json:"etcdWalFsyncMetric"`      // etcd_disk_wal_fsync_duration_seconds_count delta
	EtcdCommits   float64        `json:"etcdBackendCommitMetric"` // etcd_disk_backend_commit_duration_seconds_count delta
	BackupRuns    []BackupRun    `json:"backupRuns"`
	ShimIO        IOCounters     `json:"shimIO"` // the pod's shim: its own writes and its reaped children's (exec'd etcdctl/etcdutl, runc)
	ShimSync      SyncCount      `json:"shimSync"`
	ContainerdIO  IOCounters     `json:"containerdIO"`
	Disk          DiskStat       `json:"disk"`     // the whole device, all machine activity
	LoopDisk      *loopDisk      `json:"loopDisk"` // the setup's own disk
	Loop          DiskStat       `json:"loop"`     // what it received over the window
	Journal       *JournalResult `json:"journal,omitempty"`
	Samples       []Sample       `json:"samples"`
	PerHour       PerHour        `json:"perHour"`
}

// PerHour extrapolates: etcd and other continuous writers at their measured rate,
// backups at their measured cost each times the production backups per hour.
type PerHour struct {
	Bytes          float64 `json:"bytes"`
	Fsyncs         float64 `json:"fsyncs"`
	BackupsPerHour float64 `json:"backupsPerHour"`
	BackupBytes    float64 `json:"backupBytesEach"`
	BackupFsyncs   float64 `json:"backupFsyncsEach"`
	// The journal service (in Bytes and Fsyncs): its bytes and the sync calls
	// in the chain it follows at their measured rate, those of its rotations
	// (one per new snapshot) at their mean per backup times BackupsPerHour.
	JournalBytes     float64 `json:"journalBytes,omitempty"`
	JournalFsyncs    float64 `json:"journalFsyncs,omitempty"`
	JournalRotFsyncs float64 `json:"journalRotationFsyncsEach,omitempty"`
	// At the setup's own disk: what it received outside the backups at
	// its measured rate, plus each backup's mean (with the journal's
	// rotation after it) times BackupsPerHour.
	DeviceBytes         float64 `json:"deviceBytes"`
	DeviceFlushes       float64 `json:"deviceFlushes"`
	DeviceBackupBytes   float64 `json:"deviceBackupBytesEach"`
	DeviceBackupFlushes float64 `json:"deviceBackupFlushesEach"`
}

// RunSilence measures every setup (in parallel when configured) and tears each bed down.
func RunSilence(ctx context.Context, e *Env, c SilenceConfig) ([]*SilenceResult, error) {
	setups := c.Setups()
	res := make([]*SilenceResult, len(setups))
	errs := make([]error, len(setups))
	ctx, cancel := context.WithCancel(ctx) // one failed setup stops the others
	defer cancel()
	var wg sync.WaitGroup
	for i, s := range setups {
		f := func() {
			if res[i], errs[i] = runSetup(ctx, e, c, s, slot(i)); errs[i] != nil {
				cancel()
			}
		}
		if c.Parallel {
			wg.Add(1)
			go func() { defer wg.Done(); f() }()
		} else {
			f()
		}
	}
	wg.Wait()
	return res, errors.Join(errs...)
}

// slot gives concurrent beds their own address and ports, away from the e2e
// suite's 127.0.0.2 and 2379-2381.
func slot(i int) testbed.NodeOptions {
	return testbed.NodeOptions{IP: fmt.Sprintf("127.0.0.%d", 7+i), ClientPort: 22379 + 10*i, PeerPort: 22380 + 10*i, MetricsPort: 22381 + 10*i}
}

func runSetup(ctx context.Context, e *Env, c SilenceConfig, s Setup, o testbed.NodeOptions) (*SilenceResult, error) {
	o.NoTmpfs = !s.Tmpfs
	if s.Fill > 0 {
		o.TmpfsSize = strconv.FormatInt(max(512<<20, 4*s.Fill), 10)
	}
	b, err := e.upBed(ctx, "silence-"+s.Name, o, c.Disk, s.Disk)
	defer b.down()
	if err != nil {
		return nil, err
	}
	r := &SilenceResult{Setup: s, LoopDisk: b.disk}
	if err := prepareSetup(ctx, b, s); err != nil {
		return nil, err
	}
	if r.DBSize, err = b.dbSize(ctx); err != nil {
		return nil, err
	}
	if err := measureWindow(ctx, b, c, r); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Label, err)
	}
	r.PerHour = perHour(r, c.prodEvery(s))
	return r, nil
}

// prepareSetup fills the DB and, for backup setups, takes a first backup outside
// the window: it also archives the image, which happens once per etcd version.
func prepareSetup(ctx context.Context, b *bed, s Setup) error {
	if s.Fill > 0 {
		if _, err := b.kv(ctx, "fill", "/bench/fill/", strconv.FormatInt(s.Fill, 10)); err != nil {
			return err
		}
	}
	if s.Backups {
		// etcd-ramdisk refuses to store a snapshot of a never-written etcd (revision 0).
		if _, err := b.kv(ctx, "put", "/bench/init", "1"); err != nil {
			return err
		}
		if _, err := b.erd(ctx, "", "backup", "--reason", "install"); err != nil {
			return err
		}
	}
	return nil
}

// probes are the processes whose counters make up "persistent bytes" for a setup.
type probes struct {
	etcd, shim, containerd int
	dev                    string
	loop                   *loopDisk
}

type probeCounters struct {
	etcd, shim, ctrd IOCounters
	disk, loop       DiskStat
}

func (p probes) read() (probeCounters, error) {
	var c probeCounters
	var errs [5]error
	c.etcd, errs[0] = ReadIO(p.etcd)
	c.shim, errs[1] = ReadIO(p.shim)
	c.ctrd, errs[2] = ReadIO(p.containerd)
	c.disk, errs[3] = ReadDiskStat(p.dev)
	if p.loop != nil {
		c.loop, errs[4] = p.loop.stat()
	}
	return c, errors.Join(errs[:]...)
}

func findProbes(b *bed) (probes, error) {
	p := probes{loop: b.disk}
	var err error
	if p.etcd, err = FindEtcdPID(b.Options.ClientPort); err != nil {
		return p, err
	}
	if p.shim, err = ParentPID(p.etcd); err != nil {
		return p, err
	}
	if p.containerd, err = b.containerdPID(); err != nil {
		return p, err
	}
	p.dev, err = BlockDevice(b.Dir)
	return p, err
}

func measureWindow(ctx context.Context, b *bed, c SilenceConfig, r *SilenceResult) error {
	p, err := findProbes(b)
	if err != nil {
		return err
	}
	r.EtcdPID, r.ShimPID = p.etcd, p.shim
	scratch := filepath.Join(b.env.ShmDir, "silence-"+r.Name) // on tmpfs: strace's output costs no disk writes
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return err
	}
	etcdTrace, err := AttachStrace(ctx, filepath.Join(scratch, "etcd.strace"), p.etcd)
	if err != nil {
		return err
	}
	defer etcdTrace.Stop()
	shimTrace, err := AttachStrace(ctx, filepath.Join(scratch, "shim.strace"), p.shim)
	if err != nil {
		return err
	}
	defer shimTrace.Stop()
	var j *journalProc
	if r.JournalEvery > 0 {
		if j, err = b.startJournal(ctx, scratch, r.JournalEvery); err != nil {
			return err
		}
		defer j.stop()
	}

	wal0, _ := b.etcdMetric(ctx, "etcd_disk_wal_fsync_duration_seconds_count")
	commit0, _ := b.etcdMetric(ctx, "etcd_disk_backend_commit_duration_seconds_count")
	c0, err := p.read()
	if err != nil {
		return err
	}
	etcd0, shim0 := c0.etcd, c0.shim
	var j0 journalCounters
	if j != nil {
		if j0, err = j.read(); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	start := time.Now()

	var mu sync.Mutex
	var backupBytes int64
	sampler := startSampler(start, func() int64 {
		etcd, _ := ReadIO(p.etcd)
		shim, _ := ReadIO(p.shim)
		var jb int64
		if j != nil {
			if io, err := ReadIO(j.pid); err == nil {
				jb = io.WriteBytes - j0.io.WriteBytes
			}
		}
		mu.Lock()
		defer mu.Unlock()
		return etcd.WriteBytes - etcd0.WriteBytes + shim.WriteBytes - shim0.WriteBytes + jb + backupBytes
	})

	loadDone := make(chan error, 1)
	go func() {
		out, err := b.kv(ctx, "load", "--duration", c.Duration.String(), "--rate", strconv.FormatFloat(c.Rate, 'f', -1, 64))
		if err == nil {
			r.Writes, err = strconv.ParseInt(out, 10, 64)
		}
		loadDone <- err
	}()
	if r.Backups {
		// Mid-interval (every/2, 3·every/2, …) keeps every backup inside the load,
		// so none is skipped for an unchanged revision.
		for k := 1; time.Duration(k)*c.BackupEvery <= c.Duration; k++ {
			if err := sleepUntil(ctx, start.Add(time.Duration(k)*c.BackupEvery-c.BackupEvery/2)); err != nil {
				return err
			}
			br, err := deviceBackup(ctx, b, j, scratch, k, start)
			if err != nil {
				return err
			}
			mu.Lock()
			backupBytes += br.DiskWrite
			r.BackupRuns = append(r.BackupRuns, *br)
			mu.Unlock()
		}
	}
	if err := <-loadDone; err != nil {
		return fmt.Errorf("load: %w", err)
	}
	c1, err := p.read()
	if err != nil {
		return err
	}
	r.Window = time.Since(start)
	if j != nil {
		if err := stopJournal(j, j0, r); err != nil {
			return err
		}
	}
	r.Samples = sampler.stop()
	wal1, _ := b.etcdMetric(ctx, "etcd_disk_wal_fsync_duration_seconds_count")
	commit1, _ := b.etcdMetric(ctx, "etcd_disk_backend_commit_duration_seconds_count")
	r.EtcdWALFsyncs, r.EtcdCommits = wal1-wal0, commit1-commit0
	r.EtcdIO, r.ShimIO, r.ContainerdIO, r.Disk = c1.etcd.Sub(c0.etcd), c1.shim.Sub(c0.shim), c1.ctrd.Sub(c0.ctrd), c1.disk.Sub(c0.disk)
	r.Loop = c1.loop.Sub(c0.loop)
	last := r.EtcdIO.WriteBytes + r.ShimIO.WriteBytes + backupBytes
	if r.Journal != nil {
		last += r.Journal.IO.WriteBytes
	}
	r.Samples = append(r.Samples, Sample{T: r.Window.Seconds(), Bytes: last})
	return classifyTraces(b, p, r, etcdTrace, shimTrace)
}

// stopJournal reads the service's counters at the window's end, stops it
// (SIGTERM: it flushes and closes its chain, outside the window) and
// counts its sync calls inside the window.
func stopJournal(j *journalProc, j0 journalCounters, r *SilenceResult) error {
	j1, err := j.read()
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	r.Journal = &JournalResult{ExitCode: j.stop()}
	host, err := readMounts(0)
	if err != nil {
		return err
	}
	return j.measure(r.Journal, j0, j1, host)
}

// classifyTraces counts the sync calls by filesystem while the bed still runs:
// etcd's paths are in its container's mount namespace; in the shim's trace, the
// tools exec'd in the etcd container see that namespace, the shim and runc
// containerd's.
func classifyTraces(b *bed, p probes, r *SilenceResult, etcdTrace, shimTrace *Tracer) error {
	etcdTrace.Stop()
	shimTrace.Stop()
	etcdMounts, err := readMounts(p.etcd)
	if err != nil {
		return err
	}
	ctrdMounts, err := readMounts(p.containerd)
	if err != nil {
		return err
	}
	et, err := ParseTraceFile(etcdTrace.Out)
	if err != nil {
		return err
	}
	r.EtcdSync = et.Classify(func(string) mountTable { return etcdMounts })
	st, err := ParseTraceFile(shimTrace.Out)
	if err != nil {
		return err
	}
	r.ShimSync = st.Classify(func(comm string) mountTable {
		switch comm {
		case "etcdctl", "etcdutl", "etcd":
			return etcdMounts
		}
		return ctrdMounts
	})
	return nil
}

// deviceBackup runs one scheduled backup and reads what the setup's disk
// received meanwhile: with the journal, until the service follows the new
// snapshot (its rotation writes the new chain and removes the old), at most
// a bounded wait after the backup.
func deviceBackup(ctx context.Context, b *bed, j *journalProc, scratch string, k int, start time.Time) (*BackupRun, error) {
	if b.disk == nil {
		return scheduledBackup(ctx, b, scratch, k, start)
	}
	var before string
	if j != nil {
		if s, err := journal.ReadState(j.state); err == nil {
			before = s.SnapshotID
		}
	}
	d0, err := b.disk.stat()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	br, err := scheduledBackup(ctx, b, scratch, k, start)
	if err != nil {
		return nil, err
	}
	if j != nil {
		if br.Rotated, err = j.waitRotated(ctx, before); err != nil {
			return nil, err
		}
		if !br.Rotated {
			b.env.Log.Warn("the journal did not follow the new snapshot in time: its rotation counts as continuous", "bed", b.name, "backup", k)
		}
	}
	d1, err := b.disk.stat()
	if err != nil {
		return nil, err
	}
	br.Device, br.DeviceWall = d1.Sub(d0), time.Since(t0)
	return br, nil
}

// scheduledBackup runs etcd-ramdisk backup under strace; host paths, host mounts.
func scheduledBackup(ctx context.Context, b *bed, scratch string, k int, start time.Time) (*BackupRun, error) {
	out := filepath.Join(scratch, fmt.Sprintf("backup-%d.strace", k))
	at := time.Since(start)
	run, err := b.erd(ctx, out, "backup", "--reason", "cron")
	if err != nil {
		return nil, err
	}
	tr, err := ParseTraceFile(out)
	if err != nil {
		return nil, err
	}
	host, err := readMounts(0)
	if err != nil {
		return nil, err
	}
	b.env.Log.Info("backup", "bed", b.name, "n", k, "out", run.Stdout, "diskWrite", run.DiskWrite)
	return &BackupRun{At: at, Wall: run.Wall, DiskWrite: run.DiskWrite, Sync: tr.Classify(func(string) mountTable { return host }), Output: run.Stdout}, nil
}

func perHour(r *SilenceResult, prodEvery time.Duration) PerHour {
	secs := r.Window.Seconds()
	var ph PerHour
	ph.BackupsPerHour = time.Hour.Seconds() / prodEvery.Seconds()
	etcdBytes := float64(r.EtcdIO.WriteBytes) / secs * 3600
	etcdSyncs := float64(r.EtcdSync.Persistent) / secs * 3600
	shimBytes, shimSyncs := float64(r.ShimIO.WriteBytes), float64(r.ShimSync.Persistent)
	if n := len(r.BackupRuns); n > 0 {
		var bb, bs float64
		for _, x := range r.BackupRuns {
			bb += float64(x.DiskWrite)
			bs += float64(x.Sync.Persistent)
		}
		// The shim's part is the tools exec'd for the backups.
		ph.BackupBytes = (bb + shimBytes) / float64(n)
		ph.BackupFsyncs = (bs + shimSyncs) / float64(n)
		ph.Bytes = etcdBytes + ph.BackupBytes*ph.BackupsPerHour
		ph.Fsyncs = etcdSyncs + ph.BackupFsyncs*ph.BackupsPerHour
		if j := r.Journal; j != nil {
			// The last backup's rotation may come after the window's end: the
			// mean is per rotation seen in the window, per backup without one.
			rotations := j.Rotations
			if rotations == 0 {
				rotations = n
			}
			ph.JournalRotFsyncs = float64(j.Rotation.Persistent) / float64(rotations)
			ph.JournalBytes = float64(j.IO.WriteBytes) / secs * 3600
			ph.JournalFsyncs = float64(j.Continuous.Persistent)/secs*3600 + ph.JournalRotFsyncs*ph.BackupsPerHour
			ph.Bytes += ph.JournalBytes
			ph.Fsyncs += ph.JournalFsyncs
		}
		devicePerHour(&ph, r)
		return ph
	}
	ph.BackupsPerHour = 0
	ph.Bytes = etcdBytes + shimBytes/secs*3600
	ph.Fsyncs = etcdSyncs + shimSyncs/secs*3600
	devicePerHour(&ph, r)
	return ph
}

// devicePerHour fills the disk's per-hour figures. Over the window W the
// disk got T; the backups (each to its journal rotation) got B in wb
// seconds, which also hold continuous writes at the rate c of the rest:
// c = (T-B)/(W-wb), each backup (B - c·wb)/n.
func devicePerHour(ph *PerHour, r *SilenceResult) {
	w := r.Window.Seconds()
	var bs DiskStat
	var wb float64
	for _, x := range r.BackupRuns {
		bs.SectorsWritten += x.Device.SectorsWritten
		bs.Flushes += x.Device.Flushes
		wb += x.DeviceWall.Seconds()
	}
	n := float64(len(r.BackupRuns))
	if n == 0 || wb >= w {
		ph.DeviceBytes = float64(r.Loop.SectorsWritten*512) / w * 3600
		ph.DeviceFlushes = float64(r.Loop.Flushes) / w * 3600
		return
	}
	rate := func(total, backups int64) (cont, each float64) {
		cont = max(0, float64(total-backups)/(w-wb))
		return cont, max(0, (float64(backups)-cont*wb)/n)
	}
	cb, eb := rate(r.Loop.SectorsWritten*512, bs.SectorsWritten*512)
	cf, ef := rate(r.Loop.Flushes, bs.Flushes)
	ph.DeviceBackupBytes, ph.DeviceBackupFlushes = eb, ef
	ph.DeviceBytes = cb*3600 + eb*ph.BackupsPerHour
	ph.DeviceFlushes = cf*3600 + ef*ph.BackupsPerHour
}

func sleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(t)):
		return nil
	}
}

type sampler struct {
	stopc chan struct{}
	done  chan []Sample
}

// startSampler records f() about every second.
func startSampler(start time.Time, f func() int64) *sampler {
	s := &sampler{stopc: make(chan struct{}), done: make(chan []Sample, 1)}
	go func() {
		out := []Sample{{T: 0, Bytes: 0}}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-s.stopc:
				s.done <- out
				return
			case <-tick.C:
				out = append(out, Sample{T: time.Since(start).Seconds(), Bytes: f()})
			}
		}
	}()
	return s
}

func (s *sampler) stop() []Sample {
	close(s.stopc)
	return <-s.done
}

// human prints a byte count in binary units.
func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.3g GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.3g MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.3g KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
