package metrics

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/buildinfo"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var t0 = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

// parse reads the file with Prometheus' own text parser.
func parse(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return mfs
}

// get returns name{job=job} and whether it is there.
func get(mfs map[string]*dto.MetricFamily, name, job string) (float64, bool) {
	for _, m := range mfs[Namespace+"_"+name].GetMetric() {
		if l := m.GetLabel(); len(l) == 1 && l[0].GetName() == "job" && l[0].GetValue() == job {
			return value(m), true
		}
	}
	return 0, false
}

func want(t *testing.T, mfs map[string]*dto.MetricFamily, name, job string, wantV float64) {
	t.Helper()
	v, ok := get(mfs, name, job)
	if !ok || v != wantV {
		t.Errorf("%s{job=%q} = %v (present %v), want %v", name, job, v, ok, wantV)
	}
}

func write(t *testing.T, path string, r Run) {
	t.Helper()
	if err := Write(path, r); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func TestSuccessThenFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "etcd-ramdisk.prom")
	okRun := Run{Job: JobBackup, Start: t0, End: t0.Add(1500 * time.Millisecond), Values: map[string]float64{
		SnapshotRawBytes: 9437216, SnapshotStoredBytes: 2210453, SnapshotRevision: 48213, SnapshotKeys: 1830, SnapshotSkipped: 0,
	}}
	write(t, path, okRun)
	write(t, path, Run{Job: JobDefrag, Start: t0, End: t0.Add(time.Second)})
	failAt := t0.Add(15 * time.Minute)
	write(t, path, Run{Job: JobBackup, Start: failAt, End: failAt.Add(2 * time.Second), ExitCode: 4})

	mfs := parse(t, path)
	okEnd := float64(okRun.End.Unix()) + 0.5
	want(t, mfs, FailuresTotal, JobBackup, 1)
	want(t, mfs, LastSuccess, JobBackup, okEnd)
	want(t, mfs, LastRun, JobBackup, float64(failAt.Add(2*time.Second).Unix()))
	want(t, mfs, LastDuration, JobBackup, 2)
	want(t, mfs, LastExitCode, JobBackup, 4)
	// What the failed run did not measure stays from the last run that did.
	want(t, mfs, SnapshotRevision, JobBackup, 48213)
	want(t, mfs, SnapshotRawBytes, JobBackup, 9437216)
	want(t, mfs, SnapshotStoredBytes, JobBackup, 2210453)
	want(t, mfs, SnapshotKeys, JobBackup, 1830)
	want(t, mfs, SnapshotSkipped, JobBackup, 0)
	// The other job's series are kept.
	want(t, mfs, LastSuccess, JobDefrag, float64(t0.Add(time.Second).Unix()))
	want(t, mfs, LastExitCode, JobDefrag, 0)
	want(t, mfs, FailuresTotal, JobDefrag, 0)
	if _, ok := get(mfs, SnapshotRevision, JobDefrag); ok {
		t.Error("defrag has a snapshot_revision")
	}
	if typ := mfs[Namespace+"_"+FailuresTotal].GetType(); typ != dto.MetricType_COUNTER {
		t.Errorf("failures_total has type %v, want counter", typ)
	}
	if typ := mfs[Namespace+"_"+LastSuccess].GetType(); typ != dto.MetricType_GAUGE {
		t.Errorf("last_success has type %v, want gauge", typ)
	}

	// A later success keeps the count and moves last_success.
	okAgain := failAt.Add(15 * time.Minute)
	write(t, path, Run{Job: JobBackup, Start: okAgain, End: okAgain, Values: map[string]float64{SnapshotSkipped: 1, SnapshotRevision: 48213}})
	mfs = parse(t, path)
	want(t, mfs, FailuresTotal, JobBackup, 1)
	want(t, mfs, LastSuccess, JobBackup, float64(okAgain.Unix()))
	want(t, mfs, SnapshotSkipped, JobBackup, 1)
	want(t, mfs, LastExitCode, JobBackup, 0)

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode())
	}
	assertOnlyFile(t, dir, "etcd-ramdisk.prom")
}

func assertOnlyFile(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{name}) {
		t.Errorf("dir holds %v, want only %s (no temporary file)", names, name)
	}
}

func TestFileFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "erd.prom")
	write(t, path, Run{Job: JobRestore, Start: t0, End: t0.Add(time.Second), Values: map[string]float64{RestoredRevision: 7, RestoredAge: 130}})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"# TYPE etcd_ramdisk_failures_total counter",
		`etcd_ramdisk_failures_total{job="restore"} 0`,
		`etcd_ramdisk_restored_revision{job="restore"} 7`,
		`etcd_ramdisk_restored_snapshot_age_seconds{job="restore"} 130`,
		`etcd_ramdisk_last_exit_code{job="restore"} 0`,
	} {
		if !strings.Contains(string(data), line+"\n") {
			t.Errorf("file lacks %q:\n%s", line, data)
		}
	}
}

func TestUnreadablePreviousFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "erd.prom")
	if err := os.WriteFile(path, []byte("etcd_ramdisk_failures_total{job=\"backup\" 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(path, Run{Job: JobBackup, Start: t0, End: t0, ExitCode: 1})
	if err == nil || !strings.Contains(err.Error(), "rewritten") {
		t.Fatalf("Write = %v, want a warning that the old file was unreadable", err)
	}
	want(t, parse(t, path), FailuresTotal, JobBackup, 1)
	assertOnlyFile(t, dir, "erd.prom")
}

func TestForeignSeriesDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "erd.prom")
	old := `# TYPE etcd_ramdisk_failures_total counter
etcd_ramdisk_failures_total{job="backup"} 5
etcd_ramdisk_failures_total{job="backup",host="x"} 9
# TYPE some_other_metric gauge
some_other_metric 1
`
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, path, Run{Job: JobBackup, Start: t0, End: t0, ExitCode: 8})
	mfs := parse(t, path)
	want(t, mfs, FailuresTotal, JobBackup, 6)
	if n := len(mfs[Namespace+"_"+FailuresTotal].GetMetric()); n != 1 {
		t.Errorf("failures_total has %d series, want 1", n)
	}
	if _, ok := mfs["some_other_metric"]; ok {
		t.Error("a metric that is not ours survived the rewrite")
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "x.prom"), Run{Job: JobBackup, Values: map[string]float64{"bogus": 1}}); err == nil {
		t.Error("Write accepted an unknown metric")
	}
	if err := Write(filepath.Join(dir, "missing", "x.prom"), Run{Job: JobBackup}); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
	if err := Write(filepath.Join(dir, "x.prom"), Run{}); err == nil {
		t.Error("Write without a job succeeded")
	}
}

// TestConcurrentJobs has the three jobs write one file at once, as a cron
// backup and a daily defrag ending together would: no update is lost.
func TestConcurrentJobs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "erd.prom")
	const runs = 8
	var wg sync.WaitGroup
	errs := make(chan error, 3*runs)
	for _, job := range []string{JobBackup, JobRestore, JobDefrag} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range runs {
				errs <- Write(path, Run{Job: job, Start: t0, End: t0, ExitCode: 1})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	mfs := parse(t, path)
	for _, job := range []string{JobBackup, JobRestore, JobDefrag} {
		want(t, mfs, FailuresTotal, job, runs)
	}
	assertOnlyFile(t, dir, "erd.prom")
}

func TestRestoreRunStale(t *testing.T) {
	for stale, want := range map[bool]float64{false: 0, true: 1} {
		r := RestoreRun(time.Now(), 0, Restore{Restored: true, Taken: time.Now(), Revision: 12, Stale: stale})
		if got, ok := r.Values[RestoredStale]; !ok || got != want {
			t.Errorf("stale %v: %s = %v (set %v), want %v", stale, RestoredStale, got, ok, want)
		}
	}
}

func TestRunsFromResults(t *testing.T) {
	stored := Backup{Stored: true, Revision: 12, Keys: 3, RawBytes: 100, StoredBytes: 40}
	tests := []struct {
		name string
		run  Run
		want map[string]float64
	}{
		{"backup stored", BackupRun(t0, 0, stored),
			map[string]float64{SnapshotRawBytes: 100, SnapshotStoredBytes: 40, SnapshotRevision: 12, SnapshotKeys: 3, SnapshotSkipped: 0}},
		{"backup unchanged", BackupRun(t0, 0, Backup{Skipped: true, Revision: 12}),
			map[string]float64{SnapshotRevision: 12, SnapshotSkipped: 1}},
		{"backup failed early", BackupRun(t0, 4, Backup{}), map[string]float64{}},
		{"shutdown backup failed", BackupRun(t0, 5, Backup{Shutdown: true}), map[string]float64{ShutdownBackupOK: 0}},
		{"shutdown backup unchanged", BackupRun(t0, 0, Backup{Shutdown: true, Skipped: true, Revision: 12}),
			map[string]float64{SnapshotRevision: 12, SnapshotSkipped: 1, ShutdownBackupOK: 1}},
		{"backup and off-host copy", BackupRun(t0, 0, Backup{Offhost: &Offhost{OK: true, Backlog: 1, UploadedBytes: 40, RemoteSnapshots: 3, LastCopy: &t0}}),
			map[string]float64{OffhostCopyOK: 1, OffhostBacklog: 1, OffhostUploaded: 40, OffhostRemote: 3, OffhostLastCopy: float64(t0.Unix())}},
		{"restore no-op", RestoreRun(t0, 0, Restore{}), map[string]float64{}},
		{"defrag", DefragRun(t0, 0), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.run.Values) != len(tt.want) {
				t.Fatalf("Values = %v, want %v", tt.run.Values, tt.want)
			}
			for k, v := range tt.want {
				if tt.run.Values[k] != v {
					t.Errorf("%s = %v, want %v", k, tt.run.Values[k], v)
				}
			}
		})
	}

	r := RestoreRun(time.Now(), 0, Restore{Restored: true, Revision: 12, Taken: time.Now().Add(-time.Hour)})
	if r.Values[RestoredRevision] != 12 {
		t.Errorf("restored_revision = %v", r.Values[RestoredRevision])
	}
	if age := r.Values[RestoredAge]; age < 3600 || age > 3660 {
		t.Errorf("restored_snapshot_age_seconds = %v, want about 3600", age)
	}
}

