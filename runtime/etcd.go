package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
	LabelPodUID        = "io.kubernetes.pod.uid"
)

// EtcdContainer is the cluster's running etcd container.
type EtcdContainer struct {
	ID        string
	PodName   string
	PodUID    string
	Container containerd.Container
	Image     Image
	// Set when kubelet was replacing the static pod: how long FindEtcd waited
	// for it to settle, and the running containers it passed over.
	Waited time.Duration
	Others []string
}

// Image is an image as etcd-ramdisk records it: a readable reference and the
// manifest digest that pins it.
type Image struct {
	Reference string        `json:"reference"`
	Digest    digest.Digest `json:"digest"`
	image     images.Image
}

// FindEtcd returns the running container labelled as container `name` in pod
// namespace podNamespace. preferredRef (the manifest's image) names the image
// when it resolves to the same digest as the running container's.
//
// While kubelet replaces the static pod (an edit of the manifest, kubeadm
// upgrade) two such containers run for a moment: FindEtcd then waits up to
// PodUpdateWait for one from the manifest's image to remain, and after that
// takes the newest from the manifest's image, or fails with ErrEtcdAmbiguous
// rather than guess (see pickEtcd).
func (r *Runtime) FindEtcd(ctx context.Context, podNamespace, name, preferredRef string) (*EtcdContainer, error) {
	filter := fmt.Sprintf(`labels.%q==%q,labels.%q==%q`, LabelContainerName, name, LabelPodNamespace, podNamespace)
	want := r.refDigest(ctx, preferredRef)
	var overlapSince time.Time
	for {
		cands, ctrs, err := r.etcdCandidates(ctx, filter)
		if err != nil {
			return nil, err
		}
		if countRunning(cands) > 1 && overlapSince.IsZero() {
			overlapSince = time.Now()
		}
		waiting := !overlapSince.IsZero() && time.Since(overlapSince) < r.PodUpdateWait
		i, err := pickEtcd(cands, want, waiting)
		switch {
		case errors.Is(err, errWait):
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("wait for kubelet to finish replacing the etcd pod: %w", ctx.Err())
			case <-time.After(podUpdatePoll):
			}
			continue
		case errors.Is(err, ErrEtcdNotRunning):
			return nil, fmt.Errorf("%w: no running container labelled %s=%s, %s=%s in namespace %s (%d stopped)%s", ErrEtcdNotRunning, LabelContainerName, name, LabelPodNamespace, podNamespace, r.Namespace, len(ctrs), waitedFor(overlapSince))
		case err != nil:
			manifestImage := preferredRef + " (" + string(want) + ")"
			if want == "" {
				manifestImage = preferredRef + ", which containerd does not have"
			}
			return nil, fmt.Errorf("etcd containers in pod namespace %s%s: %w %s; nothing was done (kubelet may still be replacing the static pod: run again once only one etcd container runs)", podNamespace, waitedFor(overlapSince), err, manifestImage)
		}
		return r.etcdContainer(ctx, cands, ctrs, i, preferredRef, overlapSince)
	}
}

// waitedFor says how long FindEtcd waited for a pod update, for a message.
func waitedFor(since time.Time) string {
	if since.IsZero() {
		return ""
	}
	return fmt.Sprintf(" after waiting %s for kubelet's static pod update to settle", time.Since(since).Round(time.Second))
}

// etcdCandidates lists the labelled containers with what pickEtcd needs.
func (r *Runtime) etcdCandidates(ctx context.Context, filter string) ([]candidate, []containerd.Container, error) {
	ctrs, err := r.Client.Containers(ctx, filter)
	if err != nil {
		return nil, nil, fmt.Errorf("list containers: %w", err)
	}
	cands := make([]candidate, 0, len(ctrs))
	kept := make([]containerd.Container, 0, len(ctrs))
	for _, c := range ctrs {
		info, err := c.Info(ctx)
		if err != nil {
			continue // removed since the listing
		}
		running, err := isRunning(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		cand := candidate{ID: c.ID(), PodName: info.Labels[LabelPodName], PodUID: info.Labels[LabelPodUID], Image: info.Image, Created: info.CreatedAt, Running: running}
		if cand.Running {
			if img, err := r.ResolveImage(ctx, info.Image, ""); err == nil {
				cand.Digest = img.Digest
			}
		}
		cands, kept = append(cands, cand), append(kept, c)
	}
	return cands, kept, nil
}

func (r *Runtime) etcdContainer(ctx context.Context, cands []candidate, ctrs []containerd.Container, i int, preferredRef string, overlapSince time.Time) (*EtcdContainer, error) {
	c, info := ctrs[i], cands[i]
	img, err := r.ResolveImage(ctx, info.Image, preferredRef)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.ID(), err)
	}
	ec := &EtcdContainer{ID: c.ID(), PodName: info.PodName, PodUID: info.PodUID, Container: c, Image: *img}
	if !overlapSince.IsZero() {
		ec.Waited = time.Since(overlapSince)
		for j, o := range cands {
			if j != i && o.Running {
				ec.Others = append(ec.Others, o.ID+" ("+o.Image+")")
			}
		}
	}
	return ec, nil
}

// refDigest is the manifest digest ref names in containerd, or "".
func (r *Runtime) refDigest(ctx context.Context, ref string) digest.Digest {
	if ref == "" {
		return ""
	}
	img, err := r.Client.ImageService().Get(ctx, ref)
	if err != nil {
		return ""
	}
	return img.Target.Digest
}

// Running reports whether the etcd container's task may still run: false
// only when containerd says that it is gone or stopped. When containerd cannot
// say (a hiccup, the run's deadline), the caller's own error stands rather
// than a false "etcd stopped".
func (r *Runtime) Running(ctx context.Context, ec *EtcdContainer) bool {
	if ec.Container == nil {
		return false
	}
	running, err := isRunning(ctx, ec.Container)
	return running || err != nil
}

// isRunning asks containerd whether c's task runs. No task, or a task that
// has exited, is "not running"; any other error is containerd's and is
// returned as such, never taken for a stopped etcd.
func isRunning(ctx context.Context, c containerd.Container) (bool, error) {
	t, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("task of container %s: %w", c.ID(), err)
	}
	st, err := t.Status(ctx)
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("status of container %s: %w", c.ID(), err)
	}
	return st.Status == containerd.Running, nil
}

// EtcdRunning reports whether a container labelled as etcd's runs in pod
// namespace podNamespace, without waiting for a pod update to settle: a
// look for status. An error is containerd's, never "not running".
func (r *Runtime) EtcdRunning(ctx context.Context, podNamespace string) (bool, error) {
	filter := fmt.Sprintf(`labels.%q==%q,labels.%q==%q`, LabelContainerName, "etcd", LabelPodNamespace, podNamespace)
	ctrs, err := r.Client.Containers(ctx, filter)
	if err != nil {
		return false, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range ctrs {
		running, err := isRunning(ctx, c)
		if err != nil || running {
			return running, err
		}
	}
	return false, nil
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
