package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
)

// A journal unit left alone (the rest removed by hand) is still
// uninstall's: it stops and disables the journal before removing it.
func TestUninstallRemovesLeftJournalUnit(t *testing.T) {
	root := newRoot(t)
	o := options(root)
	if _, err := Install(context.Background(), (&fakeNode{}).deps(), o); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{assets.DropIn.Path, assets.Cron.Path} {
		if err := os.Remove(filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, root, "/etc/fstab", []byte(fstabBefore), 0o664)
	o.live = true
	node := &fakeNode{}
	if _, err := Uninstall(context.Background(), node.deps(), o); err != nil {
		t.Fatal(err)
	}
	want := []string{"systemctl disable --now " + journalUnit, "systemctl daemon-reload"}
	if !slices.Equal(node.calls, want) {
		t.Errorf("calls %v, want %v", node.calls, want)
	}
	if _, err := os.Stat(filepath.Join(root, assets.JournalUnit.Path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal unit still there: %v", err)
	}
}

// When the journal does not start after install --now switched etcd, the
// error says that the switch itself is done.
func TestInstallNowJournalStartFailure(t *testing.T) {
	root := newRoot(t)
	o := options(root)
	o.live, o.Now = true, true
	node := &fakeNode{fail: map[string]error{"systemctl restart " + journalUnit: errors.New("exit status 1")}}
	_, err := Install(context.Background(), node.deps(), o)
	if err == nil || !strings.Contains(err.Error(), "etcd runs from the tmpfs, but the journal did not start") {
		t.Fatalf("got %v", err)
	}
	if i := slices.Index(node.calls, "systemctl start kubelet"); i < 0 || node.calls[len(node.calls)-1] != "systemctl restart "+journalUnit {
		t.Errorf("calls %v: want kubelet started, then the journal", node.calls)
	}
}
