package runtime

import (
	"context"

	containerd "github.com/containerd/containerd/v2/client"
)

// ToolRunner is what a job needs to run etcd's tools: exec in the running
// etcd container, a sidecar from its image, and whether etcd still runs.
// *Runtime is the one implementation on a node, for the --runtime backend it
// was opened with; tests implement it to drive a job's fallbacks (exec
// refused, etcd gone) without root or containerd.
type ToolRunner interface {
	Exec(ctx context.Context, c containerd.Container, args []string) (*Result, error)
	RunSidecar(ctx context.Context, opts SidecarOptions) (*Result, error)
	Running(ctx context.Context, ec *EtcdContainer) bool
}

var _ ToolRunner = (*Runtime)(nil)
