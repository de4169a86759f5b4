package bench

import (
	"fmt"
	"io"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
)

// Results is everything one bench run measured; results.json is this struct.
type Results struct {
	Mode      string           `json:"mode"`
	Started   time.Time        `json:"started"`
	Took      time.Duration    `json:"tookNs"`
	Host      HostInfo         `json:"host"`
	Silence   SilenceConfig    `json:"silenceConfig"`
	Overhead  OverheadConfig   `json:"overheadConfig"`
	Restore   RestoreConfig    `json:"restoreConfig"`
	Check     *CounterCheck    `json:"counterCheck,omitempty"`
	Setups    []*SilenceResult `json:"silence,omitempty"`
	Sizes     []*SizeResult    `json:"overhead,omitempty"`
	Restores  []*RestoreResult `json:"restore,omitempty"`
	ChartFile string           `json:"chart,omitempty"`
}

// HostInfo says what the figures were taken on.
type HostInfo struct {
	CPUs    int    `json:"cpus"`
	Kernel  string `json:"kernel"`
	LoadAvg string `json:"loadavg"` // at the start: the machine may be shared
}

// WriteMarkdown prints one table per section.
func (r *Results) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "# etcd-ramdisk benchmarks (%s mode)\n\n", r.Mode)
	fmt.Fprintf(w, "Started %s, took %s; %d CPUs, kernel %s, load average at start %s. Figures only: nothing here is asserted.\n\n",
		r.Started.UTC().Format(time.RFC3339), r.Took.Round(time.Second), r.Host.CPUs, r.Host.Kernel, r.Host.LoadAvg)
	if len(r.Setups) > 0 {
		r.writeSilence(w)
	}
	if len(r.Sizes) > 0 {
		r.writeOverhead(w)
	}
	if len(r.Restores) > 0 {
		r.writeRestore(w)
	}
}

