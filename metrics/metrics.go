package metrics

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/restore"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
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
}

// BackupRun describes a backup that started at start and just ended.
func BackupRun(start time.Time, exitCode int, reason string, res *backup.Result) Run {
	r := Run{Job: JobBackup, Start: start, End: time.Now(), ExitCode: exitCode, Values: map[string]float64{}}
	if reason == store.ReasonShutdown {
		r.Values[ShutdownBackupOK] = boolValue(exitCode == 0)
	}
	if res != nil && res.Offhost != nil && res.Offhost.Skipped == "" {
		oh := res.Offhost
		r.Values[OffhostCopyOK] = boolValue(oh.Err == nil)
		r.Values[OffhostBacklog] = float64(oh.Backlog)
		r.Values[OffhostUploaded] = float64(oh.UploadedBytes)
		r.Values[OffhostRemote] = float64(oh.RemoteSnapshots)
		if oh.LastCopy != nil {
			r.Values[OffhostLastCopy] = float64(oh.LastCopy.UnixNano()) / 1e9
		}
	}
	switch {
	case res == nil:
	case res.Skipped:
		r.Values[SnapshotSkipped] = 1
		r.Values[SnapshotRevision] = float64(res.Revision)
	case res.Snapshot != nil && res.Snapshot.Kind == store.Good:
		m := res.Snapshot.Meta
		r.Values[SnapshotSkipped] = 0
		r.Values[SnapshotRevision] = float64(m.Etcd.Revision)
		r.Values[SnapshotKeys] = float64(m.Etcd.TotalKeys)
		r.Values[SnapshotRawBytes] = float64(m.RawSize)
		r.Values[SnapshotStoredBytes] = float64(m.StoredSize)
	}
	return r
}

// RestoreRun describes a restore that started at start and just ended.
func RestoreRun(start time.Time, exitCode int, res *restore.Result) Run {
	r := Run{Job: JobRestore, Start: start, End: time.Now(), ExitCode: exitCode, Values: map[string]float64{}}
	if res != nil && res.Snapshot != nil {
		m := res.Snapshot.Meta
		r.Values[RestoredStale] = boolValue(res.Stale != "")
		r.Values[RestoredRevision] = float64(m.Etcd.Revision)
		r.Values[RestoredAge] = r.End.Sub(m.Time).Seconds()
	}
	return r
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
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
	unlock, err := lockDir(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("write metrics %s: %w", path, err)
	}
	defer unlock()
	all, readErr := read(path)
	all[run.Job] = apply(all[run.Job], run)
	reg, err := registry(all)
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

// registry holds every job's series in a fresh registry, so that the file
// holds exactly what all says.
func registry(all series) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
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

// lockDir takes an exclusive flock(2) on dir itself, so that two jobs ending
// together never lose each other's update, without putting a lock file next
// to the textfiles node_exporter reads.
func lockDir(dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(lockTimeout)
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { d.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			d.Close()
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
