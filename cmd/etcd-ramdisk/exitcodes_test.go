package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/install"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/buildinfo"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/urfave/cli/v2"
)

var update = flag.Bool("update", false, "rewrite the README's exit code table from exitCodes")

// Every row of the table, with errors as the packages return and wrap them:
// made for real where no containerd, etcd or off-host target is needed, and
// otherwise wrapped with the format of the line cited.
func TestExitCodes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	st := e.store(t)
	_, getErr := st.Get("20261201T100000Z-r5")
	unlock, err := st.Lock(ctx, time.Second, "holder")
	if err != nil {
		t.Fatal(err)
	}
	_, lockTimeout := st.Lock(ctx, 10*time.Millisecond, "waiter")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, lockCancelled := st.Lock(cancelled, time.Minute, "waiter")
	unlock()
	_, _, openErr := erdrt.Open(ctx, e.g.ContainerdAddress, "k8s.io")
	_, identityErr := offhost.LoadIdentities("")
	_, offhostErr := offhost.List(ctx, &offhost.Config{Dir: filepath.Join(e.dir, "nas")})
	_, installErr := install.Install(ctx, install.Deps{Geteuid: func() int { return 0 }},
		install.Options{Root: e.dir, Manifest: filepath.Join(e.dir, "etcd.yaml"), DryRun: true})
	badManifest := backupOpts(e, store.ReasonCron)
	badManifest.Manifest = filepath.Join(e.dir, "etcd.yaml")
	onDisk := statusOptions{globalOptions: e.g, Root: e.dir, DataDir: e.dir, MaxBackupAge: time.Hour}
	e.d.Stdout = io.Discard

	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"success", runVersion(ctx, versionOptions{Info: buildinfo.Get()}, e.d), 0},
		{"stdout closed", runList(ctx, listOptions{globalOptions: e.g, JSON: true}, deps{Stdout: failingWriter{}}), 1},
		{"bad --snapshot", runRestore(ctx, restoreOptions{globalOptions: e.g, Snapshot: "latest"}, e.d), 2},
		{"unknown flag", newAppQuiet().RunContext(ctx, []string{"etcd-ramdisk", "backup", "--bogus"}), 2},
		{"manifest missing", runBackup(ctx, badManifest, e.d), 3},
		{"install: manifest missing", installErr, 3},
		{"containerd socket missing (runtime.Open)", openErr, 4},
		{"etcd gone (runtime/etcd.go FindEtcd)", fmt.Errorf("%w: no running container labelled io.kubernetes.container.name=etcd, io.kubernetes.pod.namespace=kube-system in namespace k8s.io (0 stopped)", erdrt.ErrEtcdNotRunning), 5},
		{"etcd stopped during the backup (jobs/backup.go)", fmt.Errorf("%w: etcd container %s stopped during the backup (%w)", erdrt.ErrEtcdNotRunning, "abc", errors.New("exec: task not found")), 5},
		{"lock held past --lock-timeout", lockTimeout, 6},
		{"restore --snapshot of an id that does not exist (jobs/restore.go)", fmt.Errorf("snapshot %q: %w", "x", getErr), 7},
		{"verify with no snapshot", runVerify(ctx, verifyOptions{globalOptions: e.g}, e.d), 18},
		{"restore: every snapshot failed (jobs/restore.go)", fmt.Errorf("%w usable: all 2 snapshots failed verification (a; b); the data dir /var/lib/etcd is left empty", store.ErrNoSnapshot), 7},
		{"checksum mismatch (verify.Snapshot)", fmt.Errorf("%d of %d snapshots failed: %w", 1, 1, errors.Join(fmt.Errorf("%w: %w", etcdtool.ErrVerify, store.ErrCorrupt))), 8},
		{"revision went backwards (jobs/backup.go)", fmt.Errorf("%w: %s", backup.ErrSuspect, "revision 5 is below the newest snapshot's 9"), 9},
		{"status needs attention (status.go)", fmt.Errorf("%w: %d warning(s)", errNeedsAction, 2), 10},
		{"status: containerd gone, backups cannot work", runStatus(ctx, onDisk, e.d), 17},
		{"tmpfs too small (jobs/restore.go checkRoom)", fmt.Errorf("%w: restoring needs %s free on %s but it has %s; make the tmpfs at least %s (size= in /etc/fstab), then run restore again", etcdtool.ErrNoRoom, "200MiB", "/var/lib/etcd", "100MiB", "300MiB"), 11},
		{"data dir in use (jobs/cold.go)", fmt.Errorf("%w: %s", backup.ErrDataDirInUse, "etcd (pid 42)"), 12},
		{"two etcds (runtime/select.go pickEtcd)", fmt.Errorf("%w: %d are running (%s), none from the manifest's image", erdrt.ErrEtcdAmbiguous, 2, "a, b"), 13},
		{"no identity (offhost.LoadIdentities)", identityErr, 14},
		{"NAS not mounted (offhost dir target)", offhostErr, 15},
		{"access denied (offhost/s3.go)", fmt.Errorf("%s: %w: %s (%s): check the credentials", "get x", offhost.ErrDenied, "AccessDenied", "no"), 15},
		{"no bucket (offhost/s3.go)", fmt.Errorf("%s: %w: %q on %s (create it first)", "list", offhost.ErrNoBucket, "b", "https://s3"), 15},
		{"SIGTERM while waiting for the lock", lockCancelled, 16},
		{"--timeout", fmt.Errorf("etcdctl: %w", context.DeadlineExceeded), 16},
		{"install: its restore step exited 7 (install.go run)", fmt.Errorf("x restore: %w; kubelet left stopped", &install.ToolExit{Code: 7, Err: errors.New("exit status 7")}), 7},
		{"install: its restore step exited 11", fmt.Errorf("x restore: %w", &install.ToolExit{Code: 11, Err: errors.New("exit status 11")}), 11},
	} {
		if tc.want != 0 && tc.err == nil {
			t.Errorf("%s: no error to map", tc.name)
			continue
		}
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

// newAppQuiet is the command line with its usage output thrown away.
func newAppQuiet() *cli.App {
	app := newApp()
	app.Writer, app.ErrWriter = io.Discard, io.Discard
	return app
}

// The table's shape: codes 0 to 16 each once, names once, and a last row
// that takes every error.
func TestExitTable(t *testing.T) {
	var codes []int
	names := map[string]bool{}
	for _, r := range exitCodes {
		codes = append(codes, r.code)
		if names[r.name] || r.name == "" || r.text == "" || r.match == nil {
			t.Errorf("row %d: name %q repeated or a field missing", r.code, r.name)
		}
		names[r.name] = true
	}
	slices.Sort(codes)
	for i, c := range codes {
		if c != i {
			t.Fatalf("codes %v: want 0 to %d, each once", codes, len(codes)-1)
		}
	}
	if last := exitCodes[len(exitCodes)-1]; last.code != 1 || !last.match(errors.New("anything")) {
		t.Errorf("the last row is %d, want 1 taking every error", last.code)
	}
}

// The README's exit code table is the one --help prints: cron, systemd and
// monitoring are written against it. `go test -run TestReadmeExitCodes
// -update` rewrites it from exitCodes.
func TestReadmeExitCodes(t *testing.T) {
	const path = "../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	section := strings.Index(s, "\n## Exit codes\n")
	start := strings.Index(s[section+1:], "\n| code |")
	if section < 0 || start < 0 {
		t.Fatal("README has no exit code table under ## Exit codes")
	}
	start += section + 2
	end := start
	for end < len(s) && s[end] == '|' {
		end += strings.IndexByte(s[end:], '\n') + 1
	}
	want := exitCodeMarkdown()
	if s[start:end] == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(s[:start]+want+s[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README's exit code table differs from exitCodes (go test -run TestReadmeExitCodes -update rewrites it); want:\n%s", want)
}

func TestHelpListsExitCodes(t *testing.T) {
	var out strings.Builder
	app := newApp()
	app.Writer = &out
	if err := app.RunContext(context.Background(), []string{"etcd-ramdisk", "--help"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "\nEXIT CODES:\n"+exitCodeHelp()) {
		t.Errorf("--help does not end with the exit codes:\n%s", out.String())
	}
	for _, line := range []string{"    4  containerd not reachable\n", "   16  interrupted by SIGINT/SIGTERM or --timeout (also"} {
		if !strings.Contains(exitCodeHelp(), line) {
			t.Errorf("EXIT CODES lack %q", line)
		}
	}
}