func (r *Results) writeSilence(w io.Writer) {
	c := r.Silence
	fmt.Fprintf(w, "## 1. Disk silence\n\n")
	fmt.Fprintf(w, "Load: `etcdkv load --rate %g` (node lease every 10 s, two leader-election leases every 2 s, events and pod status updates: %g writes/s in all) for %s per setup%s. "+
		"Backups every %s during the window (time-compressed); per hour assumes etcd's measured rate and the measured cost per backup at the production cron interval: "+
		"one backup every %s (%g/h) for (b), every %s (%g/h) for (c), where the journal lets install write the cron backup less often.\n\n",
		c.Rate, c.Rate, c.Duration, map[bool]string{true: ", setups run at the same time", false: ", one setup after another"}[c.Parallel], c.BackupEvery,
		c.ProdBackupEvery, perHourOf(c.ProdBackupEvery), c.ProdBackupEveryJournal, perHourOf(c.ProdBackupEveryJournal))
	fmt.Fprintln(w, "| setup | DB | window | writes | backups | etcd → disk | etcd fsyncs disk / tmpfs | per backup → disk | per backup fsyncs disk / tmpfs | journal → disk | journal fsyncs disk / tmpfs | **disk bytes / h** | **disk fsyncs / h** |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range r.Setups {
		var bsync SyncCount
		for _, b := range s.BackupRuns {
			bsync.Add(b.Sync)
		}
		bsync.Add(s.ShimSync)
		perBackup, perBackupSync := "–", "–"
		if n := len(s.BackupRuns); n > 0 {
			perBackup = human(int64(s.PerHour.BackupBytes))
			perBackupSync = fmt.Sprintf("%.3g / %.3g", float64(bsync.Persistent)/float64(n), float64(bsync.Volatile)/float64(n))
		}
		jBytes, jSync := "–", "–"
		if j := s.Journal; j != nil {
			jBytes, jSync = human(j.IO.WriteBytes), fmt.Sprintf("%d / %d", j.Sync.Persistent, j.Sync.Volatile)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d | %d | %s | %d / %d | %s | %s | %s | %s | **%s** | **%s** |\n",
			s.Label, human(s.DBSize), s.Window.Round(100*time.Millisecond), s.Writes, len(s.BackupRuns),
			human(s.EtcdIO.WriteBytes), s.EtcdSync.Persistent, s.EtcdSync.Volatile, perBackup, perBackupSync, jBytes, jSync,
			human(int64(s.PerHour.Bytes)), count(s.PerHour.Fsyncs))
	}
	ratioRow := func(a, b *SilenceResult) {
		fmt.Fprintf(w, "| *%s ÷ %s* | | | | | | | | | | | *%s* | *%s* |\n", a.Short, b.Short,
			ratio(a.PerHour.Bytes, b.PerHour.Bytes), ratio(a.PerHour.Fsyncs, b.PerHour.Fsyncs))
	}
	if base := r.Setups[0]; !base.Tmpfs {
		for _, s := range r.Setups[1:] {
			ratioRow(base, s)
		}
	}
	for _, s := range r.Setups {
		if b := cronOnly(r.Setups, s); b != nil {
			ratioRow(s, b)
		}
	}
	r.writeDevice(w)
	r.writeJournal(w)
	fmt.Fprintf(w, "\nCross-checks (same windows). etcd's wchar is what it passed to write(2); write_bytes what reached the block layer. "+
		"The device counters cover the whole machine (other work included%s).\n\n", map[bool]string{true: ", and all setups at once", false: ""}[c.Parallel])
	fmt.Fprintln(w, "| setup | etcd wchar | etcd write_bytes | etcd WAL fsyncs (metric) | etcd backend commits (metric) | etcd sync calls (strace) | exec'd tools → disk (shim) | containerd → disk (not in totals) | device written | device flushes |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range r.Setups {
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %.0f | %d | %s | %s | %s | %d |\n", s.Short, human(s.EtcdIO.WChar), human(s.EtcdIO.WriteBytes),
			s.EtcdWALFsyncs, s.EtcdCommits, s.EtcdSync.Total(), human(s.ShimIO.WriteBytes), human(s.ContainerdIO.WriteBytes),
			human(s.Disk.SectorsWritten*512), s.Disk.Flushes)
	}
	if ch := r.Check; ch != nil {
		fmt.Fprintf(w, "\nCounter check: `dd` of %s with `conv=fsync` into tmpfs (%s) was charged %s of write_bytes; into %s (%s) %s.\n",
			human(ch.Bytes), ch.TmpfsDir, human(ch.TmpfsWrite), ch.DiskFS, ch.DiskDir, human(ch.DiskWrite))
	}
	if r.ChartFile != "" {
		fmt.Fprintf(w, "\nChart: cumulative bytes sent to persistent storage over the window: `%s`.\n", r.ChartFile)
	}
	fmt.Fprintln(w)
}

// cronOnly is the setup with cron backups only at the same DB size as the
// journal setup s; nil when s has no journal or there is none.
func cronOnly(setups []*SilenceResult, s *SilenceResult) *SilenceResult {
	if s.Journal == nil {
		return nil
	}
	for _, b := range setups {
		if b.Backups && b.JournalEvery == 0 && b.Fill == s.Fill {
			return b
		}
	}
	return nil
}

