package runtime

import (
	"context"
	"fmt"
	"io"

	"github.com/etcd-ramdisk/etcd-ramdisk/runtime/images"
	"github.com/opencontainers/go-digest"
)

// HasImage reports whether containerd holds an image with the manifest
// digest dgst, under any name. Unlike ImageByDigest it only lists: it never
// gives an image back its name, so a reader such as status changes nothing.
// ref is not needed to answer; it is part of the question for readers.
func (r *Runtime) HasImage(ctx context.Context, ref, dgst string) (bool, error) {
	if _, err := digest.Parse(dgst); err != nil {
		return false, err
	}
	all, err := r.Client.ImageService().List(ctx, "target.digest=="+dgst)
	if err != nil {
		return false, fmt.Errorf("list images: %w", err)
	}
	return len(all) > 0, nil
}

// ExportImage writes img as an OCI archive for this platform, for the backup
// dir: a restore can run the image even once containerd has lost it.
func (r *Runtime) ExportImage(ctx context.Context, img *Image, w io.Writer) error {
	return images.Export(ctx, r.Client, r.Handle(img).Name(), w)
}

// ImportImage loads an archive written by ExportImage, names it ref, checks
// that it holds want and unpacks it so that containers can be created from it.
func (r *Runtime) ImportImage(ctx context.Context, archive io.Reader, ref string, want digest.Digest) (*Image, error) {
	img, err := images.Import(ctx, r.Client, archive, ref, want)
	if err != nil {
		return nil, err
	}
	return &Image{Reference: ref, Digest: want, image: img}, nil
}
