package metrics

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/buildinfo"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/filelock"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Namespace prefixes every metric name.
const Namespace = "etcd_ramdisk"

// Jobs, the value of the job label.
const (
	JobBackup  = "backup"
	JobRestore = "restore"
	JobDefrag  = "defrag"
	// JobJournal labels the journal service's figures, recorded as
	// samples (Run.Sample): the service keeps running.
	JobJournal = "journal"
)

// Metric names without the namespace. Values set a job's gauges by these.
const (
	LastSuccess         = "last_success_timestamp_seconds"
	LastRun             = "last_run_timestamp_seconds"
	LastDuration        = "last_duration_seconds"
	LastExitCode        = "last_exit_code"
	FailuresTotal       = "failures_total"
	SnapshotRawBytes    = "snapshot_raw_bytes"
	SnapshotStoredBytes = "snapshot_stored_bytes"
	SnapshotRevision    = "snapshot_revision"
	SnapshotKeys        = "snapshot_keys"
	SnapshotSkipped     = "snapshot_skipped"
	RestoredRevision    = "restored_revision"
	RestoredAge         = "restored_snapshot_age_seconds"
	ShutdownBackupOK    = "shutdown_backup_ok"
	RestoredStale       = "restored_stale"
	OffhostLastCopy     = "offhost_last_copy_timestamp_seconds"
	OffhostCopyOK       = "offhost_copy_ok"
	OffhostBacklog      = "offhost_backlog"
	OffhostUploaded     = "offhost_uploaded_bytes"
	OffhostRemote       = "offhost_remote_snapshots"
	JournalRunning      = "journal_running"
	JournalLagRevisions = "journal_lag_revisions"
	JournalLagSeconds   = "journal_lag_seconds"
	JournalLastSync     = "journal_last_sync_timestamp_seconds"
	JournalBytes        = "journal_bytes_total"
	JournalSyncs        = "journal_syncs_total"
	JournalChainStart   = "journal_chain_start_revision"
)

type family struct {
	name, help string
	counter    bool
}

var families = []family{
	{LastSuccess, "Unix time the job last succeeded (exit code 0).", false},
	{LastRun, "Unix time the job last ended, successfully or not.", false},
	{LastDuration, "How long the job's last run took, in seconds.", false},
	{LastExitCode, "Exit code of the job's last run (see etcd-ramdisk --help).", false},
	{FailuresTotal, "Runs of the job that ended with a non-zero exit code.", true},
	{SnapshotRawBytes, "Size of the newest snapshot before compression.", false},
	{SnapshotStoredBytes, "Size of the newest snapshot as stored (zstd).", false},
	{SnapshotRevision, "etcd revision of the newest snapshot.", false},
	{SnapshotKeys, "Keys in the newest snapshot as etcd's snapshot status counts them (totalKey): etcd 3.6 counts live keys, 3.5 every uncompacted revision and etcd's own records.", false},
	{SnapshotSkipped, "1 when the last backup wrote nothing because the revision was unchanged.", false},
	{RestoredRevision, "etcd revision of the snapshot last restored.", false},
	{RestoredAge, "Age of the snapshot last restored, at restore time, in seconds.", false},
	{ShutdownBackupOK, "1 when the last shutdown backup (kubelet's ExecStopPost) succeeded, 0 when it failed.", false},
	{RestoredStale, "1 when the last restore may be older than etcd's last state (the shutdown backup before it failed or never ran).", false},
	{OffhostLastCopy, "Unix time a snapshot was last copied to the off-host target.", false},
	{OffhostCopyOK, "1 when the last off-host copy run succeeded (or had nothing to send), 0 when it failed.", false},
	{OffhostBacklog, "Local snapshots waiting to be copied to the off-host target.", false},
	{OffhostUploaded, "Bytes the last off-host copy run sent.", false},
	{OffhostRemote, "Complete snapshot copies on the off-host target.", false},
	{JournalRunning, "1 when the journal service follows etcd (running, its process alive, its state fresh).", false},
	{JournalLagRevisions, "Revisions etcd has that the journal has not made durable yet.", false},
	{JournalLagSeconds, "How long the oldest change not yet durable in the journal has waited, in seconds.", false},
	{JournalLastSync, "Unix time of the journal's last fsync.", false},
	{JournalBytes, "Bytes the journal service wrote since it started (resets when it restarts).", true},
	{JournalSyncs, "Fsyncs the journal service made since it started (resets when it restarts).", true},
	{JournalChainStart, "Revision of the snapshot the journal's current chain follows.", false},
}

func known(name string) bool {
	return slices.ContainsFunc(families, func(f family) bool { return f.name == name })
}

