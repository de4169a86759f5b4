package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/status"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// status on a node where nothing is installed: a fresh backup, an empty data
// dir on disk, containerd gone. Backups cannot work (exit 17, a FAIL line
// naming containerd), and the rest of the report is still there.
func TestStatusNeedsAttention(t *testing.T) {
	e := newEnv(t)
	snap := e.writeSnapshot(t, time.Now().Add(-time.Minute), 100, store.Good)
	o := statusOptions{globalOptions: e.g, JSON: true, MaxBackupAge: time.Hour, DataDir: filepath.Join(e.dir, "etcd"), Root: filepath.Join(e.dir, "root")}
	for _, d := range []string{o.DataDir, o.Root} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	err := runStatus(context.Background(), o, e.d)
	wantExit(t, err, 17, "containerd: containerd unavailable", "data dir: ")
	var rep status.Report
	if err := json.Unmarshal(e.out.Bytes(), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, e.out)
	}
	if !rep.NeedsAttention || len(rep.Warnings) == 0 || len(rep.Broken) != 2 || rep.Backups.Good != 1 || rep.Backups.LastGood == nil || rep.Backups.LastGood.ID != snap.Meta.ID {
		t.Errorf("report %+v", rep)
	}
	if rep.Image == nil || rep.Image.InContainerd != status.ImageUnknown || !strings.Contains(rep.Image.ContainerdError, "--containerd-address") {
		t.Errorf("image %+v: want containerd unknown, naming --containerd-address", rep.Image)
	}
	if rep.Install.DropIn || rep.Install.Cron || rep.Install.Fstab {
		t.Errorf("install assets found under an empty root: %+v", rep.Install)
	}

	e.out.Reset()
	o.JSON = false
	wantExit(t, runStatus(context.Background(), o, e.d), 17)
	text := e.out.String()
	for _, want := range []string{"last backup: " + snap.Meta.ID, "snapshots:   1 good, 0 suspect, 0 problems in " + e.g.BackupDir, "\nWARN ", "\nFAIL containerd: ", "containerd:  NOT reachable"} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
}

func TestStatusRelativeRoot(t *testing.T) {
	e := newEnv(t)
	o := statusOptions{globalOptions: e.g, Root: "relative"}
	wantExit(t, runStatus(context.Background(), o, e.d), 2, `root "relative" is not an absolute path`)
}

// The journal's state is read under --root: a journal unit installed there
// and a fresh state of a live process make a running journal.
func TestStatusJournalUnderRoot(t *testing.T) {
	e := newEnv(t)
	e.writeSnapshot(t, time.Now().Add(-time.Minute), 100, store.Good)
	root := filepath.Join(e.dir, "root")
	unit := filepath.Join(root, assets.JournalUnit.Path)
	if err := os.MkdirAll(filepath.Dir(unit), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unit, []byte("[Service]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := journal.State{PID: os.Getpid(), Started: time.Now().Add(-time.Minute), Updated: time.Now(), Running: true, Interval: time.Second, StartRev: 100}
	if err := journal.WriteState(filepath.Join(root, journal.DefaultStatePath), s); err != nil {
		t.Fatal(err)
	}
	o := statusOptions{globalOptions: e.g, JSON: true, MaxBackupAge: time.Hour, DataDir: filepath.Join(e.dir, "etcd"), Root: root}
	wantExit(t, runStatus(context.Background(), o, e.d), 17) // no containerd
	var rep status.Report
	if err := json.Unmarshal(e.out.Bytes(), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, e.out)
	}
	if j := rep.Journal; !j.Installed || !j.Running || j.PID != os.Getpid() {
		t.Errorf("journal %+v: want installed and running", j)
	}

	// --metrics-file records the journal's figures, and only those.
	prom := filepath.Join(e.dir, "erd.prom")
	e.out.Reset()
	o.MetricsFile = prom
	wantExit(t, runStatus(context.Background(), o, e.d), 17)
	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{`etcd_ramdisk_journal_running{job="journal"} 1`, `etcd_ramdisk_journal_chain_start_revision{job="journal"} 100`} {
		if !strings.Contains(string(b), l+"\n") {
			t.Errorf("metrics lack %q:\n%s", l, b)
		}
	}
	if strings.Contains(string(b), "last_run") {
		t.Errorf("status recorded a run:\n%s", b)
	}
	o.MetricsFile = ""

	s.PID = 0 // a state without a live process: the unit's journal is not running
	if err := journal.WriteState(filepath.Join(root, journal.DefaultStatePath), s); err != nil {
		t.Fatal(err)
	}
	e.out.Reset()
	o.JSON = false
	wantExit(t, runStatus(context.Background(), o, e.d), 17)
	if !strings.Contains(e.out.String(), "WARN the journal unit is installed but the journal is not running (its process 0 is gone)") {
		t.Errorf("status:\n%s", e.out)
	}
}
