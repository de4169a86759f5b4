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

// ErrNothingToVerify means that the store, or the off-host target, holds no
// snapshot at all: nothing was checked, which is not a failed check.
var ErrNothingToVerify = errors.New("no snapshot to verify")

// Snapshot checks one stored snapshot: its sha256, then etcd's own status of
// the decompressed database in the recorded image, compared with the
// metadata. The database is staged in workDir (on persistent disk unless told
// otherwise). Its errors do not repeat the snapshot's id: the caller, who
// chose the snapshot, names it once.
func Snapshot(ctx context.Context, rt *erdrt.Runtime, st *store.Store, snap *store.Snapshot, workDir string) error {
	if err := st.VerifyChecksum(ctx, snap); err != nil {
		return fmt.Errorf("%w: %w", etcdtool.ErrVerify, err)
	}
	img, err := etcdtool.RecordedImage(ctx, rt, st, snap.Meta.Image)
	if err != nil {
		return err
	}
	facts, err := etcdtool.ImageFacts(ctx, rt, st, img, false)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp(workDir, ".verify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	w, err := etcdtool.NewWorkspace(rt, img, etcdtool.FactsTools(facts), work)
	if err != nil {
		return err
	}
	if err := etcdtool.Decompress(ctx, st, snap, w.SnapshotFile()); err != nil {
		return fmt.Errorf("%w: %w", etcdtool.ErrVerify, err)
	}
	if err := w.CheckStatus(ctx, snap); err != nil {
		return fmt.Errorf("%w: %w", etcdtool.ErrVerify, err)
	}
	return nil
}
