package store

import (
	"fmt"
	"path/filepath"
)

// Remove deletes a snapshot: the metadata first, so that a crash midway
// leaves an orphan data file (reported, then cleaned) and never metadata
// that names a missing file.
func (s *Store) Remove(snap *Snapshot) error {
	data, meta, err := s.paths(snap)
	if err != nil {
		return fmt.Errorf("remove snapshot: %w", err)
	}
	if err := removeIfExists(meta); err != nil {
		return fmt.Errorf("remove snapshot %q: %w", snap.Meta.ID, err)
	}
	if err := removeIfExists(data); err != nil {
		return fmt.Errorf("remove snapshot %q: %w", snap.Meta.ID, err)
	}
	if err := syncDir(filepath.Dir(meta)); err != nil {
		return fmt.Errorf("remove snapshot %q: %w", snap.Meta.ID, err)
	}
	return nil
}
