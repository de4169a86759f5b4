package verify

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// RemoteChecker is the off-host copies as verify reads them (offhost.Source):
// listed, fetched into a store, or their stored bytes checked without
// decrypting them.
type RemoteChecker interface {
	// Snapshots lists the copies, newest first in the store's order.
	Snapshots(ctx context.Context) ([]store.Metadata, error)
	// Import copies one into the store. A copy that is not what it should be
	// wraps store.ErrCorrupt.
	Import(ctx context.Context, st *store.Store, m *store.Metadata) (*store.Snapshot, error)
	HasIdentity() bool
	CheckStored(ctx context.Context, m *store.Metadata) error
}

// RemoteVerdict is what Remote found about one off-host copy.
type RemoteVerdict struct {
	Meta store.Metadata
	// Full: decrypted, checked against the node's metadata and read by etcd's
	// own tool; otherwise only the stored bytes were checked (no identity).
	Full bool
	Err  error
}

// Remote checks off-host copies: with the identity, each is fetched into
// a scratch store in workDir and verified like a local snapshot (sha256, then
// etcd's status in the recorded image); without it, only the stored bytes'
// size and sha256. ids selects copies (default: the newest; all with all).
func Remote(ctx context.Context, rt *erdrt.Runtime, src RemoteChecker, ids []string, all bool, workDir string) ([]RemoteVerdict, error) {
	metas, err := src.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	chosen, err := chooseRemote(metas, ids, all)
	if err != nil {
		return nil, err
	}
	var out []RemoteVerdict
	for i := range chosen {
		v := RemoteVerdict{Meta: chosen[i], Full: src.HasIdentity()}
		if v.Full {
			v.Err = verifyFetched(ctx, rt, src, &chosen[i], workDir)
		} else {
			v.Err = src.CheckStored(ctx, &chosen[i])
		}
		if v.Err != nil && errors.Is(v.Err, store.ErrCorrupt) {
			v.Err = fmt.Errorf("%w: %w", etcdtool.ErrVerify, v.Err)
		}
		out = append(out, v)
	}
	return out, nil
}

func chooseRemote(metas []store.Metadata, ids []string, all bool) ([]store.Metadata, error) {
	switch {
	case len(ids) > 0:
		var out []store.Metadata
		for _, id := range ids {
			i := -1
			for j := range metas {
				if metas[j].ID == id {
					i = j
				}
			}
			if i < 0 {
				return nil, fmt.Errorf("off-host copy %q: %w", id, store.ErrNoSnapshot)
			}
			out = append(out, metas[i])
		}
		return out, nil
	case len(metas) == 0:
		return nil, fmt.Errorf("off-host copies: %w", ErrNothingToVerify)
	case all:
		return metas, nil
	}
	return metas[:1], nil
}

// verifyFetched fetches one copy into a scratch store and verifies it there.
func verifyFetched(ctx context.Context, rt *erdrt.Runtime, src RemoteChecker, m *store.Metadata, workDir string) error {
	dir, err := os.MkdirTemp(workDir, ".verify-offhost-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	scratch, err := store.Open(dir)
	if err != nil {
		return err
	}
	snap, err := src.Import(ctx, scratch, m)
	if err != nil {
		return err
	}
	return Snapshot(ctx, rt, scratch, snap, workDir)
}
