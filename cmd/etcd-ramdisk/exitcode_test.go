package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/install"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Errors as the layers wrap them map to the documented codes.
func TestExitCode(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, getErr := st.Get("20261201T100000Z-r5")
	// A run interrupted while it waits for another run's lock.
	unlock, err := st.Lock(context.Background(), time.Second, "holder")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, lockErr := st.Lock(ctx, time.Minute, "waiter")
	unlock()
	// install with a manifest that does not exist (install's own config error).
	_, installErr := install.Install(context.Background(), install.Deps{Geteuid: func() int { return 0 }},
		install.Options{Root: dir, Manifest: "/etc/kubernetes/manifests/etcd.yaml", DryRun: true})
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"restore --snapshot of a well-formed id that does not exist", fmt.Errorf("snapshot %q: %w", "x", getErr), exitNoSnapshot},
		{"SIGTERM while waiting for the lock", lockErr, exitInterrupted},
		{"--timeout", fmt.Errorf("etcdctl: %w", context.DeadlineExceeded), exitInterrupted},
		{"etcd stopped during the backup", fmt.Errorf("%w: container stopped", erdrt.ErrEtcdNotRunning), exitEtcdDown},
		{"data dir in use", fmt.Errorf("cold snapshot: %w", backup.ErrDataDirInUse), exitInUse},
		{"install: manifest missing", installErr, exitConfig},
		{"no usable snapshot", fmt.Errorf("restore: %w usable: all 2 snapshots failed verification", store.ErrNoSnapshot), exitNoSnapshot},
	} {
		if tc.err == nil {
			t.Fatalf("%s: no error to map", tc.name)
		}
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}
