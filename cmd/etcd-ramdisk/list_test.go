package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

func TestListJSON(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC().Truncate(time.Second)
	older := e.writeSnapshot(t, now.Add(-2*time.Hour), 100, store.Good)
	newer := e.writeSnapshot(t, now.Add(-time.Hour), 200, store.Good)
	suspect := e.writeSnapshot(t, now.Add(-time.Minute), 50, store.Suspect)
	if err := runList(context.Background(), listOptions{globalOptions: e.g, JSON: true}, e.d); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Snapshots []struct {
			Kind       string `json:"kind"`
			ID         string `json:"id"`
			Seq        uint64 `json:"seq"`
			StoredSize int64  `json:"storedSize"`
			Etcd       struct {
				Revision int64 `json:"revision"`
			} `json:"etcd"`
		} `json:"snapshots"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal(e.out.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, e.out)
	}
	want := []struct {
		kind string
		snap *store.Snapshot
	}{{"good", newer}, {"good", older}, {"suspect", suspect}}
	if len(got.Snapshots) != len(want) || got.Problems == nil || len(got.Problems) > 0 {
		t.Fatalf("listed %+v, want %d snapshots and no problems:\n%s", got, len(want), e.out)
	}
	for i, w := range want {
		g := got.Snapshots[i]
		if g.Kind != w.kind || g.ID != w.snap.Meta.ID || g.Etcd.Revision != w.snap.Meta.Etcd.Revision || g.Seq != w.snap.Meta.Seq || g.StoredSize != w.snap.Meta.StoredSize {
			t.Errorf("snapshot %d: %+v, want %s %+v", i, g, w.kind, w.snap.Meta)
		}
	}
}

func TestListTable(t *testing.T) {
	e := newEnv(t)
	snap := e.writeSnapshot(t, time.Now().Add(-time.Hour), 100, store.Good)
	if err := os.WriteFile(filepath.Join(e.g.BackupDir, "snapshots", "20261125T150000Z-r1.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runList(context.Background(), listOptions{globalOptions: e.g}, e.d); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(e.out.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") || !strings.HasPrefix(lines[1], snap.Meta.ID+"  good  1 ") ||
		!strings.HasPrefix(lines[2], "problem: "+filepath.Join(e.g.BackupDir, "snapshots", "20261125T150000Z-r1.json: ")) {
		t.Errorf("list:\n%s", e.out)
	}
}

// list --offhost with the target's directory gone (the NAS not mounted).
func TestListOffhostUnreachable(t *testing.T) {
	e := newEnv(t)
	nas := filepath.Join(e.dir, "nas")
	b, err := (&offhost.Config{Dir: nas, InsecurePlaintext: true}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.g.OffhostConfig, b, 0o600); err != nil {
		t.Fatal(err)
	}
	o := listOptions{globalOptions: e.g, Offhost: true}
	wantExit(t, runList(context.Background(), o, e.d), 15, "target dir "+nas, "is the NAS mounted?")

	o.OffhostConfig, o.OffhostConfigSet = filepath.Join(e.dir, "missing.yaml"), false
	wantExit(t, runList(context.Background(), o, e.d), 2, "--offhost: no off-host config at")
}

// A result that cannot be written is a failure like any other.
func TestListStdoutFails(t *testing.T) {
	e := newEnv(t)
	e.d.Stdout = failingWriter{}
	wantExit(t, runList(context.Background(), listOptions{globalOptions: e.g, JSON: true}, e.d), 1, "broken pipe")
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) {
	return 0, errors.New("write /dev/stdout: broken pipe")
}
