package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/etcd-ramdisk/etcd-ramdisk/images"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
)

// Methods of running etcd's tools for a backup.
const (
	MethodAuto    = "auto"    // exec when the tmpfs has room, else sidecar
	MethodExec    = "exec"    // exec in the running etcd container, staging on etcd's tmpfs
	MethodSidecar = "sidecar" // a sidecar from the same digest, staging in the backup dir
)

const stagingName = ".etcd-ramdisk-staging"

// target is where etcd's tools run during a backup and where the snapshot is staged.
type target struct {
	method        string
	run           func(ctx context.Context, args []string) (*erdrt.Result, error)
	hostStaging   string // staging directory as the host sees it
	ctStaging     string // the same directory inside the container
	tools         images.Tools
	tls           tlsArgs
	cleanupTarget func()
}

func (t *target) hostFile(name string) string { return filepath.Join(t.hostStaging, name) }
func (t *target) ctFile(name string) string   { return path.Join(t.ctStaging, name) }

// execTarget stages inside etcd's own data dir, so the uncompressed snapshot never
// leaves the tmpfs.
func execTarget(rt erdrt.ToolRunner, ec *erdrt.EtcdContainer, m *manifest.Etcd, tools images.Tools, tls tlsArgs) (*target, error) {
	host := filepath.Join(m.Member.HostDataDir, stagingName)
	if err := os.MkdirAll(host, 0o700); err != nil {
		return nil, fmt.Errorf("staging dir %s: %w", host, err)
	}
	return &target{
		method: MethodExec,
		run: func(ctx context.Context, args []string) (*erdrt.Result, error) {
			return rt.Exec(ctx, ec.Container, args)
		},
		hostStaging: host, ctStaging: path.Join(m.Member.DataDir, stagingName),
		tools: tools, tls: tls,
		cleanupTarget: func() { os.RemoveAll(host) },
	}, nil
}

// sidecarTarget runs each tool in a fresh container from the same image digest:
// host network to reach etcd on loopback, certificates read-only, only the
// staging directory writable.
func sidecarTarget(rt erdrt.ToolRunner, ec *erdrt.EtcdContainer, m *manifest.Etcd, tools images.Tools, tls tlsArgs, hostStaging string) (*target, error) {
	if err := os.MkdirAll(hostStaging, 0o700); err != nil {
		return nil, fmt.Errorf("staging dir %s: %w", hostStaging, err)
	}
	mounts, err := certMounts(m, tls)
	if err != nil {
		return nil, err
	}
	const ct = "/var/lib/etcd-ramdisk-staging"
	mounts = append(mounts, erdrt.Mount{Host: hostStaging, Container: ct})
	img := ec.Image
	return &target{
		method: MethodSidecar,
		run: func(ctx context.Context, args []string) (*erdrt.Result, error) {
			return rt.RunSidecar(ctx, erdrt.SidecarOptions{Image: &img, Args: args, Mounts: mounts, HostNetwork: true, Purpose: "backup"})
		},
		hostStaging: hostStaging, ctStaging: ct, tools: tools, tls: tls,
		cleanupTarget: func() { os.RemoveAll(hostStaging) },
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
func (t *target) runOK(ctx context.Context, what string, args []string) ([]byte, error) {
	res, err := t.run(ctx, args)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w: %w", what, t.method, errExecFailed, err)
	}
	if err := res.Err(what); err != nil {
		return nil, err
	}
	return res.Stdout, nil
}

// noStagingRoom is why a snapshot is staged off the tmpfs: a reason to log,
// not an error, since the backup goes on elsewhere (ErrNoRoom is a restore's
// failure).
const noStagingRoom = "not enough room on the tmpfs to stage the snapshot"

var errExecFailed = errors.New("could not run the tool")
