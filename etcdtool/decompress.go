package etcdtool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/ctxio"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/hashpipe"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/progress"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Decompress writes the raw snapshot to dst in one pass that checks the
// stored sha256 (OpenRaw) and, for a snapshot from `etcdctl snapshot save`,
// etcd's own sha256 trailer: the decoder and the writes run here, the
// trailer's hash in a goroutine of its own, so the pass takes about as long as
// the slower of the two. The file is complete and checked only when it
// returns nil.
func Decompress(ctx context.Context, st *store.Store, snap *store.Snapshot, dst string) error {
	r, err := st.OpenRaw(snap)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	defer r.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	tc := newTrailerCheck()
	pipe := hashpipe.New(tc, 4, 1<<20)
	err = copyAndHash(f, progress.Reader(ctx, ctxio.Reader(ctx, r), "decompress "+snap.Meta.ID, snap.Meta.RawSize), pipe)
	pipe.Close()
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return fmt.Errorf("decompress %s: %w", snap.Meta.ID, err)
	case errors.Is(err, errNoSpace):
		return fmt.Errorf("%w: no room to stage the snapshot in %s: %w", ErrNoRoom, filepath.Dir(dst), err)
	case errors.Is(err, errStageWrite):
		return err
	case err != nil:
		return fmt.Errorf("%w: decompress %s: %w", ErrBadSnapshot, snap.Meta.ID, err)
	}
	if _, err := tc.Result(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadSnapshot, snap.Meta.ID, err)
	}
	return f.Sync()
}

var errStageWrite = errors.New("write the staged snapshot")

// copyAndHash reads r into the pipe's chunks, writes each to f and hands it
// on to be hashed; read errors are returned as they are, write errors wrap
// errStageWrite.
func copyAndHash(f *os.File, r io.Reader, pipe *hashpipe.Pipe) error {
	for {
		buf := pipe.Get()
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return fmt.Errorf("%w %s: %w", errStageWrite, f.Name(), err)
			}
		}
		pipe.Hash(buf[:n])
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			return nil
		case rerr != nil:
			return rerr
		}
	}
}