// The journal's figures are a sample: they replace the journal's series
// whole (nothing left over from a sample when it ran), carry no run or
// failure series, and leave the jobs' series alone.
func TestJournalSample(t *testing.T) {
	path := filepath.Join(t.TempDir(), "erd.prom")
	write(t, path, Run{Job: JobBackup, Start: t0, End: t0, ExitCode: 4})
	sync := t0.Add(-time.Second)
	write(t, path, JournalSample(t0, Journal{Running: true, LagRevisions: 2, LagSeconds: 0.5, LastSync: sync, Bytes: 4096, Syncs: 12, ChainStartRevision: 100}))
	mfs := parse(t, path)
	for name, v := range map[string]float64{
		JournalRunning: 1, JournalLagRevisions: 2, JournalLagSeconds: 0.5, JournalLastSync: float64(sync.Unix()),
		JournalBytes: 4096, JournalSyncs: 12, JournalChainStart: 100,
	} {
		want(t, mfs, name, JobJournal, v)
	}
	for _, name := range []string{JournalBytes, JournalSyncs} {
		if typ := mfs[Namespace+"_"+name].GetType(); typ != dto.MetricType_COUNTER {
			t.Errorf("%s has type %v, want counter", name, typ)
		}
	}
	for _, name := range []string{LastRun, LastExitCode, FailuresTotal, LastSuccess} {
		if _, ok := get(mfs, name, JobJournal); ok {
			t.Errorf("%s{job=journal}: a service sample is not a run", name)
		}
	}
	want(t, mfs, FailuresTotal, JobBackup, 1)

	write(t, path, JournalSample(t0.Add(time.Minute), Journal{}))
	mfs = parse(t, path)
	want(t, mfs, JournalRunning, JobJournal, 0)
	want(t, mfs, JournalLagSeconds, JobJournal, 0)
	for _, name := range []string{JournalLastSync, JournalChainStart} {
		if v, ok := get(mfs, name, JobJournal); ok {
			t.Errorf("%s{job=journal} = %v kept from the earlier sample", name, v)
		}
	}
	want(t, mfs, FailuresTotal, JobBackup, 1)
}

// Every write records the writer's build, one series: an older binary's
// build_info in the file is replaced, the jobs' series are kept.
func TestBuildInfo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etcd-ramdisk.prom")
	old := "# TYPE etcd_ramdisk_build_info gauge\n" +
		`etcd_ramdisk_build_info{commit="0ld",goversion="go1.20",version="v0.0.1"} 1` + "\n" +
		"# TYPE etcd_ramdisk_last_exit_code gauge\n" +
		`etcd_ramdisk_last_exit_code{job="backup"} 4` + "\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, path, Run{Job: JobDefrag, Start: t0, End: t0.Add(time.Second)})
	mfs := parse(t, path)
	want(t, mfs, LastExitCode, JobBackup, 4)
	b := buildinfo.Get()
	ms := mfs[Namespace+"_"+BuildInfo].GetMetric()
	if len(ms) != 1 {
		t.Fatalf("%d build_info series, want 1: %v", len(ms), ms)
	}
	labels := map[string]string{}
	for _, l := range ms[0].GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	wantLabels := map[string]string{"version": b.Version, "commit": b.Commit, "goversion": b.GoVersion}
	if !maps.Equal(labels, wantLabels) || ms[0].GetGauge().GetValue() != 1 {
		t.Errorf("build_info %v = %v, want %v = 1", labels, ms[0].GetGauge().GetValue(), wantLabels)
	}
}