// Run is one run of a job.
type Run struct {
	Job      string
	Start    time.Time
	End      time.Time
	ExitCode int
	// Values are the job's own gauges this run measured, by name. Gauges it
	// did not measure keep the value of the last run that did.
	Values map[string]float64
	// Sample marks the figures of a service that keeps running (the
	// journal) as of End: they replace the job's series whole, and no
	// run, exit code or failure series are recorded for it.
	Sample bool
}

// Backup is what a backup run produced, in the values recorded here. Its zero
// value records nothing about the snapshot: the run failed before one, or it
// was kept aside as suspect.
type Backup struct {
	Shutdown bool // --reason shutdown: its outcome is recorded on its own
	Skipped  bool // the revision was unchanged: nothing written
	Stored   bool // a good snapshot was written
	// Revision is the stored snapshot's, or the unchanged one when Skipped.
	Revision    int64
	Keys        int64 // of the stored snapshot
	RawBytes    int64
	StoredBytes int64
	Offhost     *Offhost // nil when no off-host copy ran
}

// Offhost is what the off-host copy after a backup did.
type Offhost struct {
	OK              bool // it succeeded or had nothing to send
	Backlog         int
	UploadedBytes   int64
	RemoteSnapshots int
	LastCopy        *time.Time // nil when nothing was ever copied
}

// BackupRun describes a backup that started at start and just ended.
func BackupRun(start time.Time, exitCode int, b Backup) Run {
	r := Run{Job: JobBackup, Start: start, End: time.Now(), ExitCode: exitCode, Values: map[string]float64{}}
	if b.Shutdown {
		r.Values[ShutdownBackupOK] = boolValue(exitCode == 0)
	}
	if oh := b.Offhost; oh != nil {
		r.Values[OffhostCopyOK] = boolValue(oh.OK)
		r.Values[OffhostBacklog] = float64(oh.Backlog)
		r.Values[OffhostUploaded] = float64(oh.UploadedBytes)
		r.Values[OffhostRemote] = float64(oh.RemoteSnapshots)
		if oh.LastCopy != nil {
			r.Values[OffhostLastCopy] = float64(oh.LastCopy.UnixNano()) / 1e9
		}
	}
	switch {
	case b.Skipped:
		r.Values[SnapshotSkipped] = 1
		r.Values[SnapshotRevision] = float64(b.Revision)
	case b.Stored:
		r.Values[SnapshotSkipped] = 0
		r.Values[SnapshotRevision] = float64(b.Revision)
		r.Values[SnapshotKeys] = float64(b.Keys)
		r.Values[SnapshotRawBytes] = float64(b.RawBytes)
		r.Values[SnapshotStoredBytes] = float64(b.StoredBytes)
	}
	return r
}

// Restore is what a restore run put into the data dir; its zero value
// restored nothing.
type Restore struct {
	Restored bool
	Revision int64
	Taken    time.Time // when the restored snapshot was taken
	Stale    bool      // it may be older than etcd's last state
}

// RestoreRun describes a restore that started at start and just ended.
func RestoreRun(start time.Time, exitCode int, rs Restore) Run {
	r := Run{Job: JobRestore, Start: start, End: time.Now(), ExitCode: exitCode, Values: map[string]float64{}}
	if rs.Restored {
		r.Values[RestoredStale] = boolValue(rs.Stale)
		r.Values[RestoredRevision] = float64(rs.Revision)
		r.Values[RestoredAge] = r.End.Sub(rs.Taken).Seconds()
	}
	return r
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Journal is the journal service's state in plain values: metrics reads no
// job's types, the caller fills it.
type Journal struct {
	Running      bool
	LagRevisions int64
	LagSeconds   float64
	LastSync     time.Time // zero before the first fsync
	// Bytes and Syncs count what this service run wrote since it started.
	Bytes, Syncs       int64
	ChainStartRevision int64 // 0 when no chain is being written
}

// JournalSample records the journal's figures as of at. What is not known
// (no fsync yet, no chain) is left out rather than recorded as 0.
func JournalSample(at time.Time, j Journal) Run {
	v := map[string]float64{
		JournalRunning:      boolValue(j.Running),
		JournalLagRevisions: float64(j.LagRevisions),
		JournalLagSeconds:   j.LagSeconds,
		JournalBytes:        float64(j.Bytes),
		JournalSyncs:        float64(j.Syncs),
	}
	if !j.LastSync.IsZero() {
		v[JournalLastSync] = float64(j.LastSync.UnixNano()) / 1e9
	}
	if j.ChainStartRevision > 0 {
		v[JournalChainStart] = float64(j.ChainStartRevision)
	}
	return Run{Job: JobJournal, Start: at, End: at, Values: v, Sample: true}
}

// DefragRun describes a defrag that started at start and just ended.
func DefragRun(start time.Time, exitCode int) Run {
	return Run{Job: JobDefrag, Start: start, End: time.Now(), ExitCode: exitCode}
}

// series maps job, then metric name, to a value.
type series map[string]map[string]float64

// Write records run in the textfile at path, atomically (a temporary file
// renamed into place, mode 0644), keeping the other jobs' series. It still
// writes when the existing file cannot be parsed, starting afresh, and then
// returns the parse error.
func Write(path string, run Run) error {
	if run.Job == "" {
		return errors.New("write metrics: no job")
	}
	for name := range run.Values {
		if !known(name) {
			return fmt.Errorf("write metrics: unknown metric %q", name)
		}
	}
	// A lock on the directory itself, so that two jobs ending together never
	// lose each other's update, without a lock file among the textfiles
	// node_exporter reads.
	unlock, err := filelock.LockDir(context.Background(), filepath.Dir(path), lockTimeout)
	if err != nil {
		return fmt.Errorf("write metrics %s: %w", path, err)
	}
	defer unlock()
	all, readErr := read(path)
	all[run.Job] = apply(all[run.Job], run)
	reg, err := registry(all, buildinfo.Get())
	if err != nil {
		return fmt.Errorf("write metrics %s: %w", path, err)
	}
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("write metrics %s: %w", path, err)
	}
	if readErr != nil {
		return fmt.Errorf("metrics %s: previous file unreadable, rewritten (failure counts restart at 0): %w", path, readErr)
	}
	return nil
}

