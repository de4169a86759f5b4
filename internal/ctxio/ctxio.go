// Package ctxio makes long copies stop when their context ends: a multi-GiB
// decompress, checksum or copy checks the context between reads, so SIGTERM
// or --timeout stops it within one read.
package ctxio

import (
	"context"
	"io"
)

// Reader returns r reading only while ctx lives; after that every Read
// returns ctx.Err(), unwrapped.
func Reader(ctx context.Context, r io.Reader) io.Reader { return reader{ctx, r} }

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