// writeJournal prints what the journal service of each (c) setup cost.
func (r *Results) writeJournal(w io.Writer) {
	var js []*SilenceResult
	for _, s := range r.Setups {
		if s.Journal != nil {
			js = append(js, s)
		}
	}
	if len(js) == 0 {
		return
	}
	fmt.Fprintf(w, "\nThe journal service (`etcd-ramdisk journal`, run for the whole window beside the cron backups; its own /proc counters, its sync calls traced with strace --seccomp-bpf). "+
		"Continuous: the sync calls in the chain it follows (one fdatasync per group commit; a new segment when one fills), per hour at their measured rate. "+
		"Rotation: starting the next snapshot's chain after each backup (journal/.new, placing it, removing the old chain), per hour once per backup (%g/h). "+
		"Bytes are write_bytes at the measured rate, rotations included. CPU is utime+stime over the window, peak RSS VmHWM at its end. "+
		"Targets (issue 22): peak RSS ≤ %s, CPU ≤ %g %% of one core, at this load.\n\n", perHourOf(r.Silence.ProdBackupEveryJournal), human(JournalRSSTarget), JournalCPUTarget)
	fmt.Fprintln(w, "| setup | interval | journal → disk (wchar) | continuous fsyncs disk / tmpfs | rotations | fsyncs disk per rotation | its own count: bytes / syncs | **journal bytes / h** | **journal fsyncs / h** | **peak RSS** | | **CPU, % of one core** | |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|")
	for _, s := range js {
		j := s.Journal
		fmt.Fprintf(w, "| %s | %s | %s (%s) | %d / %d | %d | %.3g | %s / %d | **%s** | **%s** | **%s** | %s | **%.2f** | %s |\n", s.Short, j.Interval,
			human(j.IO.WriteBytes), human(j.IO.WChar), j.Continuous.Persistent, j.Continuous.Volatile, j.Rotations, s.PerHour.JournalRotFsyncs,
			human(j.OwnBytes), j.OwnSyncs, human(int64(s.PerHour.JournalBytes)), count(s.PerHour.JournalFsyncs),
			human(j.PeakRSS), met(float64(j.PeakRSS), float64(JournalRSSTarget)), j.CPUShare, met(j.CPUShare, JournalCPUTarget))
	}
	for _, s := range js {
		for _, l := range s.Journal.Warnings {
			fmt.Fprintf(w, "\n%s journal warned: `%s`", s.Short, l)
		}
		if s.Journal.ExitCode != 0 {
			fmt.Fprintf(w, "\n%s journal exited %d after SIGTERM.", s.Short, s.Journal.ExitCode)
		}
	}
}

// The journal's targets (issue 22), at the default interval.
const (
	JournalRSSTarget    = 64 << 20 // peak RSS
	JournalCPUTarget    = 2.0      // % of one core
	DeviceFlushesTarget = 1000     // flushes/h the disk receives
	RestoreRatioTarget  = 2.0      // journal restore ÷ snapshot-only restore
)

func perHourOf(every time.Duration) float64 { return time.Hour.Seconds() / every.Seconds() }

// writeDevice prints what each setup's own disk received, beside the
// per-process figures, and the (c) setups against the targets.
func (r *Results) writeDevice(w io.Writer) {
	if r.Setups[0].LoopDisk == nil {
		return
	}
	fmt.Fprintf(w, "\nAt the disk itself: each setup's backup dir (and for (a) etcd's data dir) is a filesystem of its own (ext4 with its defaults unless the setup names another) on a loop device (a sparse %s image, queue/write_cache \"%s\": "+
		"every cache flush ext4 sends reaches it and becomes an fsync of the image file). Written and flushes are fields 7 and 16 of /sys/block/loopN/stat over the window. "+
		"Each backup's share is read from its start to the journal's rotation onto the new snapshot (the (c) setups) or its end; what the disk got outside them is a continuous rate. "+
		"Per hour: that rate × 3600 s + each backup's mean × backups per hour. Process figures (the table above) beside them.\n\n",
		human(r.Setups[0].LoopDisk.Size), r.Setups[0].LoopDisk.WriteCache)
	fmt.Fprintln(w, "| setup | device | written | flushes | per backup: written / flushes | backups / h | outside backups per hour: written / flushes | **device bytes / h** | **device flushes / h** | processes: bytes / h, fsyncs / h |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range r.Setups {
		if s.LoopDisk == nil {
			continue
		}
		ph := s.PerHour
		perBackup := "–"
		if len(s.BackupRuns) > 0 {
			perBackup = fmt.Sprintf("%s / %.3g", human(int64(ph.DeviceBackupBytes)), ph.DeviceBackupFlushes)
		}
		dev := s.LoopDisk.name()
		if s.LoopDisk.Format != (DiskFormat{}) {
			dev += " (" + s.LoopDisk.Format.String() + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %g | %s / %s | **%s** | **%s** | %s, %s |\n", s.Label, dev, human(s.Loop.SectorsWritten*512), s.Loop.Flushes,
			perBackup, ph.BackupsPerHour, human(int64(ph.DeviceBytes-ph.DeviceBackupBytes*ph.BackupsPerHour)), count(ph.DeviceFlushes-ph.DeviceBackupFlushes*ph.BackupsPerHour),
			human(int64(ph.DeviceBytes)), count(ph.DeviceFlushes), human(int64(ph.Bytes)), count(ph.Fsyncs))
	}
	var js []*SilenceResult
	for _, s := range r.Setups {
		if s.Journal != nil && cronOnly(r.Setups, s) != nil {
			js = append(js, s)
		}
	}
	if len(js) == 0 {
		return
	}
	fmt.Fprintf(w, "\nAgainst the targets at the disk (issue 22): ≤ %d flushes/h at the journal's default interval (%s), and bytes/h no more than the cron-only setup's at the same DB size "+
		"(cron-only: a backup every %s; with the journal: every %s; every setup is compared with the cron-only one on default ext4).\n\n", DeviceFlushesTarget, journal.DefaultInterval, r.Silence.ProdBackupEvery, r.Silence.ProdBackupEveryJournal)
	fmt.Fprintln(w, "| setup | device flushes / h | ≤ 1,000 | device bytes / h | cron-only's | ≤ cron-only |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---|")
	for _, s := range js {
		b := cronOnly(r.Setups, s)
		label := s.Short
		if s.JournalEvery == journal.DefaultInterval {
			label = "**" + s.Short + " (default)**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", label, count(s.PerHour.DeviceFlushes), met(s.PerHour.DeviceFlushes, DeviceFlushesTarget),
			human(int64(s.PerHour.DeviceBytes)), human(int64(b.PerHour.DeviceBytes)), met(s.PerHour.DeviceBytes, b.PerHour.DeviceBytes))
	}
}

