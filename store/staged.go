package store

import (
	"context"
	"fmt"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
	"io"
	"os"
	"path/filepath"
)

// Staged is a compressed data file written and fsynced in the store under a
// temporary name, not yet a snapshot: its metadata is written by Commit,
// once the caller has verified the raw snapshot (which may run while Stage
// compresses). Discard removes it; so does CleanTemp after a crash.
type Staged struct {
	path            string
	raw, stored     int64
	sha256          string
	committed, gone bool
}

// Stage compresses raw into a temporary data file in one pass that also
// hashes it, and makes the file durable. Call it under the lock.
func (s *Store) Stage(ctx context.Context, raw io.Reader) (_ *Staged, err error) {
	dir, err := s.kindDir(Good)
	if err != nil {
		return nil, fmt.Errorf("stage snapshot: %w", err)
	}
	f, err := os.CreateTemp(dir, tempPrefix+"staged"+dataSuffix+".")
	if err != nil {
		return nil, fmt.Errorf("stage snapshot: %w", err)
	}
	sg := &Staged{path: f.Name()}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(sg.path)
		}
	}()
	if err := f.Chmod(fileMode); err != nil {
		return nil, fmt.Errorf("stage snapshot: %w", err)
	}
	if sg.raw, sg.stored, sg.sha256, err = compressStream(ctx, f, raw); err != nil {
		return nil, fmt.Errorf("stage snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("stage snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("stage snapshot: %w", err)
	}
	return sg, nil
}

// Discard removes a staged file that was not committed; it is a no-op after Commit.
func (sg *Staged) Discard() {
	if sg != nil && !sg.committed && !sg.gone {
		os.Remove(sg.path)
		sg.gone = true
	}
}

// Commit makes sg a snapshot of kind described by meta, as Write would have:
// the data file is linked under its final name (never replacing one) and made
// durable, then the metadata file commits it. Commit fills meta as Write does.
// On error nothing new is left behind but the staged file, for Discard.
func (s *Store) Commit(ctx context.Context, meta *Metadata, sg *Staged, kind Kind) (*Snapshot, error) {
	dir, m, err := s.prepareWrite(meta, kind)
	if err != nil {
		return nil, err
	}
	m.RawSize, m.StoredSize, m.SHA256 = sg.raw, sg.stored, sg.sha256
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("write snapshot %q: %w", m.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("write snapshot %q: %w", m.ID, err)
	}
	failpoint.Inject("store-before-rename" + filepath.Ext(dataSuffix))
	dataPath := filepath.Join(dir, m.File)
	if err := renameNoReplace(sg.path, dataPath); err != nil {
		return nil, fmt.Errorf("write snapshot %q: %w", m.ID, err)
	}
	sg.committed = true
	if err := syncDirs(dir, filepath.Dir(sg.path)); err != nil {
		os.Remove(dataPath)
		return nil, fmt.Errorf("write snapshot %q: %w", m.ID, err)
	}
	err = atomicWrite(dir, m.ID+metaSuffix, true, func(w io.Writer) error {
		return writeJSON(w, &m)
	})
	if err != nil {
		if rmErr := removeIfExists(dataPath); rmErr == nil {
			_ = syncDir(dir)
		}
		return nil, fmt.Errorf("write snapshot %q: write metadata: %w", m.ID, err)
	}
	*meta = m
	return &Snapshot{Meta: m, Path: dataPath, MetaPath: filepath.Join(dir, m.ID+metaSuffix), Kind: kind}, nil
}

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
