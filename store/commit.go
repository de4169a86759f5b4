package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
)

// commit makes tmp, a complete and fsynced data file, the snapshot m of kind
// in dir: tmp is linked to m.File (never replacing a file) and made durable,
// then m's metadata file is written the same way, which commits the snapshot.
// On an error the store holds what it held before, tmp aside (it is the
// caller's): the metadata, when it got in place, is removed before the data
// file it names, and when a removal fails both stay, so that metadata never
// names a missing file.
func commit(dir, tmp string, m *Metadata, kind Kind) (*Snapshot, error) {
	dataPath := filepath.Join(dir, m.File)
	metaName := m.ID + metaSuffix
	metaPath := filepath.Join(dir, metaName)
	failpoint.Inject("store-before-rename" + filepath.Ext(m.File))
	if placed, err := link(tmp, dataPath); err != nil {
		if placed {
			return nil, rollback(err, dir, dataPath)
		}
		return nil, err
	}
	if err := syncDirs(dir, filepath.Dir(tmp)); err != nil {
		return nil, rollback(err, dir, dataPath)
	}
	metaTmp, err := hostfs.WriteTemp(dir, tempPrefix+metaName+".", fileMode, func(w io.Writer) error {
		return writeJSON(w, m)
	})
	if err != nil {
		return nil, rollback(fmt.Errorf("write metadata: %w", err), dir, dataPath)
	}
	failpoint.Inject("store-before-rename" + filepath.Ext(metaName))
	if placed, err := link(metaTmp, metaPath); err != nil {
		os.Remove(metaTmp)
		if placed {
			return nil, rollback(fmt.Errorf("write metadata: %w", err), dir, metaPath, dataPath)
		}
		return nil, rollback(fmt.Errorf("write metadata: %w", err), dir, dataPath)
	}
	if err := syncDir(dir); err != nil {
		return nil, rollback(fmt.Errorf("write metadata: %w", err), dir, metaPath, dataPath)
	}
	return &Snapshot{Meta: *m, Path: dataPath, MetaPath: metaPath, Kind: kind}, nil
}

// link moves tmp to path (renameNoReplace) and says whether path holds tmp's
// file, which it can even on an error: the link may succeed and the removal
// of tmp's name fail. Only then is path the commit's to roll back.
func link(tmp, path string) (placed bool, err error) {
	err = renameNoReplace(tmp, path)
	if err == nil {
		return true, nil
	}
	a, errA := os.Lstat(tmp)
	b, errB := os.Lstat(path)
	return errA == nil && errB == nil && os.SameFile(a, b), err
}

// commitStream writes the data file of m with write, then commits it (commit).
func commitStream(dir string, m *Metadata, kind Kind, write func(io.Writer) error) (*Snapshot, error) {
	tmp, err := hostfs.WriteTemp(dir, tempPrefix+m.File+".", fileMode, write)
	if err != nil {
		return nil, err
	}
	snap, err := commit(dir, tmp, m, kind)
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return snap, nil
}

// rollback removes the files a failed commit put in dir, in order, and
// returns err. It stops at the first removal that fails, leaving the rest:
// given the metadata file first, it never removes the data file of metadata
// that stays.
func rollback(err error, dir string, paths ...string) error {
	for _, p := range paths {
		if rmErr := removeIfExists(p); rmErr != nil {
			return fmt.Errorf("%w; not rolled back: %v", err, rmErr)
		}
	}
	_ = syncDir(dir)
	return err
}

// syncDirs syncs each of dirs once.
func syncDirs(dirs ...string) error {
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d] {
			continue
		}
		seen[d] = true
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}
