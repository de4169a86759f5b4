package verify

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// stagingName is the directory in the backup dir where verify stages
// decompressed databases: on the backup disk, beside the store, never in
// TMPDIR, which on many hosts is a tmpfs and would double the RAM etcd uses.
// verify takes no store lock, so it has its own directory rather than the
// backups' staging dir, which every job under the lock empties.
const stagingName = "verify-staging"

// WorkDir makes this run's staging directory under the backup dir, named
// after its process (hostfs.MkdirOwned), and removes those of runs that are
// gone (killed mid-verify). Call done to remove it.
func WorkDir(st *store.Store) (dir string, done func(), err error) {
	parent := filepath.Join(st.Dir, stagingName)
	if err := os.Mkdir(parent, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", nil, fmt.Errorf("verify staging dir: %w", err)
	}
	sweep(parent)
	dir, err = hostfs.MkdirOwned(parent, "")
	if err != nil {
		return "", nil, fmt.Errorf("verify staging dir: %w", err)
	}
	return dir, func() {
		os.RemoveAll(dir)
		os.Remove(parent) // only when no other run stages there
	}, nil
}

// sweep removes the staging dirs whose process is gone.
func sweep(parent string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		if pid, start, ok := hostfs.DirOwner(e.Name(), ""); !ok || hostfs.OwnerAlive(pid, start) {
			continue
		}
		os.RemoveAll(filepath.Join(parent, e.Name()))
	}
}
