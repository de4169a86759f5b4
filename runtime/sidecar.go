package runtime

import (
	"context"
	"fmt"
	"os"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// LabelSidecar marks containers etcd-ramdisk creates, so leftovers from a killed
// run can be found and removed.
const LabelSidecar = "io.etcd-ramdisk.sidecar"

// LabelOwner names the run that created a sidecar, "<pid>:<start time>":
// the sweep of leftovers removes only sidecars whose run is gone, never one
// that another run (a verify beside a backup) is using.
const LabelOwner = "io.etcd-ramdisk.owner"

// sidecarLabels are the labels of a sidecar this run creates.
func sidecarLabels(purpose string) map[string]string {
	l := map[string]string{LabelSidecar: purpose}
	if start, err := hostfs.OwnStartTime(); err == nil {
		l[LabelOwner] = fmt.Sprintf("%d:%d", os.Getpid(), start)
	}
	return l
}

// ownerGone says whether the run named by a sidecar's owner label has
// ended; a sidecar without the label (made by an older version) counts as
// a leftover, as before.
func ownerGone(labels map[string]string) bool {
	var pid int
	var start uint64
	if _, err := fmt.Sscanf(labels[LabelOwner], "%d:%d", &pid, &start); err != nil {
		return true
	}
	return !hostfs.OwnerAlive(pid, start)
}

// Mount is a host path bound into a sidecar.
type Mount struct {
	Host, Container string
	ReadOnly        bool
}

// SidecarOptions describe one locked-down, short-lived container: read-only root,
// no new privileges, no capabilities, only the given mounts.
type SidecarOptions struct {
	Image       *Image
	Args        []string
	Mounts      []Mount
	HostNetwork bool // the backup sidecar must reach etcd on loopback; restore has no network
	Purpose     string
	// RunDir, for StartSidecar only, is where the container sees a private
	// directory of the host, read-write, made and removed with the sidecar's
	// FIFO directory: a UNIX socket the tool listens on there is reachable
	// from the host (RunningSidecar.RunDir) and from no other container.
	RunDir string
}

// RunSidecar runs one tool in a new container from opts.Image and removes the
// container afterwards, whatever happened.
func (r *Runtime) RunSidecar(ctx context.Context, opts SidecarOptions) (*Result, error) {
	p, err := r.PrepareSidecar(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return p.Run(ctx)
}

func bindMounts(ms []Mount) []specs.Mount {
	out := make([]specs.Mount, 0, len(ms))
	for _, m := range ms {
		o := []string{"rbind", "rprivate", "nosuid", "nodev"}
		if m.ReadOnly {
			o = append(o, "ro")
		} else {
			o = append(o, "rw")
		}
		out = append(out, specs.Mount{Type: "bind", Source: m.Host, Destination: m.Container, Options: o})
	}
	return out
}

func removeContainer(ctx context.Context, c containerd.Container) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if t, err := c.Task(ctx, nil); err == nil {
		_, _ = t.Delete(ctx, containerd.WithProcessKill)
	}
	_ = c.Delete(ctx, containerd.WithSnapshotCleanup)
}

// RemoveLeftoverSidecars deletes sidecars a killed run could not remove.
func (r *Runtime) RemoveLeftoverSidecars(ctx context.Context) (int, error) {
	ctrs, err := r.Client.Containers(ctx, fmt.Sprintf("labels.%q", LabelSidecar))
	if err != nil {
		return 0, fmt.Errorf("list sidecars: %w", err)
	}
	n := 0
	for _, c := range ctrs {
		if labels, err := c.Labels(ctx); err == nil && !ownerGone(labels) {
			continue // another run's, in use
		}
		removeContainer(ctx, c)
		n++
	}
	return n, nil
}
