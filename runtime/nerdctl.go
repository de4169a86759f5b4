package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Backends: how etcd's tools are run. Discovery, images and cleanup always use
// containerd's API; the backend only decides who runs the exec and the sidecars.
const (
	BackendContainerd = "containerd" // containerd's client API (default)
	BackendNerdctl    = "nerdctl"    // the nerdctl CLI, for nodes where that is the sanctioned tool
)

// UseNerdctl makes Exec and RunSidecar go through the nerdctl binary at path.
// nerdctl reads the rest of its settings (data root, CNI paths) from its own
// config file or NERDCTL_TOML, as it does for an operator.
func (r *Runtime) UseNerdctl(path string) error {
	if _, err := exec.LookPath(path); err != nil {
		return fmt.Errorf("nerdctl backend: %w", err)
	}
	r.nerdctl = path
	return nil
}

// Backend names the backend in use.
func (r *Runtime) Backend() string {
	if r.nerdctl != "" {
		return BackendNerdctl
	}
	return BackendContainerd
}

func (r *Runtime) nerdctlRun(ctx context.Context, args ...string) (*Result, error) {
	full := append([]string{"--address", r.Address, "--namespace", r.Namespace}, args...)
	cmd := exec.CommandContext(ctx, r.nerdctl, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ctx.Err() == nil:
		return &Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: uint32(ee.ExitCode())}, nil
	case err != nil:
		return nil, fmt.Errorf("nerdctl %s: %w", strings.Join(args[:min(2, len(args))], " "), err)
	}
	return &Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, nil
}

func (r *Runtime) nerdctlExec(ctx context.Context, containerID string, args []string) (*Result, error) {
	return r.nerdctlRun(ctx, append([]string{"exec", containerID}, args...)...)
}

// nerdctlSidecar is RunSidecar through `nerdctl run --rm` with the same lock-down.
func (r *Runtime) nerdctlSidecar(ctx context.Context, opts SidecarOptions) (*Result, error) {
	img, err := r.Client.ImageService().Get(ctx, opts.Image.Reference)
	if err != nil || img.Target.Digest != opts.Image.Digest {
		return nil, fmt.Errorf("nerdctl backend: image %s does not name digest %s in containerd", opts.Image.Reference, opts.Image.Digest)
	}
	args := []string{"run", "--rm", "--pull", "never", "--read-only",
		"--security-opt", "no-new-privileges", "--cap-drop", "ALL",
		"--label", LabelSidecar + "=" + opts.Purpose,
		"--label", LabelOwner + "=" + sidecarLabels(opts.Purpose)[LabelOwner],
		"--name", fmt.Sprintf("etcd-ramdisk-%s-%d", opts.Purpose, time.Now().UnixNano()),
	}
	if opts.HostNetwork {
		args = append(args, "--net", "host")
	} else {
		args = append(args, "--net", "none")
	}
	for _, m := range opts.Mounts {
		v := m.Host + ":" + m.Container
		if m.ReadOnly {
			v += ":ro"
		}
		args = append(args, "-v", v)
	}
	args = append(args, "--entrypoint", opts.Args[0], opts.Image.Reference)
	return r.nerdctlRun(ctx, append(args, opts.Args[1:]...)...)
}
