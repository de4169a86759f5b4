package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// A stored file cut short no longer has its recorded size, so the store
// lists it as a problem, not a snapshot: verify of the newest finds none
// (exit 7) and verify of its id is refused as a bad argument (exit 2).
func TestVerifyTruncated(t *testing.T) {
	e := newEnv(t)
	e.deadContainerd()
	snap := e.writeSnapshot(t, time.Now().Add(-time.Hour), 100, store.Good)
	if err := os.Truncate(snap.Path, snap.Meta.StoredSize/2); err != nil {
		t.Fatal(err)
	}
	wantExit(t, runVerify(context.Background(), verifyOptions{globalOptions: e.g}, e.d), 7, "no snapshot in "+e.g.BackupDir)
	byID := verifyOptions{globalOptions: e.g, IDs: []string{snap.Meta.ID}}
	wantExit(t, runVerify(context.Background(), byID, e.d), 2, "metadata says", "snapshot is corrupt")
	if e.out.Len() > 0 {
		t.Errorf("stdout: %q", e.out)
	}
}

// corruptSnapshot stores a snapshot, then overwrites the middle of its data
// file, keeping its size.
func corruptSnapshot(t *testing.T, e *env) *store.Snapshot {
	t.Helper()
	snap := e.writeSnapshot(t, time.Now().Add(-time.Hour), 100, store.Good)
	f, err := os.OpenFile(snap.Path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("XXXX"), snap.Meta.StoredSize/2); err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestVerifyCorrupt(t *testing.T) {
	e := newEnv(t)
	e.deadContainerd() // the checksum fails before containerd is asked
	snap := corruptSnapshot(t, e)
	err := runVerify(context.Background(), verifyOptions{globalOptions: e.g}, e.d)
	wantExit(t, err, 8, "1 of 1 snapshots failed", "verification failed")
	if want := "FAIL " + snap.Meta.ID + ": verification failed: "; !strings.HasPrefix(e.out.String(), want) {
		t.Errorf("stdout %q, want it to start %q", e.out, want)
	}
}

// Today containerd is opened before any checksum is read: without its
// socket, verify fails on that (exit 4) and never reads the snapshot.
func TestVerifyContainerdMissing(t *testing.T) {
	e := newEnv(t)
	corruptSnapshot(t, e)
	wantExit(t, runVerify(context.Background(), verifyOptions{globalOptions: e.g}, e.d), 4, "--containerd-address")
	if e.out.Len() > 0 {
		t.Errorf("stdout: %q", e.out)
	}
}

func TestVerifyTargets(t *testing.T) {
	e := newEnv(t)
	wantExit(t, runVerify(context.Background(), verifyOptions{globalOptions: e.g}, e.d), 7, "no snapshot in "+e.g.BackupDir)
	o := verifyOptions{globalOptions: e.g, IDs: []string{"20261125T150000Z-r1"}}
	wantExit(t, runVerify(context.Background(), o, e.d), 2, "20261125T150000Z-r1")
}
