package status

import (
	"context"
	"fmt"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// EtcdChecker asks the container runtime whether etcd's container runs. An
// error is the runtime's (it could not say), never "not running".
type EtcdChecker interface {
	EtcdRunning(ctx context.Context, podNamespace string) (bool, error)
}

// Runtime is what status found about containerd and etcd's container.
type Runtime struct {
	// Containerd is "" when containerd answered, else why it did not.
	Containerd string `json:"containerdError,omitempty"`
	// Etcd is EtcdRunning, EtcdStopped or EtcdUnknown.
	Etcd      string `json:"etcd"`
	EtcdError string `json:"etcdError,omitempty"`
}

// What status found about etcd's container.
const (
	EtcdRunning = "running"
	EtcdStopped = "not running"
	EtcdUnknown = "unknown"
)

func checkRuntime(ctx context.Context, o *Options, podNamespace string) Runtime {
	rt := Runtime{Etcd: EtcdUnknown}
	switch {
	case o.ContainerdError != nil:
		rt.Containerd = o.ContainerdError.Error()
		rt.EtcdError = "containerd not reachable"
	case o.Etcd == nil:
		rt.EtcdError = "not checked"
	default:
		ctx, cancel := context.WithTimeout(ctx, imageCheckTimeout)
		running, err := o.Etcd.EtcdRunning(ctx, podNamespace)
		cancel()
		switch {
		case err != nil:
			rt.EtcdError = err.Error()
		case running:
			rt.Etcd = EtcdRunning
		default:
			rt.Etcd = EtcdStopped
		}
	}
	return rt
}

func (rt *Runtime) text() (containerd, etcd string) {
	containerd = "reachable"
	if rt.Containerd != "" {
		containerd = "NOT reachable (" + rt.Containerd + ")"
	}
	etcd = rt.Etcd
	if rt.EtcdError != "" {
		etcd += " (" + rt.EtcdError + ")"
	}
	return containerd, etcd
}

// broken lists what stops backups, or the restore at the next boot, from
// working at all: each is worse than a warning, and status exits with its own
// code. Each line names the part.
func broken(r *Report, backupDir string, installed bool) []string {
	b := []string{}
	add := func(format string, args ...any) { b = append(b, fmt.Sprintf(format, args...)) }
	if r.Runtime.Containerd != "" {
		add("containerd: %s: no backup can run", r.Runtime.Containerd)
	}
	if r.Runtime.Etcd == EtcdStopped {
		add("etcd: no running etcd container: no backup can run (is kubelet running? is etcd's static pod crash-looping?)")
	}
	switch bk := &r.Backups; {
	case bk.Missing && installed:
		add("backup dir: %s does not exist although etcd-ramdisk is installed (is its disk mounted?)", backupDir)
	case bk.ReadOnly != "":
		add("%s: no backup can be stored", bk.ReadOnly)
	}
	if d := &r.DataDir; d.Path != "" && d.Error == "" && d.DBBytes == 0 && r.Backups.Good > 0 {
		add("data dir: %s holds no etcd database, yet %d good snapshot(s) exist: etcd would start an empty cluster; run `etcd-ramdisk restore` before etcd starts (does the kubelet drop-in run it at boot?)", d.Path, r.Backups.Good)
	}
	return b
}

// checkWritable says why the store cannot be written, or "".
func checkWritable(st *store.Store) string {
	if err := st.Writable(); err != nil {
		return err.Error()
	}
	return ""
}
