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
// lists it as a problem, not a snapshot; verify still names it and fails
// (exit 8), by default, with --all and by its id, without containerd (none
// here): there is nothing to hand etcd.
func TestVerifyTruncated(t *testing.T) {
	e := newEnv(t)
	snap := e.writeSnapshot(t, time.Now().Add(-time.Hour), 100, store.Good)
	truncate(t, snap)
	for name, o := range map[string]verifyOptions{
		"newest": {globalOptions: e.g},
		"all":    {globalOptions: e.g, All: true},
		"by id":  {globalOptions: e.g, IDs: []string{snap.Meta.ID}},
	} {
		e.out.Reset()
		wantExit(t, runVerify(context.Background(), o, e.d), 8, "1 of 1 snapshots failed", "metadata says", "snapshot is corrupt")
		if want := "FAIL " + snap.Meta.ID + ": verification failed: data file "; !strings.HasPrefix(e.out.String(), want) {
			t.Errorf("%s: stdout %q, want it to start %q", name, e.out, want)
		}
	}
}

// Every snapshot the store knows of is named: a damaged newest fails the
// default verify although an older whole one exists, which is verified too;
// --all names the damaged ones in their place, suspect ones included.
func TestVerifyTruncatedNewest(t *testing.T) {
	e := newEnv(t)
	e.deadContainerd() // the checksums fail before containerd is asked
	oldest := e.writeSnapshot(t, time.Now().Add(-3*time.Hour), 100, store.Good)
	truncate(t, oldest)
	whole := corruptSnapshot(t, e)
	newest := e.writeSnapshot(t, time.Now().Add(-time.Minute), 300, store.Good)
	truncate(t, newest)
	sus := e.writeSnapshot(t, time.Now(), 50, store.Suspect)
	truncate(t, sus)

	wantExit(t, runVerify(context.Background(), verifyOptions{globalOptions: e.g}, e.d), 8, "2 of 2 snapshots failed")
	wantNamed(t, e, newest, whole)
	wantExit(t, runVerify(context.Background(), verifyOptions{globalOptions: e.g, All: true}, e.d), 8, "4 of 4 snapshots failed")
	wantNamed(t, e, newest, whole, oldest, sus)
	byID := verifyOptions{globalOptions: e.g, IDs: []string{oldest.Meta.ID, sus.Meta.ID}}
	wantExit(t, runVerify(context.Background(), byID, e.d), 8, "2 of 2 snapshots failed")
	wantNamed(t, e, oldest, sus)
}

// wantNamed checks that the run just done printed a FAIL line for each of
// snaps, in that order, and nothing else; it resets stdout.
func wantNamed(t *testing.T, e *env, snaps ...*store.Snapshot) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(e.out.String(), "\n"), "\n")
	e.out.Reset()
	if len(lines) != len(snaps) {
		t.Fatalf("stdout %q, want a line for each of %d snapshots", lines, len(snaps))
	}
	for i, snap := range snaps {
		if want := "FAIL " + snap.Meta.ID + ": verification failed: "; !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d %q, want it to start %q", i, lines[i], want)
		}
	}
}

func truncate(t *testing.T, snap *store.Snapshot) {
	t.Helper()
	if err := os.Truncate(snap.Path, snap.Meta.StoredSize/2); err != nil {
		t.Fatal(err)
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

// An empty store is nothing to verify, verify's own exit code (not
// restore's 7), with or without --all.
func TestVerifyTargets(t *testing.T) {
	e := newEnv(t)
	wantExit(t, runVerify(context.Background(), verifyOptions{globalOptions: e.g}, e.d), 18, "no snapshot to verify: "+e.g.BackupDir)
	wantExit(t, runVerify(context.Background(), verifyOptions{globalOptions: e.g, All: true}, e.d), 18, "no snapshot to verify")
	o := verifyOptions{globalOptions: e.g, IDs: []string{"20261125T150000Z-r1"}}
	wantExit(t, runVerify(context.Background(), o, e.d), 2, "20261125T150000Z-r1")
}
