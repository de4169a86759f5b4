package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Names inside the store directory.
const (
	snapshotsDir      = "snapshots"
	suspectDir        = "suspect"
	imagesDir         = "images"
	restoreRecordName = "restore-record.json"
	lockName          = "lock"
	stagingDir        = "staging"
	journalDir        = "journal"
)

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

// JournalDir is the root of the journal's chains (package journal), beside
// the snapshots and with the store's modes. Like StagingDir it is not part of
// Layout: the journal creates it when it starts its first chain.
func (s *Store) JournalDir() string { return filepath.Join(s.Dir, journalDir) }

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

func (k Kind) subdir() (string, error) {
	switch k {
	case Good:
		return snapshotsDir, nil
	case Suspect:
		return suspectDir, nil
	}
	return "", fmt.Errorf("unknown snapshot kind %d", int(k))
}

func (s *Store) kindDir(k Kind) (string, error) {
	sub, err := k.subdir()
	if err != nil {
		return "", err
	}
	return filepath.Join(s.Dir, sub), nil
}

// paths returns where the snapshot's files are, derived from its kind and
// id rather than trusted from the caller, so a forged Snapshot cannot make
// Remove delete something outside the store.
func (s *Store) paths(snap *Snapshot) (data, meta string, err error) {
	if err := checkID(snap.Meta.ID); err != nil {
		return "", "", err
	}
	dir, err := s.kindDir(snap.Kind)
	if err != nil {
		return "", "", err
	}
	data = filepath.Join(dir, snap.Meta.ID+dataSuffix)
	meta = filepath.Join(dir, snap.Meta.ID+metaSuffix)
	if (snap.Path != "" && snap.Path != data) || (snap.MetaPath != "" && snap.MetaPath != meta) {
		return "", "", fmt.Errorf("paths %s, %s are not where a %s snapshot %q is stored", snap.Path, snap.MetaPath, snap.Kind, snap.Meta.ID)
	}
	return data, meta, nil
}
