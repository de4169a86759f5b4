package store

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/hashpipe"
	"github.com/klauspost/compress/zstd"
)

// OpenRaw returns the decompressed snapshot. It verifies the stored file's
// size and sha256 while streaming and, on a mismatch, returns an error
// wrapping ErrCorrupt instead of io.EOF. Bytes already read are then not to
// be trusted: a caller must treat the output as valid only once Read has
// returned io.EOF.
func (s *Store) OpenRaw(snap *Snapshot) (io.ReadCloser, error) {
	data, _, err := s.paths(snap)
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	f, err := os.Open(data)
	if err != nil {
		return nil, fmt.Errorf("open snapshot %q: %w", snap.Meta.ID, err)
	}
	// The decoder is made before the goroutine that hashes the stored bytes,
	// so that its failure leaves nothing running. Concurrency 1 decodes
	// synchronously, so memory stays one window.
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(maxDecoderWindow))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open snapshot %q: %w", snap.Meta.ID, err)
	}
	r := &rawReader{f: f, dec: dec, meta: snap.Meta, h: sha256.New()}
	// The stored bytes are hashed on a goroutine of their own while the
	// decoder works on the next chunk.
	r.hashed = hashpipe.NewReader(f, r.h)
	r.stored = &countingReader{r: r.hashed}
	if err := dec.Reset(r.stored); err != nil {
		r.Close()
		return nil, fmt.Errorf("open snapshot %q: %w: %w", snap.Meta.ID, ErrCorrupt, err)
	}
	return r, nil
}

type rawReader struct {
	f      *os.File
	dec    *zstd.Decoder
	stored *countingReader
	hashed *hashpipe.Reader
	h      hash.Hash
	meta   Metadata
	rawN   int64
	err    error // sticky, so a caller cannot read past a failure
}

func (r *rawReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.dec.Read(p)
	r.rawN += int64(n)
	switch {
	case err == io.EOF:
		err = r.finish()
	case r.stored.err != nil:
		err = fmt.Errorf("read snapshot %q: %w", r.meta.ID, r.stored.err)
	case err != nil:
		err = fmt.Errorf("decompress snapshot %q: %w: %w", r.meta.ID, ErrCorrupt, err)
	}
	r.err = err
	return n, err
}

// finish runs at the end of the zstd stream: it hashes whatever the decoder
// left unread and returns io.EOF only when the stored file and the
// decompressed size match the metadata.
func (r *rawReader) finish() error {
	if _, err := io.Copy(io.Discard, r.stored); err != nil {
		return fmt.Errorf("read snapshot %q: %w", r.meta.ID, err)
	}
	r.hashed.Close()
	if err := checkStored(&r.meta, r.stored.n, r.h); err != nil {
		return fmt.Errorf("read snapshot %q: %w", r.meta.ID, err)
	}
	if r.rawN != r.meta.RawSize {
		return fmt.Errorf("read snapshot %q: %w: decompressed %d bytes, metadata says %d", r.meta.ID, ErrCorrupt, r.rawN, r.meta.RawSize)
	}
	return io.EOF
}

func (r *rawReader) Close() error {
	r.dec.Close()
	r.hashed.Close()
	return r.f.Close()
}
