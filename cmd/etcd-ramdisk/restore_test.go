package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

func restoreOpts(e *env, dataDir string) restoreOptions {
	return restoreOptions{globalOptions: e.g, DataDir: dataDir, BumpRevision: true}
}

// memberDir is a data dir that already holds an etcd member.
func memberDir(t *testing.T, e *env) string {
	t.Helper()
	dataDir := filepath.Join(e.dir, "etcd")
	if err := os.MkdirAll(filepath.Join(dataDir, "member", "snap"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "member", "snap", "db"), []byte("live database"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dataDir
}

func TestRestoreMemberPresent(t *testing.T) {
	e := newEnv(t)
	e.deadContainerd()
	dataDir := memberDir(t, e)
	before := tree(t, dataDir)
	if err := runRestore(context.Background(), restoreOpts(e, dataDir), e.d); err != nil {
		t.Fatalf("exit %d: %v", exitCode(err), err)
	}
	if want := "nothing to do: data dir " + dataDir + " already holds an etcd member\n"; e.out.String() != want {
		t.Errorf("stdout %q, want %q", e.out, want)
	}
	if after := tree(t, dataDir); !slices.Equal(before, after) {
		t.Errorf("data dir changed:\n%v\n%v", before, after)
	}
}

// Today containerd is opened before the data dir is looked at: with its
// socket missing even a restore with nothing to do fails, touching nothing.
func TestRestoreContainerdMissing(t *testing.T) {
	e := newEnv(t)
	dataDir := memberDir(t, e)
	before := tree(t, dataDir)
	wantExit(t, runRestore(context.Background(), restoreOpts(e, dataDir), e.d), 4, "--containerd-address")
	if after := tree(t, dataDir); !slices.Equal(before, after) {
		t.Errorf("data dir changed:\n%v\n%v", before, after)
	}
}

func TestRestoreEmptyStore(t *testing.T) {
	e := newEnv(t)
	e.deadContainerd()
	dataDir := filepath.Join(e.dir, "etcd")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	err := runRestore(context.Background(), restoreOpts(e, dataDir), e.d)
	wantExit(t, err, 7, "refusing to let etcd start empty", "--allow-empty")
	if ents, err := os.ReadDir(dataDir); err != nil || len(ents) > 0 {
		t.Errorf("data dir holds %v (%v), want it empty", ents, err)
	}
	if e.out.Len() > 0 {
		t.Errorf("stdout: %q", e.out)
	}

	o := restoreOpts(e, dataDir)
	o.AllowEmpty = true
	if err := runRestore(context.Background(), o, e.d); err != nil {
		t.Fatalf("--allow-empty: exit %d: %v", exitCode(err), err)
	}
	if want := "nothing to do: no snapshot in " + e.g.BackupDir + "; --allow-empty lets etcd start empty\n"; e.out.String() != want {
		t.Errorf("--allow-empty: stdout %q, want %q", e.out, want)
	}
}

func TestRestoreBadSnapshotID(t *testing.T) {
	e := newEnv(t)
	o := restoreOpts(e, filepath.Join(e.dir, "etcd"))
	o.Snapshot = "latest"
	wantExit(t, runRestore(context.Background(), o, e.d), 2, `invalid snapshot id "latest"`)
	if _, err := os.Stat(e.g.BackupDir); !os.IsNotExist(err) {
		t.Errorf("backup dir created for a bad flag: %v", err)
	}
}

// A store whose only snapshot is cut short is not an empty store: restore
// names the snapshot it could not use and fails (exit 7), --allow-empty or
// not, rather than letting etcd start empty as for a brand-new cluster.
func TestRestoreOnlyDamaged(t *testing.T) {
	e := newEnv(t)
	e.deadContainerd()
	snap := e.writeSnapshot(t, time.Now().Add(-time.Hour), 100, store.Good)
	truncate(t, snap)
	dataDir := filepath.Join(e.dir, "etcd")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, allowEmpty := range []bool{false, true} {
		o := restoreOpts(e, dataDir)
		o.AllowEmpty = allowEmpty
		wantExit(t, runRestore(context.Background(), o, e.d), 7, "no snapshot usable: all 1 snapshots failed verification ("+snap.Meta.ID+": ", "metadata says")
		if ents, err := os.ReadDir(dataDir); err != nil || len(ents) > 0 {
			t.Errorf("data dir holds %v (%v), want it empty", ents, err)
		}
	}
}
