package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
)

// ErrEtcdNotRunning means no running container carries etcd's CRI labels.
var ErrEtcdNotRunning = errors.New("etcd is not running")

// CRI labels that kubelet puts on every container; they are how we find etcd.
const (
	LabelContainerName = "io.kubernetes.container.name"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelPodName       = "io.kubernetes.pod.name"
)

// EtcdContainer is the cluster's running etcd container.
type EtcdContainer struct {
	ID        string
	PodName   string
	Container containerd.Container
	Image     Image
}

// Image is an image as etcd-ramdisk records it: a readable reference and the
// manifest digest that pins it.
type Image struct {
	Reference string        `json:"reference"`
	Digest    digest.Digest `json:"digest"`
	image     images.Image
}

// FindEtcd returns the one running container labelled as container `name` in pod
// namespace podNamespace. preferredRef (the manifest's image) names the image
// when it resolves to the same digest as the running container's.
func (r *Runtime) FindEtcd(ctx context.Context, podNamespace, name, preferredRef string) (*EtcdContainer, error) {
	filter := fmt.Sprintf(`labels.%q==%q,labels.%q==%q`, LabelContainerName, name, LabelPodNamespace, podNamespace)
	ctrs, err := r.Client.Containers(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var running []containerd.Container
	for _, c := range ctrs {
		if isRunning(ctx, c) {
			running = append(running, c)
		}
	}
	switch len(running) {
	case 0:
		return nil, fmt.Errorf("%w: no running container labelled %s=%s, %s=%s in namespace %s (%d stopped)", ErrEtcdNotRunning, LabelContainerName, name, LabelPodNamespace, podNamespace, r.Namespace, len(ctrs))
	case 1:
	default:
		return nil, fmt.Errorf("%d running etcd containers in pod namespace %s; expected one on a single-node cluster", len(running), podNamespace)
	}
	c := running[0]
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.ID(), err)
	}
	img, err := r.ResolveImage(ctx, info.Image, preferredRef)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.ID(), err)
	}
	return &EtcdContainer{ID: c.ID(), PodName: info.Labels[LabelPodName], Container: c, Image: *img}, nil
}

func isRunning(ctx context.Context, c containerd.Container) bool {
	t, err := c.Task(ctx, nil)
	if err != nil {
		return false
	}
	st, err := t.Status(ctx)
	return err == nil && st.Status == containerd.Running
}

// ResolveImage finds the image a container was created from. CRI may record the
// image by tag, by repo digest or by image ID (sha256 of the config), so all three
// are tried. The readable reference is preferredRef when it has the same digest,
// else any named reference to that digest.
func (r *Runtime) ResolveImage(ctx context.Context, name, preferredRef string) (*Image, error) {
	is := r.Client.ImageService()
	img, err := is.Get(ctx, name)
	if errdefs.IsNotFound(err) && strings.HasPrefix(name, "sha256:") {
		img, err = r.imageByConfig(ctx, digest.Digest(name))
	}
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	ref := img.Name
	if preferredRef != "" {
		if p, err := is.Get(ctx, preferredRef); err == nil && p.Target.Digest == img.Target.Digest {
			ref = preferredRef
		}
	}
	if looksLikeID(ref) {
		all, _ := is.List(ctx, fmt.Sprintf("target.digest==%s", img.Target.Digest))
		for _, a := range all {
			if !looksLikeID(a.Name) && !strings.Contains(a.Name, "@") {
				ref = a.Name
				break
			}
		}
	}
	return &Image{Reference: ref, Digest: img.Target.Digest, image: img}, nil
}

func looksLikeID(name string) bool { return strings.HasPrefix(name, "sha256:") }

func (r *Runtime) imageByConfig(ctx context.Context, id digest.Digest) (images.Image, error) {
	all, err := r.Client.ImageService().List(ctx)
	if err != nil {
		return images.Image{}, err
	}
	for _, img := range all {
		cfg, err := containerd.NewImage(r.Client, img).Config(ctx)
		if err == nil && cfg.Digest == id {
			return img, nil
		}
	}
	return images.Image{}, fmt.Errorf("no image with id %s: %w", id, errdefs.ErrNotFound)
}

// ImageByDigest finds an image in the namespace by its manifest digest.
func (r *Runtime) ImageByDigest(ctx context.Context, ref string, dgst digest.Digest) (*Image, error) {
	is := r.Client.ImageService()
	if img, err := is.Get(ctx, ref); err == nil && img.Target.Digest == dgst {
		return &Image{Reference: ref, Digest: dgst, image: img}, nil
	}
	all, err := is.List(ctx, fmt.Sprintf("target.digest==%s", dgst))
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("image %s@%s: %w", ref, dgst, errdefs.ErrNotFound)
	}
	// The digest survives under another name: give it back its recorded name too,
	// unless that name now points elsewhere (an upgrade), so kubelet finds it offline.
	if _, err := is.Get(ctx, ref); errdefs.IsNotFound(err) {
		named := all[0]
		named.Name = ref
		if _, err := is.Create(ctx, named); err != nil && !errdefs.IsAlreadyExists(err) {
			return nil, fmt.Errorf("name image %s: %w", ref, err)
		}
	}
	return &Image{Reference: ref, Digest: dgst, image: all[0]}, nil
}

// Handle gives the containerd image for an Image resolved by this runtime.
func (r *Runtime) Handle(img *Image) containerd.Image {
	return containerd.NewImage(r.Client, img.image)
}
