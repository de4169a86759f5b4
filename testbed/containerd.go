package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Containerd is a private containerd with CRI whose root, state, socket and /run
// live under one directory: Debian's 1.6 from PATH, or the binaries of BinDir (a
// containerd 2.x built by build-containerd2.sh). It runs in a mount namespace of
// its own with a fresh tmpfs on /run, because containerd (1.6 and 2.x alike, as
// root) puts shim sockets and runc state under /run/containerd whatever its state
// directory is: the host's /run/containerd is never touched, and when the last of
// its processes exits, every mount it made disappears with it.
type Containerd struct {
	Dir     string // <bed>/containerd
	Address string
	// BinDir holds containerd, containerd-shim-runc-v2 and ctr; empty means the
	// containerd on PATH. It goes first in containerd's PATH, so that containerd
	// starts the shim of its own version.
	BinDir string
}

// ContainerdBinEnv names the environment variable that selects a bed's containerd
// binaries (NodeOptions.ContainerdBin) when the options leave it empty.
const ContainerdBinEnv = "ERD_CONTAINERD_BIN"

func newContainerd(dir string) *Containerd {
	return &Containerd{Dir: dir, Address: filepath.Join(dir, "containerd.sock")}
}

// Binary is the containerd executable this bed runs.
func (c *Containerd) Binary() (string, error) { return containerdBinary(c.BinDir) }

func containerdBinary(binDir string) (string, error) {
	if binDir == "" {
		p, err := exec.LookPath("containerd")
		if err != nil {
			return "", fmt.Errorf("no containerd on PATH (testbed/install-deps.sh installs Debian's): %w", err)
		}
		return p, nil
	}
	p := filepath.Join(binDir, "containerd")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("containerd binaries from %s: %w", binDir, err)
	}
	return p, nil
}

// ContainerdVersion is `containerd --version` of the containerd a bed with this
// BinDir runs (empty: the one on PATH), with the binary's path.
func ContainerdVersion(binDir string) (path, version string, err error) {
	path, err = containerdBinary(binDir)
	if err != nil {
		return "", "", err
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return path, "", fmt.Errorf("%s --version: %w", path, err)
	}
	return path, strings.TrimSpace(string(out)), nil
}

// containerdMajor reads the major version from `containerd --version`
// ("containerd github.com/containerd/containerd/v2 v2.4.2 …" or Debian's
// "containerd github.com/containerd/containerd 1.6.20~ds1 …").
func containerdMajor(version string) (int, error) {
	f := strings.Fields(version)
	if len(f) < 3 {
		return 0, fmt.Errorf("unexpected containerd version %q", version)
	}
	m, _, _ := strings.Cut(strings.TrimPrefix(f[2], "v"), ".")
	major, err := strconv.Atoi(m)
	if err != nil {
		return 0, fmt.Errorf("unexpected containerd version %q", version)
	}
	return major, nil
}

