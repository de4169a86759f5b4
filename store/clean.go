package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleAge is how old a temporary or orphan file must be before
// CleanTemp removes it. Every writer holds the lock and CleanTemp is only
// called under it, so any leftover seen then belongs to a dead run.
const staleAge = 0

// CleanTemp removes leftover temporary files (anywhere in the store) and
// data files without metadata (in snapshots/ and suspect/) that are older
// than a minute, and returns their paths. Call it only under the lock: a
// write in progress has exactly such files.
func (s *Store) CleanTemp() ([]string, error) {
	var removed []string
	dirs := []struct {
		path    string
		orphans bool
	}{
		{s.Dir, false},
		{filepath.Join(s.Dir, snapshotsDir), true},
		{filepath.Join(s.Dir, suspectDir), true},
		{filepath.Join(s.Dir, imagesDir), false},
	}
	cutoff := time.Now().Add(-staleAge)
	for _, d := range dirs {
		r, err := cleanDir(d.path, d.orphans, cutoff)
		removed = append(removed, r...)
		if err != nil {
			return removed, fmt.Errorf("clean %s: %w", d.path, err)
		}
	}
	return removed, nil
}

func cleanDir(dir string, orphans bool, cutoff time.Time) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[e.Name()] = true
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if unfinished(name, present, orphans) == "" || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, err
		}
		if fi.ModTime().After(cutoff) {
			continue
		}
		path := filepath.Join(dir, name)
		if err := removeIfExists(path); err != nil {
			return removed, err
		}
		removed = append(removed, path)
	}
	if len(removed) > 0 {
		return removed, syncDir(dir)
	}
	return removed, nil
}

// unfinished says what name, in a directory whose entries are present, is
// when it is a file a write leaves until it commits: a temporary file, or
// (with orphans) a data file whose metadata is not there. "" when neither.
// A write in progress has such files; a write that was interrupted leaves them.
func unfinished(name string, present map[string]bool, orphans bool) string {
	switch {
	case strings.HasPrefix(name, tempPrefix):
		return "leftover temporary file of an interrupted write"
	case orphans && strings.HasSuffix(name, dataSuffix) && !present[strings.TrimSuffix(name, dataSuffix)+metaSuffix]:
		return "orphan data file without metadata"
	}
	return ""
}