// apply updates one job's previous values with run.
func apply(prev map[string]float64, run Run) map[string]float64 {
	if run.Sample {
		return maps.Clone(run.Values)
	}
	v := map[string]float64{}
	for k, x := range prev {
		v[k] = x
	}
	for k, x := range run.Values {
		v[k] = x
	}
	end := float64(run.End.UnixNano()) / 1e9
	v[LastRun] = end
	v[LastDuration] = run.End.Sub(run.Start).Seconds()
	v[LastExitCode] = float64(run.ExitCode)
	v[FailuresTotal] = max(v[FailuresTotal], 0)
	if run.ExitCode == 0 {
		v[LastSuccess] = end
	} else {
		v[FailuresTotal]++
	}
	return v
}

// read returns the series of our metrics in the file at path: only those
// labelled with job and nothing else. A missing file has none.
func read(path string) (series, error) {
	all := series{}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return all, err
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(f)
	if err != nil {
		return series{}, err
	}
	for _, fam := range families {
		mf := mfs[Namespace+"_"+fam.name]
		for _, m := range mf.GetMetric() {
			lp := m.GetLabel()
			if len(lp) != 1 || lp[0].GetName() != "job" || lp[0].GetValue() == "" {
				continue
			}
			job := lp[0].GetValue()
			if all[job] == nil {
				all[job] = map[string]float64{}
			}
			all[job][fam.name] = value(m)
		}
	}
	return all, nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return m.GetUntyped().GetValue()
}

// BuildInfo is the gauge (always 1) whose labels say which build wrote the
// file: version, commit and goversion.
const BuildInfo = "build_info"

// registry holds every job's series in a fresh registry, so that the file
// holds exactly what all says, and the build info of the binary writing it.
func registry(all series, build buildinfo.Info) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	bi := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: BuildInfo,
		Help: "Always 1; its labels are the version, commit and Go version of the etcd-ramdisk that last wrote this file."},
		[]string{"version", "commit", "goversion"})
	bi.WithLabelValues(build.Version, build.Commit, build.GoVersion).Set(1)
	if err := reg.Register(bi); err != nil {
		return nil, err
	}
	for _, fam := range families {
		opts := prometheus.Opts{Namespace: Namespace, Name: fam.name, Help: fam.help}
		var c prometheus.Collector
		var set func(job string, v float64)
		if fam.counter {
			vec := prometheus.NewCounterVec(prometheus.CounterOpts(opts), []string{"job"})
			c, set = vec, func(job string, v float64) { vec.WithLabelValues(job).Add(v) }
		} else {
			vec := prometheus.NewGaugeVec(prometheus.GaugeOpts(opts), []string{"job"})
			c, set = vec, func(job string, v float64) { vec.WithLabelValues(job).Set(v) }
		}
		for job, vals := range all {
			if v, ok := vals[fam.name]; ok {
				set(job, v)
			}
		}
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// lockTimeout bounds the wait for another etcd-ramdisk writing the same
// directory's metrics; writes take milliseconds.
const lockTimeout = 10 * time.Second
