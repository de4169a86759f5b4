package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
)

// Tools tells where etcd's command-line tools sit inside an image.
type Tools struct {
	Etcdctl string // full path, "" when absent
	Etcdutl string // full path, "" when absent (Kubernetes-built 3.5 images have none)
}

// FindTools reads the image's layers and returns the paths of etcdctl and etcdutl
// found in the directories of the image's PATH.
func FindTools(ctx context.Context, img containerd.Image) (Tools, error) {
	dirs, err := pathDirs(ctx, img)
	if err != nil {
		return Tools{}, err
	}
	files, err := listFiles(ctx, img)
	if err != nil {
		return Tools{}, err
	}
	find := func(name string) string {
		for _, d := range dirs {
			p := path.Join(d, name)
			if files[strings.TrimPrefix(p, "/")] {
				return p
			}
		}
		return ""
	}
	t := Tools{Etcdctl: find("etcdctl"), Etcdutl: find("etcdutl")}
	if t.Etcdctl == "" {
		return t, fmt.Errorf("image %s has no etcdctl in PATH %v", img.Name(), dirs)
	}
	return t, nil
}

func pathDirs(ctx context.Context, img containerd.Image) ([]string, error) {
	spec, err := img.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %s config: %w", img.Name(), err)
	}
	for _, e := range spec.Config.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			return strings.Split(v, ":"), nil
		}
	}
	// The runtime's default PATH when the image sets none.
	return []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}, nil
}

// listFiles applies the image's layers in order, whiteouts included, and returns
// the regular files (and symlinks) of the resulting filesystem.
func listFiles(ctx context.Context, img containerd.Image) (map[string]bool, error) {
	cs := img.ContentStore()
	manifest, err := images.Manifest(ctx, cs, img.Target(), platforms.Default())
	if err != nil {
		return nil, fmt.Errorf("image %s manifest: %w", img.Name(), err)
	}
	files := map[string]bool{}
	for _, layer := range manifest.Layers {
		if err := applyLayer(ctx, img, layer.Digest, files); err != nil {
			return nil, fmt.Errorf("image %s layer %s: %w", img.Name(), layer.Digest, err)
		}
	}
	return files, nil
}

func applyLayer(ctx context.Context, img containerd.Image, dgst digest.Digest, files map[string]bool) error {
	ra, err := img.ContentStore().ReaderAt(ctx, imagesDescriptor(dgst))
	if err != nil {
		return err
	}
	defer ra.Close()
	dr, err := compression.DecompressStream(io.NewSectionReader(ra, 0, ra.Size()))
	if err != nil {
		return err
	}
	defer dr.Close()
	l, err := readLayer(dr)
	if err != nil {
		return err
	}
	l.applyTo(files)
	return nil
}

// layer is what one layer's tar does to the filesystem below it.
type layer struct {
	files   []string // regular files, symlinks and hard links it adds
	gone    []string // paths its whiteouts remove, with what is under them
	opaques []string // directories its opaque whiteouts empty ("dir/")
}

func readLayer(r io.Reader) (*layer, error) {
	l := &layer{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return l, nil
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		dir, base := path.Split(name)
		switch {
		case base == ".wh..wh..opq":
			l.opaques = append(l.opaques, dir)
		case strings.HasPrefix(base, ".wh."):
			l.gone = append(l.gone, dir+strings.TrimPrefix(base, ".wh."))
		case h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink:
			l.files = append(l.files, name)
		}
	}
}

// applyTo applies the layer to the files of the layers below it. Its
// whiteouts hide entries of those lower layers only, never its own, whatever
// their order in the tar (OCI image spec, "Whiteouts").
func (l *layer) applyTo(files map[string]bool) {
	for f := range files {
		for _, dir := range l.opaques {
			if strings.HasPrefix(f, dir) {
				delete(files, f)
			}
		}
		for _, g := range l.gone {
			if f == g || strings.HasPrefix(f, g+"/") {
				delete(files, f)
			}
		}
	}
	for _, f := range l.files {
		files[f] = true
	}
}

// Export writes the image (name and digest) as an OCI archive for this platform.
func Export(ctx context.Context, cl *containerd.Client, name string, w io.Writer) error {
	err := cl.Export(ctx, w,
		archive.WithImage(cl.ImageService(), name),
		archive.WithPlatform(platforms.DefaultStrict()),
		archive.WithSkipDockerManifest(),
	)
	if err != nil {
		return fmt.Errorf("export image %s: %w", name, err)
	}
	return nil
}

// Import loads an archive written by Export, names it ref, checks it is the
// expected digest and unpacks it so containers can be created from it.
func Import(ctx context.Context, cl *containerd.Client, r io.Reader, ref string, want digest.Digest) (images.Image, error) {
	imgs, err := cl.Import(ctx, r, containerd.WithImportPlatform(platforms.DefaultStrict()))
	if err != nil {
		return images.Image{}, fmt.Errorf("import image %s: %w", ref, err)
	}
	for _, img := range imgs {
		if img.Target.Digest != want {
			continue
		}
		if img.Name != ref {
			img.Name = ref
			if _, err := cl.ImageService().Create(ctx, img); err != nil {
				if img, err = cl.ImageService().Update(ctx, img); err != nil {
					return images.Image{}, fmt.Errorf("name image %s: %w", ref, err)
				}
			}
		}
		if err := containerd.NewImage(cl, img).Unpack(ctx, defaults.DefaultSnapshotter); err != nil {
			return images.Image{}, fmt.Errorf("unpack image %s: %w", ref, err)
		}
		return img, nil
	}
	return images.Image{}, fmt.Errorf("archive for %s does not hold digest %s", ref, want)
}
