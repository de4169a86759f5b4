package runtime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
)

// StopGrace is how long etcd gets to exit on SIGTERM (it commits its database
// and closes its WAL) before it is killed.
const StopGrace = time.Minute

// StopEtcd stops the running etcd container with SIGTERM, then SIGKILL after
// grace, and waits until it has exited. etcd commits its database on SIGTERM,
// so after a clean stop its data dir holds every write it acknowledged.
// kubelet must be stopped already, or it starts etcd again. It returns the
// container it stopped, or nil when no etcd was running.
func (r *Runtime) StopEtcd(ctx context.Context, podNamespace, preferredRef string, grace time.Duration) (ec *EtcdContainer, signal string, err error) {
	ec, err = r.FindEtcd(ctx, podNamespace, "etcd", preferredRef)
	if errors.Is(err, ErrEtcdNotRunning) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	task, err := ec.Container.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return ec, "", nil // exited between the two calls
	}
	if err != nil {
		return nil, "", fmt.Errorf("container %s: task: %w", ec.ID, err)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("container %s: wait: %w", ec.ID, err)
	}
	if err := task.Kill(ctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
		return nil, "", fmt.Errorf("container %s: SIGTERM: %w", ec.ID, err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-exited:
		return ec, "SIGTERM", nil
	case <-timer.C:
	case <-ctx.Done():
		return nil, "", fmt.Errorf("container %s: wait for exit after SIGTERM: %w", ec.ID, ctx.Err())
	}
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
		return nil, "", fmt.Errorf("container %s: SIGKILL after %s: %w", ec.ID, grace, err)
	}
	select {
	case <-exited:
		return ec, "SIGKILL", nil
	case <-ctx.Done():
		return nil, "", fmt.Errorf("container %s: wait for exit after SIGKILL: %w", ec.ID, ctx.Err())
	}
}

// LatestEtcd returns the most recently created container labelled as the
// cluster's etcd, running or not: after etcd has exited it still names the
// image etcd ran, for a backup taken from its data dir.
func (r *Runtime) LatestEtcd(ctx context.Context, podNamespace, preferredRef string) (*EtcdContainer, error) {
	filter := fmt.Sprintf(`labels.%q==%q,labels.%q==%q`, LabelContainerName, "etcd", LabelPodNamespace, podNamespace)
	ctrs, err := r.Client.Containers(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	type cand struct {
		c       containerd.Container
		created time.Time
		image   string
		pod     string
	}
	var cands []cand
	for _, c := range ctrs {
		info, err := c.Info(ctx)
		if err != nil {
			continue
		}
		cands = append(cands, cand{c, info.CreatedAt, info.Image, info.Labels[LabelPodName]})
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w: no container labelled %s=etcd, %s=%s in namespace %s", ErrEtcdNotRunning, LabelContainerName, LabelPodNamespace, podNamespace, r.Namespace)
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].created.After(cands[j].created) })
	// The newest whose image is still there: a pod update whose new image
	// never arrived leaves a newer container that never ran.
	var errs []error
	for _, c := range cands {
		img, err := r.ResolveImage(ctx, c.image, preferredRef)
		if err == nil {
			return &EtcdContainer{ID: c.c.ID(), PodName: c.pod, Container: c.c, Image: *img}, nil
		}
		errs = append(errs, fmt.Errorf("container %s: %w", c.c.ID(), err))
	}
	return nil, errors.Join(errs...)
}
