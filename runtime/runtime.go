package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// DefaultAddress is containerd's socket on a kubeadm node.
const DefaultAddress = "/run/containerd/containerd.sock"

// ErrUnavailable means containerd could not be reached.
var ErrUnavailable = errors.New("containerd unavailable")

// Runtime is an open connection to containerd in one namespace.
type Runtime struct {
	Client    *containerd.Client
	Namespace string
	Address   string
	onClose   []func()
	nerdctl   string // nerdctl binary when the nerdctl backend is in use
	// PodUpdateWait bounds how long FindEtcd waits for kubelet to finish
	// replacing the etcd static pod when it sees two running etcd containers.
	PodUpdateWait time.Duration
}

// OnClose registers fn to run when the runtime is closed (e.g. a context's cancel).
func (r *Runtime) OnClose(fn func()) { r.onClose = append(r.onClose, fn) }

// Open connects to containerd at address and returns a context carrying the
// namespace. It checks the socket first so that the usual mistake (wrong path,
// containerd not started) gets a message naming the flag that fixes it.
func Open(ctx context.Context, address, namespace string) (*Runtime, context.Context, error) {
	if address == "" {
		address = DefaultAddress
	}
	fi, err := os.Stat(address)
	if err != nil {
		return nil, ctx, fmt.Errorf("%w: socket %s: %w (is containerd running? set --containerd-address)", ErrUnavailable, address, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return nil, ctx, fmt.Errorf("%w: %s is not a socket (set --containerd-address)", ErrUnavailable, address)
	}
	cl, err := containerd.New(address, containerd.WithTimeout(10*time.Second), containerd.WithDefaultNamespace(namespace))
	if err != nil {
		return nil, ctx, fmt.Errorf("%w: dial %s: %w", ErrUnavailable, address, err)
	}
	ctx = namespaces.WithNamespace(ctx, namespace)
	if ok, err := cl.IsServing(ctx); err != nil || !ok {
		cl.Close()
		if ctx.Err() != nil { // SIGINT, SIGTERM or --timeout while connecting
			return nil, ctx, fmt.Errorf("connect to containerd at %s: %w", address, ctx.Err())
		}
		return nil, ctx, fmt.Errorf("%w: %s does not answer: %v", ErrUnavailable, address, err)
	}
	return &Runtime{Client: cl, Namespace: namespace, Address: address, PodUpdateWait: DefaultPodUpdateWait}, ctx, nil
}

// Close releases the connection.
func (r *Runtime) Close() error {
	for _, fn := range r.onClose {
		fn()
	}
	return r.Client.Close()
}

// Result is what a tool run inside the image printed and how it ended.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       uint32
}

// Err turns a non-zero exit into an error quoting the tool's own message.
func (r *Result) Err(what string) error {
	if r.ExitCode == 0 {
		return nil
	}
	msg := strings.TrimSpace(string(r.Stderr))
	if msg == "" {
		msg = strings.TrimSpace(string(r.Stdout))
	}
	if len(msg) > 2000 {
		msg = msg[len(msg)-2000:]
	}
	return fmt.Errorf("%s exited %d: %s", what, r.ExitCode, msg)
}
