package restore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
)

func hasMember(dataDir string) bool {
	fi, err := os.Stat(manifest.MemberDir(dataDir))
	return err == nil && fi.IsDir()
}

// CheckDataDir refuses a data dir that restore would have to create with its
// parents, or that is not a directory: a mistyped --data-dir fails at once
// (ErrDataDir) instead of filling the root disk. A missing data dir whose
// parent exists is fine: restore creates it.
func CheckDataDir(dataDir string) error {
	if !filepath.IsAbs(dataDir) {
		return fmt.Errorf("%w: %s is not an absolute path", ErrDataDir, dataDir)
	}
	fi, err := os.Stat(dataDir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrDataDir, dataDir)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", ErrDataDir, err)
	}
	parent := filepath.Dir(filepath.Clean(dataDir))
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: %s does not exist and neither does its parent %s (restore creates the data dir, never its parents: is the path right?)", ErrDataDir, dataDir, parent)
	}
	return nil
}

// prepareDataDir removes the work files of an interrupted restore. Nothing else is
// touched: without member/ the data dir holds nothing etcd would use.
func prepareDataDir(ctx context.Context, dataDir string) error {
	if err := os.Mkdir(dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %w", ErrDataDir, err)
	}
	for _, name := range []string{restoreWork, etcdtool.StagingName} {
		p := filepath.Join(dataDir, name)
		if _, err := os.Stat(p); err == nil {
			logging.G(ctx).Info("removing the leftovers of an interrupted run", "path", p)
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("remove %s: %w", p, err)
			}
		}
	}
	return nil
}

// checkRoom refuses before writing anything when the tmpfs cannot hold the
// staged snapshot and the restored database, each grown by journal (what a
// journal chain written into it adds; 0 without one).
func checkRoom(dataDir string, raw, journal int64) error {
	const mib = etcdtool.MiB
	human := etcdtool.HumanMiB
	need := 2*(raw+journal) + 64*mib + 16*mib
	free, err := etcdtool.FreeBytes(dataDir)
	if err != nil {
		return err
	}
	alone := ""
	if journal > 0 {
		alone = fmt.Sprintf(" (or `etcd-ramdisk restore --no-journal`: the snapshot alone needs %s, and loses what the journal holds after it)", human(2*raw+80*mib))
	}
	if free < need {
		return fmt.Errorf("%w: restoring needs %s free on %s but it has %s; make the tmpfs at least %s (size= in /etc/fstab), then run restore again%s", etcdtool.ErrNoRoom, human(need), dataDir, human(free), human(need+raw+journal), alone)
	}
	if mem, err := hostfs.MemAvailable(); err == nil && mem < need {
		return fmt.Errorf("%w: restoring into tmpfs needs %s of memory but only %s is available%s", etcdtool.ErrNoRoom, human(need), human(mem), alone)
	}
	return nil
}

// commitMember moves the restored member/ into the data dir in one rename on the
// same filesystem and makes it durable.
func commitMember(work, dataDir string) error {
	out := filepath.Join(work, "out")
	if err := hostfs.SyncTree(out); err != nil {
		return err
	}
	if err := os.Rename(manifest.MemberDir(out), manifest.MemberDir(dataDir)); err != nil {
		return fmt.Errorf("move restored member into %s: %w", dataDir, err)
	}
	if err := os.Chmod(dataDir, 0o700); err != nil {
		return err
	}
	return hostfs.SyncDir(dataDir)
}
