package store

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
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
func (s *Store) Stage(ctx context.Context, raw io.Reader) (*Staged, error) {
	dir, err := s.kindDir(Good)
	if err != nil {
		return nil, fmt.Errorf("stage snapshot: %w", err)
	}
	sg := &Staged{}
	sg.path, err = hostfs.WriteTemp(dir, tempPrefix+"staged"+dataSuffix+".", fileMode, func(w io.Writer) error {
		var err error
		sg.raw, sg.stored, sg.sha256, err = compressStream(ctx, w, raw)
		return err
	})
	if err != nil {
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
	snap, err := commit(dir, sg.path, &m, kind)
	if err != nil {
		return nil, fmt.Errorf("write snapshot %q: %w", m.ID, err)
	}
	sg.committed = true
	*meta = m
	return snap, nil
}
