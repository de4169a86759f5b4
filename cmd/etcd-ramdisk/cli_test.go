package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"golang.org/x/sys/unix"
)

// Mistakes on the command line are usage errors (exit 2), found before
// anything runs: the backup dir is not even created.
func TestUsageErrorsBeforeAnything(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	badReason := backupOpts(e, "shutdwon")
	negBackup := backupOpts(e, store.ReasonCron)
	negBackup.Policy.Last = -1
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"backup --reason shutdwon", runBackup(ctx, badReason, e.d), `--reason "shutdwon"`},
		{"backup --keep-last -1", runBackup(ctx, negBackup, e.d), "negative count"},
		{"prune --keep-last -3", runPrune(ctx, pruneOptions{globalOptions: e.g, Policy: store.Policy{Last: -3}}, e.d), "negative count"},
		{"etcd-ramdisk bogus", newAppQuiet().RunContext(ctx, []string{"etcd-ramdisk", "bogus"}), `unknown command "bogus"`},
		{"list extra-arg", newAppQuiet().RunContext(ctx, []string{"etcd-ramdisk", "--backup-dir", e.g.BackupDir, "list", "extra-arg"}), "list takes no arguments"},
		{"status extra-arg", newAppQuiet().RunContext(ctx, []string{"etcd-ramdisk", "--backup-dir", e.g.BackupDir, "status", "now"}), "status takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantExit(t, tc.err, 2, tc.want)
			if _, err := os.Stat(e.g.BackupDir); err == nil {
				t.Errorf("the backup dir was created")
			}
		})
	}
	if err := newAppQuiet().RunContext(ctx, []string{"etcd-ramdisk"}); err != nil {
		t.Errorf("no command: %v, want help and exit 0", err)
	}
}

// A backup into a backup dir it cannot write fails as a config error (3)
// before containerd, and so etcd, is asked anything (here containerd's
// socket is missing: asking would exit 4).
func TestBackupReadOnlyBackupDir(t *testing.T) {
	e := newEnv(t)
	e.store(t)
	readOnly(t, e.g.BackupDir)
	wantExit(t, runBackup(context.Background(), backupOpts(e, store.ReasonCron), e.d), 3, "not writable")
	if got := tree(t, e.g.BackupDir); len(got) != len(store.Layout(e.g.BackupDir)) {
		t.Errorf("backup dir changed: %q", got)
	}
}

// readOnly makes dir unwritable for this process until the test ends: a
// read-only bind mount as root (whom modes do not stop), a mode otherwise.
func readOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Error(err)
		}
	})
	if err := unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
}

// restore --data-dir onto a mistyped path whose parent is missing fails as a
// config error (3) before anything runs, and creates nothing.
func TestRestoreDataDirMissingParent(t *testing.T) {
	e := newEnv(t)
	e.writeSnapshot(t, time.Now().Add(-time.Minute), 100, store.Good)
	o := restoreOptions{globalOptions: e.g, DataDir: filepath.Join(e.dir, "var", "lib", "etcd-typo", "data")}
	wantExit(t, runRestore(context.Background(), o, e.d), 3, "restore creates the data dir, never its parents")
	if _, err := os.Stat(filepath.Join(e.dir, "var")); !os.IsNotExist(err) {
		t.Errorf("restore created %s: %v", filepath.Join(e.dir, "var"), err)
	}
}

// Progress goes only to a terminal: a pipe (cron's mail, the journal) gets
// none.
func TestProgressOnlyOnATerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if terminal(w) != nil {
		t.Error("a pipe taken for a terminal")
	}
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pty.Close()
	if terminal(pty) == nil {
		t.Error("a pseudo-terminal not taken for a terminal")
	}
}
