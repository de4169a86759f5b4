package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/status"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// status on a node where nothing is installed: a fresh backup, a data dir on
// disk, containerd gone. It needs attention and says why, never failing.
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
	wantExit(t, err, 10, "warning(s)")
	var rep status.Report
	if err := json.Unmarshal(e.out.Bytes(), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, e.out)
	}
	if !rep.NeedsAttention || len(rep.Warnings) == 0 || rep.Backups.Good != 1 || rep.Backups.LastGood == nil || rep.Backups.LastGood.ID != snap.Meta.ID {
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
	wantExit(t, runStatus(context.Background(), o, e.d), 10)
	text := e.out.String()
	for _, want := range []string{"last backup: " + snap.Meta.ID, "snapshots:   1 good, 0 suspect, 0 problems in " + e.g.BackupDir, "\nWARN "} {
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