// writeRestore prints the restore-time section.
func (r *Results) writeRestore(w io.Writer) {
	c := r.Restore
	fmt.Fprintf(w, "\n## 5. Restore time after a power cut, with the journal\n\n")
	fmt.Fprintf(w, "A bed filled with `etcdkv fill` %s, a cron backup, then the silence load's writes (`etcdkv load`, at %g writes/s to save time: a replay's cost depends on how many revisions and how large) "+
		"until the revisions after the snapshot reach a cron interval's worth at 10 writes/s, with `etcd-ramdisk journal --interval %s` following. Once the journal has made etcd's last revision durable: "+
		"a power cut (the journal SIGKILLed, every container killed, etcd's tmpfs unmounted and mounted empty), then `etcd-ramdisk restore --journal-replay %s` (the journal replayed); "+
		"etcd started and checked (restore replayed up to the last revision, its record says so, the same number of keys, the revision at least that); "+
		"another power cut and `etcd-ramdisk restore --no-journal` of the same snapshot. Wall times of the real binary (each after touching memory, as section 2). Target: ≤ %g×.\n\n",
		human(c.Fill), c.Rate, c.Interval, c.Replay, RestoreRatioTarget)
	fmt.Fprintln(w, "| DB | revisions after the snapshot | written in | snapshot-only restore | **journal restore** | **ratio** | ≤ 2× | replayed | journal step | **replay rate** | journal peak RSS |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
	for _, x := range r.Restores {
		apply := x.ReplayApply()
		rate := "–"
		if apply > 0 {
			rate = count(float64(x.Replayed)/apply) + " rev/s"
		}
		fmt.Fprintf(w, "| %s | %d (%d asked) | %s | %s | **%s** | **%s×** | %s | %d up to %d | %s | **%s** | %s |\n", human(x.DBSize), x.Revisions, x.Asked, dur(x.LoadWall),
			dur(x.Snapshot.Wall), dur(x.Journal.Wall), count(x.Ratio()), met(x.Ratio(), RestoreRatioTarget), x.Replayed, x.ReplayedTo,
			dur(time.Duration(apply*float64(time.Second))), rate, human(x.JournalPeakRSS))
	}
	if fixed, rate, ok := replayFit(r.Restores); ok {
		fmt.Fprintf(w, "\nThe journal step (\"journal into the database\", or through etcd \"journal replay\" less \"save the replayed state\") is a fixed part and a part per revision: "+
			"a line through the first and last counts gives %s fixed and %s rev/s applied.\n", dur(time.Duration(fixed*float64(time.Second))), count(rate))
	}
	fmt.Fprintf(w, "\nPhases (etcd-ramdisk's debug step lines, in the order logged; a nested step ends first: \"save the replayed state\" is inside \"journal replay\", everything inside \"total under the lock\").\n\n")
	for _, x := range r.Restores {
		fmt.Fprintf(w, "| %d revisions | journal restore | snapshot-only restore |\n|---|---:|---:|\n", x.Revisions)
		var names []string
		seen := map[string]bool{}
		for _, st := range append(append([]Step{}, x.JournalSteps...), x.SnapshotSteps...) {
			if !seen[st.Name] {
				seen[st.Name] = true
				names = append(names, st.Name)
			}
		}
		cell := func(steps []Step, n string) string {
			for _, st := range steps {
				if st.Name == n {
					return dur(time.Duration(st.Secs * float64(time.Second)))
				}
			}
			return "–"
		}
		for _, n := range names {
			fmt.Fprintf(w, "| %s | %s | %s |\n", n, cell(x.JournalSteps, n), cell(x.SnapshotSteps, n))
		}
		fmt.Fprintf(w, "| **wall** | **%s** | **%s** |\n\n", dur(x.Journal.Wall), dur(x.Snapshot.Wall))
	}
}

// replayFit splits the replay step into fixed + revisions ÷ rate, from the
// smallest and the largest count; ok is false without two distinct counts
// or when the line makes no sense (machine noise).
func replayFit(rs []*RestoreResult) (fixed, rate float64, ok bool) {
	if len(rs) < 2 {
		return 0, 0, false
	}
	lo, hi := rs[0], rs[0]
	for _, x := range rs {
		if x.Replayed < lo.Replayed {
			lo = x
		}
		if x.Replayed > hi.Replayed {
			hi = x
		}
	}
	dn, dt := float64(hi.Replayed-lo.Replayed), hi.ReplayApply()-lo.ReplayApply()
	if dn <= 0 || dt <= 0 {
		return 0, 0, false
	}
	rate = dn / dt
	fixed = lo.ReplayApply() - float64(lo.Replayed)/rate
	return fixed, rate, fixed >= 0
}

func (r *Results) writeOverhead(w io.Writer) {
	fmt.Fprintf(w, "## 2. Overhead: etcd-ramdisk against etcd's bare tools\n\n")
	fmt.Fprintf(w, "Medians of %d runs. Backup: `etcd-ramdisk backup` (exec in the etcd container, then etcd's status check beside zstd and sha256, durable store) against host `etcdctl snapshot save` with TLS into a file on the persistent disk. "+
		"Restore: `etcd-ramdisk restore --data-dir` (decompress checking the stored sha256 and etcd's trailer, restore in a sidecar, fsync, rename) against host `etcdutl snapshot restore` of the raw snapshot, each into a fresh tmpfs dir.\n\n", r.Overhead.Runs)
	fmt.Fprintln(w, "| DB (fill / etcd dbSize) | raw snapshot | stored .zst | backup | etcdctl snapshot save | ratio | restore | etcdutl snapshot restore | ratio |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range r.Sizes {
		fmt.Fprintf(w, "| %s / %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", human(s.Target), human(s.DBSize), human(s.RawSnapshot), human(s.Stored),
			dur(s.Backup.Median()), dur(s.BareSave.Median()), ratio(s.Backup.Median().Seconds(), s.BareSave.Median().Seconds()),
			dur(s.Restore.Median()), dur(s.BareRestore.Median()), ratio(s.Restore.Median().Seconds(), s.BareRestore.Median().Seconds()))
	}
	writeTargets(w, r.Sizes)
	for _, s := range r.Sizes {
		if len(s.BackupSteps.Names)+len(s.RestoreSteps.Names) == 0 {
			continue // a tool that logs no steps
		}
		fmt.Fprintf(w, "\n### Where the time goes: %s (medians of each step; overlapping steps each show their own time)\n\n", human(s.DBSize))
		fmt.Fprintln(w, "| step | time | of the wall time |")
		fmt.Fprintln(w, "|---|---:|---:|")
		writeSteps(w, "backup", s.Backup, s.BackupSteps)
		writeSteps(w, "restore", s.Restore, s.RestoreSteps)
	}
	fmt.Fprintf(w, "\n## 3. Memory: peak RSS (wait4 ru_maxrss)\n\n")
	fmt.Fprintln(w, "| DB | etcd-ramdisk backup | etcd-ramdisk restore | etcdctl snapshot save | etcdutl snapshot restore |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, s := range r.Sizes {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", human(s.DBSize), human(s.Backup.PeakRSS()), human(s.Restore.PeakRSS()), human(s.BareSave.PeakRSS()), human(s.BareRestore.PeakRSS()))
	}
	fmt.Fprintf(w, "\n## 4. Compression of the raw snapshots\n\n")
	fmt.Fprintln(w, "In memory, single process; throughput in raw MiB/s. etcdkv fill values are half random bytes, half a repeated pattern.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| raw snapshot | codec | compressed | ratio | compress | decompress |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|")
	for _, s := range r.Sizes {
		for _, c := range s.Compression {
			fmt.Fprintf(w, "| %s | %s | %s | %.2f | %.0f MiB/s | %.0f MiB/s |\n", human(c.Raw), c.Codec, human(c.Compressed), c.Ratio, c.CompressMBps, c.DecompressMBps)
		}
	}
	fmt.Fprintln(w)
}

