package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/metrics"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

func backupOpts(e *env, reason string) backupOptions {
	return backupOptions{
		globalOptions: e.g, Reason: reason, Method: backup.MethodAuto, From: backup.FromAuto, StopEtcd: stopAuto,
		MetricsFile: filepath.Join(e.dir, "erd.prom"), Policy: store.DefaultPolicy(),
	}
}

func readMetrics(t *testing.T, e *env) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "erd.prom"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBackupContainerdMissing(t *testing.T) {
	e := newEnv(t)
	err := runBackup(context.Background(), backupOpts(e, store.ReasonCron), e.d)
	wantExit(t, err, 4, e.g.ContainerdAddress, "--containerd-address")
	if e.out.Len() > 0 {
		t.Errorf("stdout: %q", e.out)
	}
	if rec, err := e.store(t).ReadShutdownRecord(); err != nil || rec != nil {
		t.Errorf("a cron backup wrote a shutdown record: %+v, %v", rec, err)
	}
	if m := readMetrics(t, e); !strings.Contains(m, `etcd_ramdisk_last_exit_code{job="backup"} 4`) {
		t.Errorf("metrics lack exit code 4:\n%s", m)
	}
}

// A shutdown backup that cannot reach containerd still records that it
// failed, for the restore at the next boot and for status.
func TestShutdownBackupContainerdMissing(t *testing.T) {
	for _, state := range []string{"stopping", "running"} {
		t.Run(state, func(t *testing.T) {
			e := newEnv(t)
			e.d.SystemState = func(context.Context) string { return state }
			err := runBackup(context.Background(), backupOpts(e, store.ReasonShutdown), e.d)
			wantExit(t, err, 4, "--containerd-address")
			rec, rerr := e.store(t).ReadShutdownRecord()
			if rerr != nil || rec == nil {
				t.Fatalf("shutdown record: %+v, %v", rec, rerr)
			}
			if rec.OK || !strings.Contains(rec.Error, "containerd unavailable") || rec.SystemShutdown != (state == "stopping") {
				t.Errorf("shutdown record %+v: want a failure naming containerd, system shutdown %v", rec, state == "stopping")
			}
			if m := readMetrics(t, e); !strings.Contains(m, `etcd_ramdisk_shutdown_backup_ok{job="backup"} 0`) {
				t.Errorf("metrics lack the failed shutdown backup:\n%s", m)
			}
		})
	}
}

func TestBackupBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*backupOptions)
		want string
	}{
		{"method", func(o *backupOptions) { o.Method = "ssh" }, `--method "ssh"`},
		{"from", func(o *backupOptions) { o.From = "disk" }, `--from "disk"`},
		{"stop-etcd", func(o *backupOptions) { o.StopEtcd = "sometimes" }, `--stop-etcd "sometimes"`},
		{"runtime", func(o *backupOptions) { o.Runtime = "docker" }, `--runtime "docker"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.deadContainerd() // --runtime is checked once containerd is open
			o := backupOpts(e, store.ReasonCron)
			tc.set(&o)
			wantExit(t, runBackup(context.Background(), o, e.d), 2, tc.want)
		})
	}
}

func TestBackupManifestMissing(t *testing.T) {
	e := newEnv(t)
	o := backupOpts(e, store.ReasonCron)
	o.Manifest = filepath.Join(e.dir, "etcd.yaml")
	wantExit(t, runBackup(context.Background(), o, e.d), 3, o.Manifest)
	if _, err := os.Stat(e.g.BackupDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the backup dir was created before the manifest was read: %v", err)
	}
}

// What metrics records of a backup's result: the snapshot only when a good
// one was written, the off-host copy only when one ran.
func TestBackupMetrics(t *testing.T) {
	good := &store.Snapshot{Kind: store.Good, Meta: store.Metadata{
		Time: time.Now().Add(-time.Hour), RawSize: 100, StoredSize: 40,
		Etcd: store.EtcdStatus{Revision: 12, TotalKeys: 3},
	}}
	copied := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		reason string
		res    *backup.Result
		want   metrics.Backup
	}{
		{"stored", store.ReasonCron, &backup.Result{Snapshot: good, Revision: 11},
			metrics.Backup{Stored: true, Revision: 12, Keys: 3, RawBytes: 100, StoredBytes: 40}},
		{"unchanged", store.ReasonCron, &backup.Result{Skipped: true, Revision: 12}, metrics.Backup{Skipped: true, Revision: 12}},
		{"suspect", store.ReasonCron, &backup.Result{Snapshot: &store.Snapshot{Kind: store.Suspect, Meta: good.Meta}}, metrics.Backup{}},
		{"failed early", store.ReasonCron, nil, metrics.Backup{}},
		{"shutdown failed", store.ReasonShutdown, nil, metrics.Backup{Shutdown: true}},
		{"off-host skipped", store.ReasonCron, &backup.Result{Offhost: &offhost.Result{Skipped: "off"}}, metrics.Backup{}},
		{"off-host failed", store.ReasonCron, &backup.Result{Offhost: &offhost.Result{Err: errors.New("down"), Backlog: 2, LastCopy: &copied}},
			metrics.Backup{Offhost: &metrics.Offhost{OK: false, Backlog: 2, LastCopy: &copied}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := backupMetrics(tc.reason, tc.res)
			gotOff, wantOff := got.Offhost, tc.want.Offhost
			got.Offhost, tc.want.Offhost = nil, nil
			if got != tc.want || (gotOff == nil) != (wantOff == nil) || (gotOff != nil && *gotOff != *wantOff) {
				t.Errorf("backupMetrics = %+v (off-host %+v), want %+v (off-host %+v)", got, gotOff, tc.want, wantOff)
			}
		})
	}
}

func TestDefragContainerdMissing(t *testing.T) {
	e := newEnv(t)
	prom := filepath.Join(e.dir, "erd.prom")
	err := runDefrag(context.Background(), defragOptions{globalOptions: e.g, MetricsFile: prom}, e.d)
	wantExit(t, err, 4, "--containerd-address")
	if m := readMetrics(t, e); !strings.Contains(m, `etcd_ramdisk_failures_total{job="defrag"} 1`) {
		t.Errorf("metrics lack the failed defrag:\n%s", m)
	}
}
