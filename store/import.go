package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
)

// Import stores a snapshot copied back from elsewhere (an off-host copy):
// stored is its data file exactly as Write made it, meta its metadata, whose
// id and sequence are kept, so the store's order stays the order the copies
// were taken in. It refuses a snapshot that would not be the newest in the
// store's history (its Seq is not above every number the store holds), and
// one whose bytes do not match meta's size and sha256 (wrapping ErrCorrupt);
// nothing is left behind then. Call it under the lock.
func (s *Store) Import(ctx context.Context, meta *Metadata, stored io.Reader) (*Snapshot, error) {
	m := *meta
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("import snapshot %q: %w: %w", m.ID, ErrCorrupt, err)
	}
	if m.Suspect != "" {
		return nil, fmt.Errorf("import snapshot %q: it is a suspect snapshot", m.ID)
	}
	next, err := s.nextSeq()
	if err != nil {
		return nil, fmt.Errorf("import snapshot %q: %w", m.ID, err)
	}
	// An unnumbered (legacy) snapshot only fits a store that has numbered nothing yet.
	if (m.Seq != 0 && m.Seq < next) || (m.Seq == 0 && next != 1) {
		return nil, fmt.Errorf("import snapshot %q: its sequence %d is not after the %d the store's history is at", m.ID, m.Seq, next-1)
	}
	if taken, err := s.idTaken(m.ID); err != nil || taken {
		return nil, fmt.Errorf("import snapshot %q: already in the store (or unreadable: %v)", m.ID, err)
	}
	dir, _ := s.kindDir(Good)
	snap, err := commitStream(dir, &m, Good, func(w io.Writer) error {
		return copyChecked(ctx, w, stored, &m)
	})
	if err != nil {
		return nil, fmt.Errorf("import snapshot %q: %w", m.ID, err)
	}
	return snap, nil
}

// copyChecked copies the stored bytes and compares them with the metadata.
func copyChecked(ctx context.Context, w io.Writer, r io.Reader, m *Metadata) error {
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), rawInput{ctx: ctx, r: r})
	if err != nil {
		return err
	}
	return checkStored(m, n, h)
}
