package backup

import (
	"context"
	"io"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
)

// afterDurable archives the image the first time its digest is seen and prunes.
// The snapshot is already safe, so failures here are warnings.
func (r *run) afterDurable(ctx context.Context, ec *erdrt.EtcdContainer) []string {
	log := logging.G(ctx)
	var warns []string
	doneArchive := logging.Step(ctx, "backup", "image archive check")
	if err := r.archiveImage(ctx, &ec.Image); err != nil {
		warns = append(warns, err.Error())
		log.Warn("image archive failed; the snapshot is kept", "err", err)
	}
	doneArchive()
	defer logging.Step(ctx, "backup", "prune")()
	if _, err := r.st.Prune(r.opts.Policy, false); err != nil {
		warns = append(warns, err.Error())
		log.Warn("prune failed; the snapshot is kept", "err", err)
	}
	return warns
}

func (r *run) archiveImage(ctx context.Context, img *erdrt.Image) error {
	if r.st.HasImageArchive(img.Digest.String()) {
		return nil
	}
	err := r.st.WriteImageArchive(img.Digest.String(), func(w io.Writer) error {
		return r.rt.ExportImage(ctx, img, w)
	})
	if err == nil {
		logging.G(ctx).Info("image archived", "image", img.Reference, "digest", img.Digest)
	}
	return err
}
