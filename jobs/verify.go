package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Verify checks one stored snapshot: its sha256, then etcd's own status of the
// decompressed database in the recorded image, compared with the metadata. The
// database is staged in workDir (on persistent disk unless told otherwise).
// Its errors do not repeat the snapshot's id: the caller, who chose the
// snapshot, names it once.
func Verify(ctx context.Context, rt *erdrt.Runtime, st *store.Store, snap *store.Snapshot, workDir string, log *slog.Logger) error {
	if err := st.VerifyChecksum(snap); err != nil {
		return fmt.Errorf("%w: %w", ErrVerify, err)
	}
	img, err := recordedImage(ctx, rt, st, snap.Meta.Image, log)
	if err != nil {
		return err
	}
	facts, err := imageFacts(ctx, rt, st, img, false, log)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp(workDir, ".verify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	w := &workspace{rt: rt, img: img, tools: factsTools(facts), hostWork: work}
	if err := w.makeDirs(); err != nil {
		return err
	}
	if err := decompress(st, snap, w.snapshotFile()); err != nil {
		return fmt.Errorf("%w: %w", ErrVerify, err)
	}
	if err := w.checkStatus(ctx, snap); err != nil {
		return fmt.Errorf("%w: %w", ErrVerify, err)
	}
	return nil
}