// writeTargets sets the ratios against the targets for the sizes that have
// one. A ratio of medians is the headline; the median of each run's ratio to
// the bare run beside it is shown too, as it moves less when the machine's
// speed drifts during a run.
func writeTargets(w io.Writer, sizes []*SizeResult) {
	fmt.Fprintf(w, "\n### Against the targets\n\n")
	fmt.Fprintln(w, "| DB | backup ÷ save | target | | restore ÷ restore | target | | per-run ratios (median): backup, restore |")
	fmt.Fprintln(w, "|---|---:|---:|---|---:|---:|---|---|")
	n := 0
	for _, s := range sizes {
		t, ok := Targets[s.Target]
		if !ok {
			continue
		}
		n++
		b := s.Backup.Median().Seconds() / s.BareSave.Median().Seconds()
		rs := s.Restore.Median().Seconds() / s.BareRestore.Median().Seconds()
		fmt.Fprintf(w, "| %s | %s | ≤ %g× | %s | %s | ≤ %g× | %s | %s, %s |\n", human(s.RawSnapshot),
			count(b)+"×", t.Backup, met(b, t.Backup), count(rs)+"×", t.Restore, met(rs, t.Restore),
			count(pairRatio(s.Backup, s.BareSave))+"×", count(pairRatio(s.Restore, s.BareRestore))+"×")
	}
	if n == 0 {
		fmt.Fprintln(w, "| (no size with a target: they are 10MiB, 100MiB and 1GiB of fill) | | | | | | | |")
	}
}

func met(ratio, target float64) string {
	if ratio <= target {
		return "**met**"
	}
	return "**not met**"
}

// pairRatio is the median over the runs of ours ÷ the bare run of the same
// index (the two ran one right after the other).
func pairRatio(ours, bare Timing) float64 {
	var rs []float64
	for i := range min(len(ours.Wall), len(bare.Wall)) {
		if bare.Wall[i] > 0 {
			rs = append(rs, ours.Wall[i].Seconds()/bare.Wall[i].Seconds())
		}
	}
	if len(rs) == 0 {
		return 0
	}
	return median(rs)
}

func count(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func ratio(a, b float64) string {
	switch {
	case b == 0 && a == 0:
		return "–"
	case b == 0:
		return "∞ (0 on the right)"
	}
	return count(a/b) + "×"
}

func dur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}
