package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
	"golang.org/x/sys/unix"
)

// Env says where the built binaries and images are and where beds may go.
type Env struct {
	BinDir   string // _output/bin
	ImageDir string // _output/images
	BedBase  string // beds are BedBase-<name>, on the persistent disk
	ShmDir   string // scratch on tmpfs (strace output), so measuring writes nothing to disk
	Keep     bool   // keep ShmDir (the strace outputs) for inspection
	Log      *slog.Logger
}

func (e *Env) etcdkv() string  { return filepath.Join(e.BinDir, "etcd-3.6.16", "etcdkv") }
func (e *Env) etcdctl() string { return filepath.Join(e.BinDir, "etcd-3.6.16", "etcdctl") }
func (e *Env) etcdutl() string { return filepath.Join(e.BinDir, "etcd-3.6.16", "etcdutl") }
func (e *Env) tool() string    { return filepath.Join(e.BinDir, "etcd-ramdisk") }

// Check reports what is missing before any bed is built.
func (e *Env) Check() error {
	var errs []error
	if os.Geteuid() != 0 {
		errs = append(errs, errors.New("must run as root (beds mount tmpfs and run containerd)"))
	}
	for _, f := range []string{e.tool(), e.etcdkv(), e.etcdctl(), e.etcdutl()} {
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := exec.LookPath("strace"); err != nil {
		errs = append(errs, fmt.Errorf("strace: %w (apt-get install strace)", err))
	}
	for _, tool := range []string{"losetup", "mkfs.ext4"} { // the setups' disks
		if _, err := exec.LookPath(tool); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", tool, err))
		}
	}
	return errors.Join(errs...)
}

// bed is one benchmark node and the slot (IP, ports) it was given.
type bed struct {
	*testbed.Bed
	env  *Env
	name string
	disk *loopDisk // the bed's var/lib, when on a disk of its own
}

// upBed brings up a fresh node; the caller must call down, also after an
// error. With disk > 0 the bed's var/lib (the backup dir, and etcd's data
// dir unless on tmpfs) is an ext4 filesystem of that size on a loop device
// of its own (bed.disk, of the given format), made before the node comes up.
func (e *Env) upBed(ctx context.Context, name string, o testbed.NodeOptions, disk int64, format DiskFormat) (*bed, error) {
	tb, err := testbed.New(e.BedBase + "-" + name)
	if err != nil {
		return nil, err
	}
	_ = tb.Down(ctx) // a run killed midway may have left it
	b := &bed{Bed: tb, env: e, name: name}
	if disk > 0 {
		if err := b.attachDisk(ctx, disk, format); err != nil {
			return b, err
		}
	}
	archives, err := filepath.Glob(filepath.Join(e.ImageDir, "*.tar"))
	if err != nil || len(archives) == 0 {
		return b, fmt.Errorf("no image archives in %s", e.ImageDir)
	}
	start := time.Now()
	if err := tb.Up(ctx, o, archives); err != nil {
		return b, fmt.Errorf("bring up bed %s: %w", name, err)
	}
	e.Log.Info("bed up", "bed", name, "dir", tb.Dir, "tmpfs", !o.NoTmpfs, "took", time.Since(start).Round(time.Millisecond))
	return b, nil
}

// attachDisk makes the bed directory a mount of its own (as Bed.Up would;
// Up then leaves it as it is) and mounts the loop disk on its var/lib.
func (b *bed) attachDisk(ctx context.Context, size int64, format DiskFormat) error {
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(b.Dir, b.Dir, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount %s: %w", b.Dir, err)
	}
	var err error
	b.disk, err = newLoopDisk(ctx, b.Dir+".img", size, format, filepath.Join(b.Dir, "var", "lib"))
	if err == nil {
		b.env.Log.Info("bed disk", "bed", b.name, "device", b.disk.Dev, "format", format, "size", human(size), "writeCache", b.disk.WriteCache)
	}
	return err
}

// down tears the bed down with a fresh context: it runs after cancellation too.
func (b *bed) down() {
	if b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := b.Down(ctx); err != nil {
		b.env.Log.Error("tear down bed", "bed", b.name, "err", err)
	}
	if err := b.disk.close(); err != nil {
		b.env.Log.Error("tear down bed disk", "bed", b.name, "err", err)
	}
}

func (b *bed) kv(ctx context.Context, args ...string) (string, error) {
	out, err := b.EtcdClient(ctx, b.env.etcdkv(), args...)
	return strings.TrimSpace(out), err
}

