package images

import (
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ReaderAt only needs the digest to find a blob in the content store.
func imagesDescriptor(d digest.Digest) ocispec.Descriptor { return ocispec.Descriptor{Digest: d} }
