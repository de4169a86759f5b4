package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// maxIDSuffix bounds the search for a free id; reaching it means
// something is writing snapshots in a loop.
const maxIDSuffix = 1000

// prepareWrite checks meta and fills what the store owns in a copy of it,
// all but the data file's sizes and checksum.
func (s *Store) prepareWrite(meta *Metadata, kind Kind) (string, Metadata, error) {
	dir, err := s.kindDir(kind)
	if err != nil {
		return "", Metadata{}, fmt.Errorf("write snapshot: %w", err)
	}
	m := *meta
	m.Time = m.Time.UTC()
	if m.FormatVersion == 0 {
		// The store owns the format; callers need not know its version.
		m.FormatVersion = FormatVersion
	}
	if err := checkSuspectReason(&m, kind); err != nil {
		return "", Metadata{}, fmt.Errorf("write snapshot: %w", err)
	}
	if err := m.validateInput(); err != nil {
		return "", Metadata{}, fmt.Errorf("write snapshot: %w", err)
	}
	if m.ID, err = s.pickID(m.ID, m.Time, m.Etcd.Revision); err != nil {
		return "", Metadata{}, fmt.Errorf("write snapshot: %w", err)
	}
	if m.Seq, err = s.nextSeq(); err != nil {
		return "", Metadata{}, fmt.Errorf("write snapshot: %w", err)
	}
	m.File = m.ID + dataSuffix
	m.Compression = CompressionZstd
	return dir, m, nil
}

// Write stores a new snapshot: raw (the uncompressed etcd snapshot) is
// compressed into the data file, then the metadata file is written, which
// commits the snapshot. Write fills ID (when empty), FormatVersion (when 0),
// Seq (always: the next number in the store's order, see Compare), File,
// Compression, RawSize, StoredSize and SHA256 in meta, and sets Time to UTC.
// On error nothing new is left behind and meta is unchanged.
func (s *Store) Write(ctx context.Context, meta *Metadata, raw io.Reader, kind Kind) (*Snapshot, error) {
	dir, m, err := s.prepareWrite(meta, kind)
	if err != nil {
		return nil, err
	}
	snap, err := commitStream(dir, &m, kind, func(w io.Writer) error {
		return compressInto(ctx, w, raw, &m)
	})
	if err != nil {
		return nil, fmt.Errorf("write snapshot %q: %w", m.ID, err)
	}
	*meta = m
	return snap, nil
}

// checkSuspectReason keeps the Suspect field and the directory consistent:
// a snapshot kept aside must say why, and a good one must not look suspect.
func checkSuspectReason(m *Metadata, kind Kind) error {
	switch {
	case kind == Suspect && m.Suspect == "":
		return errors.New("a suspect snapshot needs a reason in Metadata.Suspect")
	case kind == Good && m.Suspect != "":
		return fmt.Errorf("a good snapshot has Metadata.Suspect set (%q)", m.Suspect)
	}
	return nil
}

// pickID returns id when it is free, or, when id is empty, the first free
// id of NewID(t, revision) with -2, -3, … appended.
func (s *Store) pickID(id string, t time.Time, revision int64) (string, error) {
	if id != "" {
		taken, err := s.idTaken(id)
		if err != nil {
			return "", err
		}
		if taken {
			return "", fmt.Errorf("snapshot %q already exists", id)
		}
		return id, nil
	}
	base := NewID(t, revision)
	for n := 1; n <= maxIDSuffix; n++ {
		id := base
		if n > 1 {
			id = fmt.Sprintf("%s-%d", base, n)
		}
		taken, err := s.idTaken(id)
		if err != nil {
			return "", err
		}
		if !taken {
			return id, nil
		}
	}
	return "", fmt.Errorf("no free snapshot id for %s after %d tries", base, maxIDSuffix)
}

// idTaken reports whether any file of id exists in either kind, so a
// suspect and a good snapshot never share an id.
func (s *Store) idTaken(id string) (bool, error) {
	for _, k := range []Kind{Good, Suspect} {
		dir, _ := s.kindDir(k)
		for _, name := range []string{id + dataSuffix, id + metaSuffix} {
			_, err := os.Lstat(filepath.Join(dir, name))
			if err == nil {
				return true, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return false, err
			}
		}
	}
	return false, nil
}

// compressInto streams raw through zstd into w, and fills the size and
// checksum fields of m. It returns an error instead of committing an empty
// or invalid snapshot.
func compressInto(ctx context.Context, w io.Writer, raw io.Reader, m *Metadata) error {
	rawN, storedN, sum, err := compressStream(ctx, w, raw)
	if err != nil {
		return err
	}
	m.RawSize, m.StoredSize, m.SHA256 = rawN, storedN, sum
	return m.Validate()
}