// etcdStatus is what `etcdkv status` prints that the bench reads.
type etcdStatus struct {
	Revision int64 `json:"revision"`
	DBSize   int64 `json:"dbSize"`
}

func (b *bed) status(ctx context.Context) (etcdStatus, error) {
	var s etcdStatus
	out, err := b.kv(ctx, "status")
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return s, fmt.Errorf("etcdkv status %q: %w", out, err)
	}
	return s, nil
}

// dbSize is etcd's reported database size.
func (b *bed) dbSize(ctx context.Context) (int64, error) {
	s, err := b.status(ctx)
	return s.DBSize, err
}

// tlsFlags are etcdctl's client flags for this node, with kubeadm's healthcheck client.
func (b *bed) tlsFlags() []string {
	pki := filepath.Join(b.PKIDir(), "etcd")
	return []string{
		fmt.Sprintf("--endpoints=https://127.0.0.1:%d", b.Options.ClientPort),
		"--cacert=" + filepath.Join(pki, "ca.crt"),
		"--cert=" + filepath.Join(pki, "healthcheck-client.crt"),
		"--key=" + filepath.Join(pki, "healthcheck-client.key"),
	}
}

func (b *bed) peerURL() string {
	return fmt.Sprintf("https://%s:%d", b.Options.IP, b.Options.PeerPort)
}

// etcdMetric reads one counter from etcd's plain-HTTP metrics endpoint.
func (b *bed) etcdMetric(ctx context.Context, name string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/metrics", b.Options.MetricsPort), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no metric %s", name)
}

// containerdPID is the bed's containerd (its pid file holds it).
func (b *bed) containerdPID() (int, error) {
	raw, err := os.ReadFile(filepath.Join(b.Containerd.Dir, "containerd.pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(raw)))
}

// mountTmpfs mounts a tmpfs under the bed (so containerd's namespace sees it too);
// Bed.Down unmounts it.
func (b *bed) mountTmpfs(sub string, size int64) (string, error) {
	dir := filepath.Join(b.Dir, sub)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		return "", fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return dir, nil
}

// CmdRun is one finished command with what the kernel says it cost.
type CmdRun struct {
	Args      []string      `json:"args"`
	Stdout    string        `json:"stdout,omitempty"`
	Stderr    string        `json:"-"`
	ExitCode  int           `json:"exitCode"`
	Wall      time.Duration `json:"wallNs"`
	MaxRSS    int64         `json:"maxRssBytes"`    // wait4 ru_maxrss: the largest of the process and its reaped children
	DiskWrite int64         `json:"diskWriteBytes"` // wait4 ru_oublock × 512: write_bytes of the process and its reaped children
}

// run executes a command through the spawner and reads its rusage; a non-zero
// exit is an error. Cancelling ctx kills the spawner, whose child then gets
// SIGKILL too (Pdeathsig).
func run(ctx context.Context, env []string, args ...string) (*CmdRun, error) {
	cmd, rep, w, err := spawnCommand(args)
	if err != nil {
		return nil, err
	}
	defer rep.Close()
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	w.Close()
	stop := context.AfterFunc(ctx, func() { _ = cmd.Process.Kill() })
	defer stop()
	report, repErr := readReport(rep)
	waitErr := cmd.Wait()
	r := &CmdRun{Args: args, Stdout: strings.TrimSpace(stdout.String()), Stderr: stderr.String(),
		Wall: report.Wall, ExitCode: report.ExitCode, MaxRSS: report.MaxRSS * 1024, DiskWrite: report.Oublock * 512}
	switch {
	case ctx.Err() != nil:
		return r, ctx.Err()
	case waitErr != nil || repErr != nil:
		return r, fmt.Errorf("%s: %w", strings.Join(args, " "), errors.Join(waitErr, repErr))
	case r.ExitCode != 0:
		return r, fmt.Errorf("%s: exit status %d: %s", strings.Join(args, " "), r.ExitCode, tail(r.Stderr, 1500))
	}
	return r, nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// erd runs etcd-ramdisk against the bed, optionally under strace writing to traceOut.
func (b *bed) erd(ctx context.Context, traceOut string, args ...string) (*CmdRun, error) {
	argv := append([]string{b.env.tool()}, args...)
	if traceOut != "" {
		argv = append(append(append([]string{"strace", "--seccomp-bpf"}, straceArgs(traceOut)...), "--"), argv...)
	}
	return run(ctx, b.ToolEnv(), argv...)
}
