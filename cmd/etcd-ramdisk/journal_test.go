package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

func journalOpts(e *env) journalOptions {
	return journalOptions{globalOptions: e.g, Interval: time.Second, StateFile: filepath.Join(e.dir, "run", "journal.json"),
		Policy: store.DefaultPolicy()}
}

func TestJournalBadInterval(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second, 5*time.Second + time.Millisecond, time.Minute} {
		e := newEnv(t)
		o := journalOpts(e)
		o.Interval = d
		wantExit(t, runJournal(context.Background(), o, e.d), 2, "--interval", "at most 5s")
	}
}

func TestJournalManifestMissing(t *testing.T) {
	e := newEnv(t)
	o := journalOpts(e)
	o.Manifest = filepath.Join(e.dir, "etcd.yaml")
	wantExit(t, runJournal(context.Background(), o, e.d), 3, o.Manifest)
}

// The service runs until SIGTERM, publishing why it does not follow etcd
// (here kubeadm's CA is not on this machine), and a stop exits 0.
func TestJournalStopsCleanly(t *testing.T) {
	e := newEnv(t)
	o := journalOpts(e)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runJournal(ctx, o, e.d) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := journal.ReadState(o.StateFile)
		if err == nil && strings.Contains(st.LastError, "etcd client certificate: open /etc/kubernetes/pki/etcd/ca.crt") {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("state %+v (%v): want the missing CA named\n%s", st, err, e.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wantExit(t, <-done, 0)
	if st, err := journal.ReadState(o.StateFile); err != nil || st.Running || st.Interval != time.Second {
		t.Errorf("state after the stop: %+v %v", st, err)
	}
}
