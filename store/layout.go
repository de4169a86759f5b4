package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

const stagingDir = "staging"

// Layout lists the directories of a store at dir, the store's root first, as
// Open creates them.
func Layout(dir string) []string {
	out := []string{dir}
	for _, sub := range []string{snapshotsDir, suspectDir, imagesDir} {
		out = append(out, filepath.Join(dir, sub))
	}
	return out
}

// StagingDir is where a backup stages a snapshot on persistent disk when the
// tmpfs has no room (a sidecar writes it there). It is not part of Layout:
// jobs create it when they need it and remove it when done, and every job
// under the lock removes what a killed run left there.
func (s *Store) StagingDir() string { return filepath.Join(s.Dir, stagingDir) }

// OpenExisting opens the store at dir only when it is complete, so that
// opening it creates nothing: for readers such as status, which never write.
// Its error says what is missing.
func OpenExisting(dir string) (*Store, error) {
	for _, path := range Layout(dir) {
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("%s does not exist: no backup has run", path)
		case err != nil:
			return nil, fmt.Errorf("backup dir: %w", err)
		case !fi.IsDir():
			return nil, fmt.Errorf("%s is not a directory", path)
		}
	}
	return Open(dir)
}

// LockState says whether another process holds the store lock, and who,
// without taking it: a shared, non-blocking flock on the existing lock file
// conflicts with Lock's exclusive one but, unlike Lock, neither creates the
// file nor disturbs the holder. A lock file that does not exist was never
// taken. held can be true with an error that says why the holder is unknown.
func (s *Store) LockState() (held bool, holder string, err error) {
	path := filepath.Join(s.Dir, lockName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false, "", nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return false, "", fmt.Errorf("flock %s: %w", path, err)
	}
	holder, err = s.LockHolder()
	return true, holder, err
}
