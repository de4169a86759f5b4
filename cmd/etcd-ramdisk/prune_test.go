package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

func TestPruneDryRun(t *testing.T) {
	e := newEnv(t)
	old := e.writeSnapshot(t, time.Now().Add(-2*time.Hour), 100, store.Good)
	newest := e.writeSnapshot(t, time.Now().Add(-time.Hour), 200, store.Good)
	o := pruneOptions{globalOptions: e.g, DryRun: true, Policy: store.Policy{Last: 1}}
	if err := runPrune(context.Background(), o, e.d); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("keep   %s last\nwould remove %s \n", newest.Meta.ID, old.Meta.ID); e.out.String() != want {
		t.Errorf("stdout %q, want %q", e.out, want)
	}
	if good, _, err := e.store(t).List(); err != nil || len(good) != 2 {
		t.Errorf("after a dry run the store holds %d snapshots (%v), want 2", len(good), err)
	}
}