// env is containerd's environment: BinDir first in PATH.
func (c *Containerd) env() []string {
	if c.BinDir == "" {
		return os.Environ()
	}
	return append(os.Environ(), "PATH="+c.BinDir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func (c *Containerd) configPath() string { return filepath.Join(c.Dir, "config.toml") }
func (c *Containerd) pidPath() string    { return filepath.Join(c.Dir, "containerd.pid") }

// LogPath is containerd's own log, kept for diagnosing a failed test run.
func (c *Containerd) LogPath() string { return filepath.Join(c.Dir, "containerd.log") }

// configPaths puts containerd's sockets and its opt dir under the bed: the same
// in both configuration versions.
const configPaths = `
[grpc]
  address = "{{dir}}/containerd.sock"

[ttrpc]
  address = "{{dir}}/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{{dir}}/opt"
`

// containerdConfig is the configuration (version 2) of containerd 1.x.
const containerdConfig = `version = 2
root = "{{dir}}/root"
state = "{{dir}}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
` + configPaths + `
[plugins."io.containerd.grpc.v1.cri"]
  # These machines withhold CAP_SYS_RESOURCE: without this runc cannot lower
  # oom_score_adj and every pod sandbox fails to start.
  restrict_oom_score_adj = true
  sandbox_image = "` + PauseImage + `"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{{dir}}/cni/bin"
    conf_dir = "{{dir}}/cni/conf"
`

// containerd2Config is the same configuration for containerd 2.x (version 3):
// CRI's settings are split between the runtime, images and server plugins.
const containerd2Config = `version = 3
root = "{{dir}}/root"
state = "{{dir}}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
` + configPaths + `
[plugins."io.containerd.cri.v1.runtime"]
  # These machines withhold CAP_SYS_RESOURCE: without this runc cannot lower
  # oom_score_adj and every pod sandbox fails to start.
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["{{dir}}/cni/bin"]
    conf_dir = "{{dir}}/cni/conf"

[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = "` + PauseImage + `"

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`

// PauseImage is the sandbox image Debian's containerd 1.6 expects; the bed builds
// it and names it in containerd 2.x's configuration too.
const PauseImage = "registry.k8s.io/pause:3.6"

// Start launches containerd unless it already answers, and waits until it does.
func (c *Containerd) Start(ctx context.Context) error {
	if c.answers(ctx) {
		return c.waitCRI(ctx)
	}
	for _, d := range []string{c.Dir, filepath.Join(c.Dir, "cni/bin"), filepath.Join(c.Dir, "cni/conf"), filepath.Join(c.Dir, "opt")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	bin, version, err := ContainerdVersion(c.BinDir)
	if err != nil {
		return err
	}
	major, err := containerdMajor(version)
	if err != nil {
		return fmt.Errorf("%s: %w", bin, err)
	}
	tmpl := containerdConfig
	if major >= 2 {
		tmpl = containerd2Config
	}
	cfg := strings.ReplaceAll(tmpl, "{{dir}}", c.Dir)
	if err := os.WriteFile(c.configPath(), []byte(cfg), 0o644); err != nil {
		return err
	}
	logf, err := os.OpenFile(c.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	// The bed directory is a shared mount (see Bed.prepareMounts); making / a slave in
	// the new namespace lets the tmpfs mounted later by the bed reach containerd, while
	// nothing containerd mounts reaches the host.
	script := `mount --make-rslave / && mount -t tmpfs -o mode=0755 tmpfs /run && exec "$1" --config "$2"`
	cmd := exec.Command("unshare", "--mount", "--propagation", "unchanged", "--", "/bin/sh", "-c", script, "sh", bin, c.configPath())
	if shims := c.liveShims(); len(shims) > 0 {
		// A restart while containers run: join their mount namespace, where the
		// shims' sockets under /run/containerd are, as a restarted containerd on
		// a real node finds them.
		cmd = exec.Command("nsenter", "--mount=/proc/"+strconv.Itoa(shims[0])+"/ns/mnt", "--", bin, "--config", c.configPath())
	}
	cmd.Env = c.env()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(c.pidPath(), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for !c.answers(ctx) || !c.criReady(ctx) {
		select {
		case err := <-exited:
			return fmt.Errorf("containerd exited during start (%v); see %s", err, c.LogPath())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd did not answer on %s within 30s; see %s", c.Address, c.LogPath())
		}
	}
	cmd.Process.Release()
	return nil
}

func (c *Containerd) answers(ctx context.Context) bool {
	if _, err := os.Stat(c.Address); err != nil {
		return false
	}
	cl, err := containerd.New(c.Address, containerd.WithTimeout(2*time.Second))
	if err != nil {
		return false
	}
	defer cl.Close()
	// IsServing waits for a connection; a stale socket must not hang it.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ok, err := cl.IsServing(ctx)
	return err == nil && ok
}

// waitCRI waits for a containerd that already answers to finish starting CRI.
func (c *Containerd) waitCRI(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for !c.criReady(ctx) {
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd's CRI did not become ready within 30s; see %s", c.LogPath())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// criReady reports whether the CRI plugin has finished initialising: containerd
// answers its own API before CRI does ("server is not initialized yet").
func (c *Containerd) criReady(ctx context.Context) bool {
	conn, err := grpc.NewClient("unix://"+c.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return false
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = cri.NewRuntimeServiceClient(conn).ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
	return err == nil
}

// Client opens a client on the private containerd.
func (c *Containerd) Client() (*containerd.Client, error) {
	return containerd.New(c.Address, containerd.WithTimeout(10*time.Second))
}

// MountNamespace is containerd's mount namespace (/proc/<pid>/ns/mnt), for
// tools that must see its private /run.
func (c *Containerd) MountNamespace() (string, error) {
	pid, err := c.pid()
	if err != nil {
		return "", err
	}
	return "/proc/" + strconv.Itoa(pid) + "/ns/mnt", nil
}

// Running is the executable of the running containerd (/proc/<pid>/exe) and
// what it reports as its version: the containerd this bed actually runs.
func (c *Containerd) Running() (path, version string, err error) {
	pid, err := c.pid()
	if err != nil {
		return "", "", err
	}
	path, err = os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return "", "", err
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return path, "", fmt.Errorf("%s --version: %w", path, err)
	}
	return path, strings.TrimSpace(string(out)), nil
}

// KillDaemon kills containerd alone, leaving shims and containers running, as a
// crash of containerd does.
func (c *Containerd) KillDaemon() error {
	pid, err := c.pid()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	for alive(pid) {
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// PowerOff ends every process of this containerd at once, as a power cut would:
// containers, shims, then containerd itself. It also works when containerd is
// already dead, by walking the process tree.
func (c *Containerd) PowerOff() error {
	// A shim that was daemonizing when the process tree was read is no longer a
	// descendant of anything we killed, so go round until nothing is left.
	for round := 0; round < 5; round++ {
		var roots []int
		if pid, err := c.pid(); err == nil {
			roots = append(roots, pid)
		}
		roots = append(roots, c.shimPIDs()...)
		if len(roots) == 0 {
			break
		}
		if err := killTrees(roots); err != nil {
			return err
		}
	}
	if left := c.shimPIDs(); len(left) > 0 {
		var states []string
		for _, p := range left {
			states = append(states, fmt.Sprintf("%d (%s)", p, procState(p)))
		}
		return fmt.Errorf("shims %s survived five rounds of SIGKILL", strings.Join(states, ", "))
	}
	_ = os.Remove(c.pidPath())
	_ = os.Remove(c.Address)
	_ = os.Remove(c.Address + ".ttrpc")
	return nil
}

// killTrees SIGKILLs each root and all its descendants and waits until they are gone.
func killTrees(roots []int) error {
	victims := map[int]bool{}
	for _, r := range roots {
		for _, p := range descendants(r) {
			victims[p] = true
		}
		victims[r] = true
	}
	for p := range victims {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	deadline := time.Now().Add(20 * time.Second)
	for p := range victims {
		for alive(p) {
			if time.Now().After(deadline) {
				return fmt.Errorf("process %d survived SIGKILL", p)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

func (c *Containerd) pid() (int, error) {
	b, err := os.ReadFile(c.pidPath())
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, err
	}
	if !alive(pid) || !strings.Contains(cmdline(pid), c.configPath()) {
		return 0, errors.New("containerd not running")
	}
	return pid, nil
}

// liveShims are shims whose mount namespace can still be joined.
func (c *Containerd) liveShims() []int {
	var out []int
	for _, p := range c.shimPIDs() {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/ns/mnt", p)); err == nil && alive(p) {
			out = append(out, p)
		}
	}
	return out
}

// shimPIDs finds runc shims serving this containerd; they outlive containerd by design.
func (c *Containerd) shimPIDs() []int {
	var out []int
	for _, p := range allPIDs() {
		cl := cmdline(p)
		if strings.Contains(cl, "containerd-shim") && strings.Contains(cl, c.Address) {
			out = append(out, p)
		}
	}
	return out
}

// procState is what /proc says of pid's state, threads, parent and tracer,
// for a message.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return err.Error()
	}
	var f []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, k := range []string{"State:", "Threads:", "PPid:", "TracerPid:"} {
			if strings.HasPrefix(l, k) {
				f = append(f, strings.Join(strings.Fields(l), " "))
			}
		}
	}
	return strings.Join(f, ", ")
}

func allPIDs() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		if p, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.ReplaceAll(string(b), "\x00", " ")
}

func parentPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return -1
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}

func descendants(root int) []int {
	children := map[int][]int{}
	for _, p := range allPIDs() {
		children[parentPID(p)] = append(children[parentPID(p)], p)
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, ch := range children[p] {
			out = append(out, ch)
			queue = append(queue, ch)
		}
	}
	return out
}

// alive says whether pid is still running or still exiting. A zombie has
// died (only its parent's wait is missing) once all its threads are gone: a
// multi-threaded process's leader (a shim, containerd: Go programs) shows
// "Z" as soon as it has exited, while its other threads still hold the
// process's memory, files and mounts; its task list tells the two apart.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z") {
		return true
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	return err == nil && len(tasks) > 1
}

// mountTmpfs mounts an empty tmpfs of the given size with etcd's expected mode.
func mountTmpfs(dir string, size string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOATIME, "size="+size+",mode=0700"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// isMountPoint reports whether dir is itself a mount point, from /proc/self/mountinfo.
func isMountPoint(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescapeMount(f[4]) == dir {
			return true
		}
	}
	return false
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// unmountAllUnder lazily unmounts every mount at or below dir, deepest first.
func unmountAllUnder(dir string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var targets []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			t := unescapeMount(f[4])
			if t == dir || strings.HasPrefix(t, dir+"/") {
				targets = append(targets, t)
			}
		}
	}
	var errs []error
	for i := len(targets) - 1; i >= 0; i-- {
		// EINVAL: no longer a mount point; ENOENT: gone with its directory (a
		// shim's cleanup that raced the power-off removed both).
		if err := unix.Unmount(targets[i], unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", targets[i], err))
		}
	}
	return errors.Join(errs...)
}
