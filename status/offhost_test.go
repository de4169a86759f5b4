package status

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// status shows where off-host copies stand from what the copies recorded,
// and warns while they fail.
func TestOffhost(t *testing.T) {
	o := healthy().build(t)
	st, err := store.Open(o.BackupDir)
	if err != nil {
		t.Fatal(err)
	}
	nas := t.TempDir()
	os.WriteFile(filepath.Join(nas, offhost.MarkerName), nil, 0o600)
	id, _ := age.GenerateX25519Identity()
	o.Offhost = &offhost.Config{Dir: nas, Recipients: []string{id.Recipient().String()}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	r := gather(t, o)
	if r.Offhost == nil || r.Offhost.Backlog != 1 || r.Offhost.LastCopy != nil || len(r.Warnings) != 0 {
		t.Errorf("before any copy: %+v, warnings %q; want the newest waiting and no warning (it is 10 minutes old)", r.Offhost, r.Warnings)
	}
	if res := offhost.Copy(context.Background(), o.Offhost, st, log); res.Err != nil {
		t.Fatal(res.Err)
	}
	r = gather(t, o)
	if oh := r.Offhost; oh.Backlog != 0 || oh.LastCopy == nil || oh.RemoteSnapshots != 1 || len(r.Warnings) != 0 {
		t.Errorf("after a copy: %+v, warnings %q", oh, r.Warnings)
	}
	var b strings.Builder
	r.WriteText(&b)
	if !strings.Contains(b.String(), "off-host:    dir "+nas+" (age-encrypted): last copy ") {
		t.Errorf("text:\n%s", b.String())
	}

	os.Remove(filepath.Join(nas, offhost.MarkerName))
	writeSnap(t, st, testMeta(now, 101), store.Good)
	offhost.Copy(context.Background(), o.Offhost, st, log)
	r = gather(t, o)
	if oh := r.Offhost; oh.Backlog != 1 || !strings.Contains(oh.LastError, "is the NAS mounted") || !r.NeedsAttention || !strings.Contains(strings.Join(r.Warnings, "\n"), "off-host copy failing") {
		t.Errorf("failing copies: %+v, warnings %q", oh, r.Warnings)
	}

	o.Offhost = &offhost.Config{Dir: nas, InsecurePlaintext: true}
	if r := gather(t, o); !strings.Contains(strings.Join(r.Warnings, "\n"), "NOT encrypted") {
		t.Errorf("plaintext copies: warnings %q", r.Warnings)
	}
}
