package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
	"github.com/klauspost/compress/zstd"
)

const (
	// encoderConcurrency bounds the zstd encoder's in-flight blocks, so its
	// memory stays a few window sizes however large the database is.
	encoderConcurrency = 2
	// maxDecoderWindow is far above what any level writes (8 MiB at most) but
	// keeps a corrupted frame header from making the decoder allocate
	// gigabytes before the checksum is checked.
	maxDecoderWindow = 64 << 20
)

// NewEncoder is the zstd encoder the store writes data files with: the
// fastest level, two encoder goroutines. On etcd's snapshots it compresses
// about as well as the default level (docs/bench) at three to five times the
// speed, and a backup's compression then takes little CPU from the etcd it
// runs beside.
func NewEncoder(w io.Writer) (*zstd.Encoder, error) {
	return zstd.NewWriter(w,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(encoderConcurrency))
}

// compressStream streams raw through zstd into w in one pass that also
// counts and hashes the stored bytes.
func compressStream(ctx context.Context, w io.Writer, raw io.Reader) (rawN, storedN int64, sum string, err error) {
	h := sha256.New()
	stored := &countingWriter{w: io.MultiWriter(w, h)}
	enc, err := NewEncoder(stored)
	if err != nil {
		return 0, 0, "", fmt.Errorf("create zstd encoder: %w", err)
	}
	in := &countingReader{r: rawInput{ctx: ctx, r: raw}}
	if _, err := io.Copy(enc, in); err != nil {
		enc.Close()
		return 0, 0, "", err
	}
	if err := enc.Close(); err != nil {
		return 0, 0, "", fmt.Errorf("compress: %w", err)
	}
	if in.n == 0 {
		return 0, 0, "", errors.New("raw snapshot is empty")
	}
	return in.n, stored.n, hex.EncodeToString(h.Sum(nil)), nil
}

// rawInput checks ctx between reads and names read errors, which io.Copy
// would otherwise mix up with compression errors.
type rawInput struct {
	ctx context.Context
	r   io.Reader
}

func (ri rawInput) Read(p []byte) (int, error) {
	if err := ri.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := ri.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("read raw snapshot: %w", err)
	}
	return n, err
}

// countingReader counts bytes read and remembers a read error, so that a
// failing disk is not reported as a corrupt snapshot.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.n > 0 {
		failpoint.Inject("store-mid-compress")
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
