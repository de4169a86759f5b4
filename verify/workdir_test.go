package verify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// verify stages in the backup dir (the backup disk), not in TMPDIR; a killed
// run's directory is swept by the next run, a live one's is left alone.
func TestWorkDirOnTheBackupDisk(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	st, err := store.Open(filepath.Join(t.TempDir(), "backups"))
	if err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(st.Dir, stagingName, "999999999-1-x")
	if err := os.MkdirAll(filepath.Join(dead, ".verify-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	dir, done, err := WorkDir(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dir, st.Dir+string(os.PathSeparator)) || strings.HasPrefix(dir, os.TempDir()) {
		t.Errorf("work dir %s is not in the backup dir %s", dir, st.Dir)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("a dead run's staging dir is still there: %v", err)
	}
	_, done2, err := WorkDir(st) // a second run leaves the live first one alone
	if err != nil {
		t.Fatal(err)
	}
	done2()
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("a live run's staging dir was removed: %v", err)
	}
	done()
	if _, err := os.Stat(filepath.Dir(dir)); !os.IsNotExist(err) {
		t.Errorf("done left %s: %v", filepath.Dir(dir), err)
	}
}
