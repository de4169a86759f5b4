package etcdtool

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/errdefs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/opencontainers/go-digest"
)

// RecordedImage returns the image a snapshot was taken with, importing it from
// the backup dir's archive when containerd no longer has it.
func RecordedImage(ctx context.Context, rt *erdrt.Runtime, st *store.Store, rec store.Image) (*erdrt.Image, error) {
	dgst, err := digest.Parse(rec.Digest)
	if err != nil {
		return nil, fmt.Errorf("recorded image digest %q: %w", rec.Digest, err)
	}
	img, err := rt.ImageByDigest(ctx, rec.Reference, dgst)
	if err == nil {
		return img, nil
	}
	if !errdefs.IsNotFound(err) {
		return nil, err
	}
	if !st.HasImageArchive(rec.Digest) {
		return nil, fmt.Errorf("image %s@%s is neither in containerd nor archived in %s: import it (e.g. `ctr -n k8s.io images import`) and retry", rec.Reference, rec.Digest, st.Dir)
	}
	path := st.ImageArchivePath(rec.Digest)
	logging.G(ctx).Info("image missing from containerd; importing it from the backup dir", "image", rec.Reference, "archive", path)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open image archive: %w", err)
	}
	defer f.Close()
	return rt.ImportImage(ctx, f, rec.Reference, dgst)
}
