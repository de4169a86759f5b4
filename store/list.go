package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/filelock"
)

// List returns the good snapshots, newest first in the store's order
// (Compare: by sequence, never by the clock), and the files in
// snapshots/ that are not valid snapshots. err is set only when the
// directory cannot be read.
func (s *Store) List() (snaps []Snapshot, problems []Problem, err error) {
	return s.list(Good)
}

// ListSuspect is List for the snapshots kept aside in suspect/.
func (s *Store) ListSuspect() ([]Snapshot, []Problem, error) {
	return s.list(Suspect)
}

func (s *Store) list(kind Kind) ([]Snapshot, []Problem, error) {
	dir, err := s.kindDir(kind)
	if err != nil {
		return nil, nil, fmt.Errorf("list snapshots: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s snapshots: %w", kind, err)
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[e.Name()] = true
	}
	var snaps []Snapshot
	var problems, pending []Problem
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		if why := unfinished(name, present, true); why != "" {
			pending = append(pending, Problem{Path: path, Err: errors.New(why)})
			continue
		}
		switch {
		case strings.HasSuffix(name, metaSuffix):
			id := strings.TrimSuffix(name, metaSuffix)
			snap, err := s.load(kind, id)
			if err != nil {
				problems = append(problems, Problem{Path: path, Err: err, Meta: orderOf(path, id)})
				continue
			}
			snaps = append(snaps, *snap)
		case strings.HasSuffix(name, dataSuffix): // its metadata is there
		default:
			problems = append(problems, Problem{Path: path, Err: errors.New("unexpected file")})
		}
	}
	problems = append(problems, s.interrupted(pending)...)
	sortNewestFirst(snaps)
	return snaps, problems, nil
}

// interrupted returns those of the pending files (unfinished: a write's until
// it commits) that belong to no write in progress. List takes no lock,
// and every writer holds it: while another process holds the lock they are
// its write, not a problem. Otherwise one still unfinished after the lock was
// seen free was so with no writer: a leftover of an interrupted write. One
// gone or committed since was a write that finished.
func (s *Store) interrupted(pending []Problem) []Problem {
	if len(pending) == 0 {
		return nil
	}
	held, err := filelock.Held(filepath.Join(s.Dir, lockName))
	if held {
		return nil
	}
	if err != nil { // cannot tell: name them, with why
		for i := range pending {
			pending[i].Err = fmt.Errorf("%w (or a write in progress: the store lock cannot be read: %v)", pending[i].Err, err)
		}
		return pending
	}
	var left []Problem
	for _, p := range pending {
		if _, err := os.Lstat(p.Path); errors.Is(err, fs.ErrNotExist) {
			continue // its write renamed or removed it
		}
		if strings.HasSuffix(p.Path, dataSuffix) {
			if _, err := os.Lstat(strings.TrimSuffix(p.Path, dataSuffix) + metaSuffix); err == nil {
				continue // its metadata came: committed
			}
		}
		left = append(left, p)
	}
	return left
}

// load reads and checks the snapshot id of kind: its metadata must be valid
// and name itself, and its data file must exist with the recorded size.
func (s *Store) load(kind Kind, id string) (*Snapshot, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	dir, err := s.kindDir(kind)
	if err != nil {
		return nil, err
	}
	metaPath := filepath.Join(dir, id+metaSuffix)
	m, err := readMetadata(metaPath)
	if err != nil {
		return nil, err
	}
	if m.ID != id {
		return nil, fmt.Errorf("metadata id %q does not match its file name", m.ID)
	}
	dataPath := filepath.Join(dir, m.File)
	fi, err := os.Lstat(dataPath)
	if err != nil {
		return nil, fmt.Errorf("data file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("data file %s is not a regular file (mode %v)", dataPath, fi.Mode())
	}
	if fi.Size() != m.StoredSize {
		return nil, fmt.Errorf("data file %s is %d bytes, metadata says %d: %w", dataPath, fi.Size(), m.StoredSize, ErrCorrupt)
	}
	return &Snapshot{Meta: *m, Path: dataPath, MetaPath: metaPath, Kind: kind}, nil
}

// Get returns the good or suspect snapshot id. It returns an error wrapping
// ErrNoSnapshot when there is none, and the problem when its files are
// invalid.
func (s *Store) Get(id string) (*Snapshot, error) {
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("get snapshot: %w", err)
	}
	for _, k := range []Kind{Good, Suspect} {
		dir, _ := s.kindDir(k)
		_, err := os.Lstat(filepath.Join(dir, id+metaSuffix))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		snap, err := s.load(k, id)
		if err != nil {
			return nil, fmt.Errorf("get snapshot %q: %w", id, err)
		}
		return snap, nil
	}
	return nil, fmt.Errorf("get snapshot %q: %w", id, ErrNoSnapshot)
}

// Newest returns the newest good snapshot in the store's order (the last one
// written, whatever its time says), or an error wrapping ErrNoSnapshot. It does
// not verify the checksum.
func (s *Store) Newest() (*Snapshot, error) {
	snaps, _, err := s.List()
	if err != nil {
		return nil, err
	}
	if len(snaps) == 0 {
		return nil, fmt.Errorf("newest snapshot in %s: %w", s.Dir, ErrNoSnapshot)
	}
	return &snaps[0], nil
}
