package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/ctxio"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/progress"
)

// VerifyChecksum reads the whole stored file and compares its size and
// sha256 with the metadata; a mismatch wraps ErrCorrupt. Its errors leave the
// snapshot's id to the caller, who lists it (`verify`).
// It stops when ctx ends.
func (s *Store) VerifyChecksum(ctx context.Context, snap *Snapshot) error {
	data, _, err := s.paths(snap)
	if err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	f, err := os.Open(data)
	if err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, progress.Reader(ctx, ctxio.Reader(ctx, f), "sha256 "+snap.Meta.ID, snap.Meta.StoredSize))
	if err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	if err := checkStored(&snap.Meta, n, h); err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	return nil
}

// checkStored compares what was read of a stored file with its metadata.
func checkStored(m *Metadata, n int64, h hash.Hash) error {
	if n != m.StoredSize {
		return fmt.Errorf("%w: stored file is %d bytes, metadata says %d", ErrCorrupt, n, m.StoredSize)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != m.SHA256 {
		return fmt.Errorf("%w: stored file has sha256 %s, metadata says %s", ErrCorrupt, sum, m.SHA256)
	}
	return nil
}
