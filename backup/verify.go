package backup

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/etcd-ramdisk/etcd-ramdisk/images"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Verify checks one stored snapshot: its sha256, then etcd's own status of the
// decompressed database in the recorded image, compared with the metadata. The
// database is staged in workDir (on persistent disk unless told otherwise).
func Verify(ctx context.Context, rt *erdrt.Runtime, st *store.Store, snap *store.Snapshot, workDir string, log *slog.Logger) error {
	if err := st.VerifyChecksum(snap); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrVerify, snap.Meta.ID, err)
	}
	img, err := recordedImage(ctx, rt, st, snap.Meta.Image, log)
	if err != nil {
		return err
	}
	tools, err := images.FindTools(ctx, rt.Handle(img))
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp(workDir, ".verify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := decompress(st, snap, filepath.Join(work, "snapshot.db")); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrVerify, snap.Meta.ID, err)
	}
	w := &workspace{rt: rt, img: img, tools: tools, hostWork: work}
	if err := w.checkStatus(ctx, snap); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrVerify, snap.Meta.ID, err)
	}
	return nil
}
