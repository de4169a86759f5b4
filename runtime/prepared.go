package runtime

import (
	"bytes"
	"context"
	"fmt"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// PreparedSidecar is a sidecar whose container and task exist but whose tool
// has not started. Creating them is most of what a sidecar costs, so a caller
// can prepare sidecars while it produces their input, then Run them. The
// mounts must exist when it is prepared; files created below a mounted
// directory afterwards are seen.
type PreparedSidecar struct {
	run     func(ctx context.Context) (*Result, error)
	cleanup []func()
}

// Run starts the tool and waits for it; call it at most once.
func (p *PreparedSidecar) Run(ctx context.Context) (*Result, error) { return p.run(ctx) }

// Close removes the container, whatever happened, also when it never ran.
func (p *PreparedSidecar) Close() {
	for i := len(p.cleanup) - 1; i >= 0; i-- {
		p.cleanup[i]()
	}
	p.cleanup = nil
}

// PrepareSidecar creates the locked-down container RunSidecar would run.
func (r *Runtime) PrepareSidecar(ctx context.Context, opts SidecarOptions) (_ *PreparedSidecar, err error) {
	if opts.RunDir != "" {
		return nil, fmt.Errorf("sidecar %s: a run dir needs StartSidecar", opts.Purpose)
	}
	if r.nerdctl != "" {
		// nerdctl creates and starts in one command: nothing to prepare.
		return &PreparedSidecar{run: func(ctx context.Context) (*Result, error) { return r.nerdctlSidecar(ctx, opts) }}, nil
	}
	ctr, err := r.newSidecarContainer(ctx, opts, opts.Mounts)
	if err != nil {
		return nil, err
	}
	p := &PreparedSidecar{cleanup: []func(){func() { removeContainer(ctx, ctr) }}}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	stdout, stderr := new(bytes.Buffer), new(bytes.Buffer)
	creator, cleanupIO, err := ioCreator(stdout, stderr)
	if err != nil {
		return nil, err
	}
	p.cleanup = append(p.cleanup, cleanupIO)
	task, err := ctr.NewTask(ctx, creator)
	if err != nil {
		return nil, fmt.Errorf("start sidecar from %s: %w", opts.Image.Reference, err)
	}
	failpoint.Inject("sidecar-created")
	p.run = func(ctx context.Context) (*Result, error) { return waitProcess(ctx, task, stdout, stderr) }
	return p, nil
}

// newSidecarContainer creates the locked-down container of a sidecar from
// opts.Image, unpacking the image first when needed, with the given mounts.
func (r *Runtime) newSidecarContainer(ctx context.Context, opts SidecarOptions, mounts []Mount) (containerd.Container, error) {
	img := r.Handle(opts.Image)
	if ok, err := img.IsUnpacked(ctx, defaults.DefaultSnapshotter); err != nil || !ok {
		if err := img.Unpack(ctx, defaults.DefaultSnapshotter); err != nil {
			return nil, fmt.Errorf("unpack %s: %w", opts.Image.Reference, err)
		}
	}
	id := fmt.Sprintf("etcd-ramdisk-%s-%d", opts.Purpose, time.Now().UnixNano())
	specOpts := []oci.SpecOpts{
		oci.WithImageConfig(img),
		oci.WithProcessArgs(opts.Args...),
		oci.WithMounts(bindMounts(mounts)),
		oci.WithRootFSReadonly(),
		oci.WithNoNewPrivileges,
		oci.WithCapabilities([]string{}),
	}
	if opts.HostNetwork {
		specOpts = append(specOpts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostHostsFile, oci.WithHostResolvconf)
	}
	ctr, err := r.Client.NewContainer(ctx, id,
		containerd.WithImage(img),
		// A writable snapshot lets runc create mount points; the spec then mounts it read-only.
		containerd.WithNewSnapshot(id, img),
		containerd.WithContainerLabels(sidecarLabels(opts.Purpose)),
		containerd.WithNewSpec(specOpts...),
	)
	if err != nil {
		return nil, fmt.Errorf("create sidecar from %s: %w", opts.Image.Reference, err)
	}
	return ctr, nil
}
