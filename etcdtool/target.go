package etcdtool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/runtime/images"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Methods of running etcd's tools for a backup.
const (
	MethodAuto    = "auto"    // exec when the tmpfs has room, else sidecar
	MethodExec    = "exec"    // exec in the running etcd container, staging on etcd's tmpfs
	MethodSidecar = "sidecar" // a sidecar from the same digest, staging in the backup dir
)

// StagingName is the directory, in a data dir, where a snapshot is staged
// beside etcd's database; a run's leftovers there are removed by the next.
const StagingName = ".etcd-ramdisk-staging"

// NoStagingRoom is why a snapshot is staged off the tmpfs: a reason to log,
// not an error, since the backup goes on elsewhere (ErrNoRoom is a restore's
// failure).
const NoStagingRoom = "not enough room on the tmpfs to stage the snapshot"

var errExecFailed = errors.New("could not run the tool")

// Etcd is a running etcd and what its tools need to reach it: the runtime
// that runs them, its container, the manifest, the tools its image holds and
// the client certificate etcdctl uses on loopback.
type Etcd struct {
	r     erdrt.ToolRunner
	ec    *erdrt.EtcdContainer
	m     *manifest.Etcd
	tools images.Tools
	tls   tlsArgs
}

// NewEtcd describes the running etcd ec for its tools, with the manifest's
// loopback endpoint and healthcheck client certificate.
func NewEtcd(r erdrt.ToolRunner, ec *erdrt.EtcdContainer, m *manifest.Etcd, tools images.Tools) (*Etcd, error) {
	tls, err := clientTLS(m)
	if err != nil {
		return nil, err
	}
	return &Etcd{r: r, ec: ec, m: m, tools: tools, tls: tls}, nil
}

func clientTLS(m *manifest.Etcd) (tlsArgs, error) {
	url, err := m.LoopbackClientURL()
	if err != nil {
		return tlsArgs{}, err
	}
	cert, key := m.HealthcheckClientCert()
	return tlsArgs{Endpoint: url, CACert: m.Member.TrustedCAFile, Cert: cert, Key: key}, nil
}

// Target is where etcd's tools run during a backup and where the snapshot is staged.
type Target struct {
	method      string
	run         func(ctx context.Context, args []string) (*erdrt.Result, error)
	hostStaging string // staging directory as the host sees it
	ctStaging   string // the same directory inside the container
	tools       images.Tools
	tls         tlsArgs
	cleanup     func()
}

// Method says how the target runs the tools: MethodExec or MethodSidecar.
func (t *Target) Method() string { return t.method }

// HostFile is where a file the tools wrote into the staging directory is on the host.
func (t *Target) HostFile(name string) string { return filepath.Join(t.hostStaging, name) }

func (t *Target) ctFile(name string) string { return path.Join(t.ctStaging, name) }

// Close removes the staging directory.
func (t *Target) Close() { t.cleanup() }

// ExecTarget stages inside etcd's own data dir, so the uncompressed snapshot never
// leaves the tmpfs.
func (e *Etcd) ExecTarget() (*Target, error) {
	host := filepath.Join(e.m.Member.HostDataDir, StagingName)
	if err := os.MkdirAll(host, 0o700); err != nil {
		return nil, fmt.Errorf("staging dir %s: %w", host, err)
	}
	return &Target{
		method: MethodExec,
		run: func(ctx context.Context, args []string) (*erdrt.Result, error) {
			return e.r.Exec(ctx, e.ec.Container, args)
		},
		hostStaging: host, ctStaging: path.Join(e.m.Member.DataDir, StagingName),
		tools: e.tools, tls: e.tls,
		cleanup: func() { os.RemoveAll(host) },
	}, nil
}

// sidecarTarget runs each tool in a fresh container from the same image digest:
// host network to reach etcd on loopback, certificates read-only, only the
// staging directory writable.
func (e *Etcd) sidecarTarget(hostStaging string) (*Target, error) {
	if err := os.MkdirAll(hostStaging, 0o700); err != nil {
		return nil, fmt.Errorf("staging dir %s: %w", hostStaging, err)
	}
	mounts, err := certMounts(e.m, e.tls)
	if err != nil {
		return nil, err
	}
	const ct = "/var/lib/etcd-ramdisk-staging"
	mounts = append(mounts, erdrt.Mount{Host: hostStaging, Container: ct})
	img := e.ec.Image
	return &Target{
		method: MethodSidecar,
		run: func(ctx context.Context, args []string) (*erdrt.Result, error) {
			return e.r.RunSidecar(ctx, erdrt.SidecarOptions{Image: &img, Args: args, Mounts: mounts, HostNetwork: true, Purpose: "backup"})
		},
		hostStaging: hostStaging, ctStaging: ct, tools: e.tools, tls: e.tls,
		cleanup: func() { os.RemoveAll(hostStaging) },
	}, nil
}

// certMounts binds the directories holding the client certificate, key and CA,
// read-only, at the container paths the manifest uses.
func certMounts(m *manifest.Etcd, tls tlsArgs) ([]erdrt.Mount, error) {
	seen := map[string]bool{}
	var out []erdrt.Mount
	for _, f := range []string{tls.CACert, tls.Cert, tls.Key} {
		if f == "" || seen[path.Dir(f)] {
			continue
		}
		dir := path.Dir(f)
		seen[dir] = true
		host, err := m.HostPath(dir)
		if err != nil {
			return nil, err
		}
		out = append(out, erdrt.Mount{Host: host, Container: dir, ReadOnly: true})
	}
	return out, nil
}

// runOK runs args and turns a failed run or a non-zero exit into one error.
func (t *Target) runOK(ctx context.Context, what string, args []string) ([]byte, error) {
	res, err := t.run(ctx, args)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w: %w", what, t.method, errExecFailed, err)
	}
	if err := res.Err(what); err != nil {
		return nil, err
	}
	return res.Stdout, nil
}

// EndpointStatus asks the running etcd for its current revision, server
// version and IDs with etcdctl.
func (t *Target) EndpointStatus(ctx context.Context) (Status, error) {
	out, err := t.runOK(ctx, "etcdctl endpoint status", endpointStatusArgs(t.tools, t.tls))
	if err != nil {
		return Status{}, err
	}
	st, _, err := parseEndpointStatus(out)
	return st, err
}

// Save runs etcdctl's save into the staging directory, as file name.
func (t *Target) Save(ctx context.Context, name string) error {
	_, err := t.runOK(ctx, "etcdctl snapshot save", saveArgs(t.tools, t.tls, t.ctFile(name)))
	return err
}

// SnapshotStatus reads a staged file with etcd's own tool, in the same image.
func (t *Target) SnapshotStatus(ctx context.Context, name string) (store.EtcdStatus, error) {
	out, err := t.runOK(ctx, "snapshot status", statusArgs(t.tools, t.ctFile(name)))
	if err != nil {
		return store.EtcdStatus{}, err
	}
	return parseSnapshotStatus(out)
}

// Defrag runs `etcdctl defrag` and returns what it printed.
func (t *Target) Defrag(ctx context.Context) ([]byte, error) {
	return t.runOK(ctx, "etcdctl defrag", defragArgs(t.tools, t.tls))
}
