package vm

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options describe one VM. Work, Bin and Images are required; the rest default.
type Options struct {
	Work       string // directory for this VM's overlay, payload, logs and keys (created)
	Cache      string // base image cache of build-rootfs.sh; default /var/cache/erd-vm
	Bin        string // _output/bin: etcd-ramdisk, kubelet, kubeadm, etcd-3.6.16/etcdkv, containerd2/
	Images     string // _output/images: OCI image archives imported into the node's containerd
	Containerd string // "1.6" (Debian's, in the rootfs; default) or "2" (Bin/containerd2)
	MemoryMiB  int    // default 2048
	CPUs       int    // default 2
	Logf       func(format string, args ...any)

	// Optional limits (0: default).
	BootTimeout     time.Duration // one boot, until SSH answers; default 10m
	ShutdownTimeout time.Duration // one shutdown, until the kernel restarts/powers off; default 20m
	ConsoleSilence  time.Duration // watchdog: a boot whose console prints nothing this long is reset; default 3m
	KernelArgs      string        // appended to the kernel command line

	// ImageArchives names the archives in Images that go on the payload and
	// are imported (e.g. "pause.tar", "etcd-3.7.4.tar"); empty: every *.tar.
	// Each archive costs import time in the guest.
	ImageArchives []string
}

// Timing of one power cycle.
type Timing struct {
	Shutdown time.Duration // command (or kill) until the kernel restarts / QEMU exits
	Boot     time.Duration // from then until SSH answers on the new boot
}

func (t Timing) String() string {
	return fmt.Sprintf("shutdown %s, boot %s", t.Shutdown.Round(100*time.Millisecond), t.Boot.Round(100*time.Millisecond))
}

// VM is one QEMU (TCG) guest booted from a qcow2 overlay over the cached base
// image. It survives reboots, power-offs and power cuts: the overlay, ports and
// key stay, only the QEMU process is replaced.
type VM struct {
	o        Options
	base     string // base image dir
	overlay  string
	payload  string
	key      string // ssh private key
	sshPort  int
	etcdPort int
	con      *console
	qemuLog  string

	muxMu sync.Mutex // serializes starting the SSH master connection

	mu       sync.Mutex
	proc     *qemuProc
	restarts int
	starts   int
	closed   bool
}

type qemuProc struct {
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{} // closed when the process has exited
	err     error         // Wait's result, valid after done
	exited  time.Time
}

//go:embed build-rootfs.sh
var buildRootfsScript []byte

// ImageKey is the cache key of the base image: the first 16 hex digits of the
// sha256 of build-rootfs.sh (the script computes the same).
func ImageKey() string {
	sum := sha256.Sum256(buildRootfsScript)
	return hex.EncodeToString(sum[:])[:16]
}

// DefaultCache is where build-rootfs.sh keeps base images by default.
const DefaultCache = "/var/cache/erd-vm"

// BaseImage returns the directory of the base image for this package's
// build-rootfs.sh in cache ("" for the default), or an error naming the command
// that builds it.
func BaseImage(cache string) (string, error) {
	if cache == "" {
		cache = DefaultCache
	}
	dir := filepath.Join(cache, ImageKey())
	for _, f := range []string{"rootfs.ext4", "vmlinuz", "initrd.img"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return "", fmt.Errorf("vm: base image %s is missing (%v): build it with `testbed/vm/build-rootfs.sh %s` (make vm-assets)", dir, err, cache)
		}
	}
	return dir, nil
}

func (o *Options) defaults() error {
	if o.Work == "" {
		return errors.New("vm: Options.Work is required")
	}
	if o.Bin == "" || o.Images == "" {
		return errors.New("vm: Options.Bin and Options.Images are required")
	}
	if o.Cache == "" {
		o.Cache = DefaultCache
	}
	if o.Containerd == "" {
		o.Containerd = "1.6"
	}
	if o.Containerd != "1.6" && o.Containerd != "2" {
		return fmt.Errorf("vm: Options.Containerd %q: want \"1.6\" or \"2\"", o.Containerd)
	}
	if o.MemoryMiB == 0 {
		o.MemoryMiB = 2048
	}
	if o.CPUs == 0 {
		o.CPUs = 2
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.BootTimeout == 0 {
		o.BootTimeout = 10 * time.Minute
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 20 * time.Minute
	}
	if o.ConsoleSilence == 0 {
		o.ConsoleSilence = 3 * time.Minute
	}
	var err error
	for _, p := range []*string{&o.Work, &o.Cache, &o.Bin, &o.Images} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	return nil
}

func (v *VM) logf(format string, args ...any) {
	v.o.Logf("vm: "+format, args...)
}

// Start creates the VM's overlay, key and payload in o.Work, boots it and waits
// until SSH answers and `systemctl is-system-running --wait` has returned
// (running or degraded; failed units are logged).
func Start(ctx context.Context, o Options) (*VM, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	base, err := BaseImage(o.Cache)
	if err != nil {
		return nil, err
	}
	for _, tool := range []string{"qemu-system-x86_64", "qemu-img", "mke2fs", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("vm: %s not found (run testbed/vm/install-deps.sh): %v", tool, err)
		}
	}
	if err := os.MkdirAll(o.Work, 0o755); err != nil {
		return nil, err
	}
	v := &VM{
		o:       o,
		base:    base,
		overlay: filepath.Join(o.Work, "overlay.qcow2"),
		payload: filepath.Join(o.Work, "payload.ext4"),
		key:     filepath.Join(o.Work, "id_ed25519"),
		qemuLog: filepath.Join(o.Work, "qemu.log"),
	}
	t0 := time.Now()
	for _, f := range []string{v.overlay, v.payload, v.key, v.key + ".pub", v.qemuLog} {
		os.Remove(f)
	}
	if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "erd-vm", "-f", v.key).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("vm: ssh-keygen: %v: %s", err, out)
	}
	if out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
		"-b", filepath.Join(base, "rootfs.ext4"), v.overlay).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("vm: qemu-img create: %v: %s", err, out)
	}
	pt := time.Now()
	size, err := v.buildPayload(ctx)
	if err != nil {
		return nil, err
	}
	v.logf("payload %s: %d MiB in %s", v.payload, size>>20, time.Since(pt).Round(10*time.Millisecond))
	if v.con, err = newConsole(filepath.Join(o.Work, "console.log")); err != nil {
		return nil, err
	}

	// Free host ports are picked now and kept for the VM's life. QEMU fails at
	// once when a port was taken in between: pick again, a few times.
	for attempt := 0; ; attempt++ {
		if v.sshPort, err = freePort(); err == nil {
			v.etcdPort, err = freePort()
		}
		if err != nil {
			v.Close()
			return nil, err
		}
		err = v.startQEMU()
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "forwarding") {
			break
		}
	}
	if err != nil {
		v.Close()
		return nil, err
	}
	v.logf("QEMU started: work %s, ssh 127.0.0.1:%d, etcd %s, console %s", o.Work, v.sshPort, v.EtcdAddr(), v.Console())
	if _, err := v.waitBoot(ctx, "", "first boot"); err != nil {
		v.Close()
		return nil, err
	}
	booted := time.Now()
	if err := v.waitSystemRunning(ctx); err != nil {
		v.Close()
		return nil, err
	}
	v.logf("booted: SSH after %s, system running after %s (since Start)",
		booted.Sub(t0).Round(100*time.Millisecond), time.Since(t0).Round(100*time.Millisecond))
	return v, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("vm: picking a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (v *VM) kernelArgs() string {
	pub, _ := os.ReadFile(v.key + ".pub")
	args := []string{
		"console=ttyS0,115200", "root=/dev/vda", "rw",
		"net.ifnames=0",   // eth0, as the image's networkd file expects
		"apparmor=0",      // the image has no AppArmor userspace
		"mitigations=off", // costs only time under TCG
		"panic=10",        // a panic reboots (the same QEMU) instead of hanging
		"loglevel=5",
		"erd.authorized_key=" + base64.StdEncoding.EncodeToString(pub),
	}
	if v.o.KernelArgs != "" {
		args = append(args, v.o.KernelArgs)
	}
	return strings.Join(args, " ")
}

func (v *VM) qemuArgs() []string {
	return []string{
		"-name", "erd-vm-" + filepath.Base(v.o.Work),
		"-nodefaults", "-display", "none", "-no-user-config",
		"-accel", "tcg,thread=multi",
		"-smp", strconv.Itoa(v.o.CPUs),
		"-m", strconv.Itoa(v.o.MemoryMiB),
		"-kernel", filepath.Join(v.base, "vmlinuz"),
		"-initrd", filepath.Join(v.base, "initrd.img"),
		"-append", v.kernelArgs(),
		// vda: the root overlay. cache=writeback: guest flushes reach the host
		// (a power cut loses what the guest had not flushed, as on hardware).
		"-drive", "file=" + v.overlay + ",format=qcow2,if=virtio,cache=writeback,discard=unmap",
		// vdb: the per-run payload, read-only.
		"-drive", "file=" + v.payload + ",format=raw,if=virtio,readonly=on",
		// restrict=on: the guest reaches nothing; only the two forwards reach it.
		"-netdev", fmt.Sprintf("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22,hostfwd=tcp:127.0.0.1:%d-:2379", v.sshPort, v.etcdPort),
		"-device", "virtio-net-pci,netdev=n0",
		"-device", "virtio-rng-pci",
		"-chardev", "file,id=con0,path=" + v.con.path + ",append=on",
		"-serial", "chardev:con0",
	}
}

// startQEMU starts a new QEMU process on the VM's disks. It returns an error if
// QEMU exits within its first second (bad arguments, a port in use).
func (v *VM) startQEMU() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return errors.New("vm: closed")
	}
	if v.proc != nil {
		select {
		case <-v.proc.done:
		default:
			return errors.New("vm: QEMU is still running")
		}
	}
	logf, err := os.OpenFile(v.qemuLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	v.starts++
	fmt.Fprintf(logf, "=== %s start %d: qemu-system-x86_64 %s\n", time.Now().Format(time.RFC3339), v.starts, strings.Join(v.qemuArgs(), " "))
	v.conMark("QEMU start %d at %s", v.starts, time.Now().Format(time.RFC3339))
	cmd := exec.Command("qemu-system-x86_64", v.qemuArgs()...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("vm: starting QEMU: %v", err)
	}
	p := &qemuProc{cmd: cmd, started: time.Now(), done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		p.exited = time.Now()
		logf.Close()
		close(p.done)
	}()
	v.proc = p
	v.con.resetSilence()
	select {
	case <-p.done:
		return fmt.Errorf("vm: QEMU exited at once (%v): %s", p.err, tailFile(v.qemuLog, 10))
	case <-time.After(time.Second):
	}
	return nil
}

// conMark appends a marker line to the console log. QEMU appends to the same
// file, so markers are written only while no QEMU runs.
func (v *VM) conMark(format string, args ...any) {
	f, err := os.OpenFile(v.con.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	fmt.Fprintf(f, "\n=== erd-vm: "+format+" ===\n", args...)
	f.Close()
}

func (v *VM) current() *qemuProc {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.proc
}

// kill SIGKILLs QEMU and waits for it to exit.
func (v *VM) kill() {
	p := v.current()
	if p == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
	}
	v.stopMaster()
}

// Close kills QEMU if it runs. Logs, console and overlay stay in Work.
func (v *VM) Close() error {
	v.stopMaster()
	v.kill()
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	if v.con != nil {
		v.con.close()
	}
	return nil
}

// EtcdAddr is 127.0.0.1:PORT, forwarded to the guest's port 2379.
func (v *VM) EtcdAddr() string { return fmt.Sprintf("127.0.0.1:%d", v.etcdPort) }

// SSHAddr is 127.0.0.1:PORT, forwarded to the guest's sshd.
func (v *VM) SSHAddr() string { return fmt.Sprintf("127.0.0.1:%d", v.sshPort) }

// Console is the path of the serial console log (all boots, appended).
func (v *VM) Console() string { return v.con.path }

// Work is the VM's work directory.
func (v *VM) Work() string { return v.o.Work }

// Restarts counts the times the console watchdog reset a stalled boot.
func (v *VM) Restarts() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.restarts
}

// ConsoleTail returns the last n lines of the console (escape codes removed).
func (v *VM) ConsoleTail(n int) string { return v.con.tail(n) }

func (v *VM) sshArgs() []string {
	return []string{
		"-F", "/dev/null", "-i", v.key, "-p", strconv.Itoa(v.sshPort),
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR",
		"-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=6",
	}
}

// muxPath is the ssh control socket of the VM's master connection: in the temp
// dir, since a socket path must stay short.
func (v *VM) muxPath() string {
	sum := sha256.Sum256([]byte(v.o.Work))
	return filepath.Join(os.TempDir(), "erd-vm-"+hex.EncodeToString(sum[:6])+".ssh")
}

// clientArgs are sshArgs for one command through the master connection. A client
// whose control socket has no master connects directly, so the multiplexing only
// ever saves time (an SSH handshake costs 0.7-3 s of TCG CPU, a session on the
// master 0.1 s).
func (v *VM) clientArgs() []string {
	return append(v.sshArgs(), "-o", "ConnectTimeout=10", "-o", "ControlMaster=no", "-o", "ControlPath="+v.muxPath())
}

// ensureMaster starts the SSH master connection unless one is up, and reports
// whether one is up. A reboot, power-off or power cut ends the master with its
// TCP connection; the next Run starts a new one. connectTimeout bounds the TCP
// connect and the wait for sshd's banner (through QEMU's forward the connect
// succeeds at once even while the guest is down).
func (v *VM) ensureMaster(ctx context.Context, connectTimeout time.Duration) bool {
	v.muxMu.Lock()
	defer v.muxMu.Unlock()
	check := exec.CommandContext(ctx, "ssh", append(v.clientArgs(), "-O", "check", "root@127.0.0.1")...)
	if check.Run() == nil {
		return true
	}
	os.Remove(v.muxPath())
	mctx, cancel := context.WithTimeout(ctx, connectTimeout+20*time.Second)
	defer cancel()
	// -f: ssh forks into the background once authenticated (stdio is /dev/null,
	// so nothing here waits for the background master).
	master := exec.CommandContext(mctx, "ssh", append(v.sshArgs(), "-M", "-N", "-f",
		"-o", fmt.Sprintf("ConnectTimeout=%d", int(connectTimeout/time.Second)),
		"-o", "ControlPath="+v.muxPath(), "-o", "ControlPersist=yes", "root@127.0.0.1")...)
	master.WaitDelay = 2 * time.Second
	return master.Run() == nil // on failure Run's client connects directly
}

// stopMaster ends the SSH master connection.
func (v *VM) stopMaster() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	exec.CommandContext(ctx, "ssh", append(v.clientArgs(), "-O", "exit", "root@127.0.0.1")...).Run()
	os.Remove(v.muxPath())
}

// ExitError is Run's error when the script ran and failed (or ssh failed: 255).
type ExitError struct {
	Script string
	Status int
	Output string
}

func (e *ExitError) Error() string {
	what := "exit status " + strconv.Itoa(e.Status)
	if e.Status == 255 {
		what += " (ssh failed or the connection was lost)"
	}
	return fmt.Sprintf("vm: run %q: %s; output tail:\n%s", firstLine(e.Script), what, tailLines(e.Output, 40))
}

const guestPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Run runs script with `bash -euo pipefail -c` as root over SSH and returns its
// combined output. A failure is an *ExitError naming the exit status, with the
// output's tail.
func (v *VM) Run(ctx context.Context, script string) (string, error) {
	v.ensureMaster(ctx, 10*time.Second)
	args := append(v.clientArgs(), "root@127.0.0.1", "exec env "+guestPath+" bash --norc --noprofile -euo pipefail -c "+shellQuote(script))
	cmd := exec.CommandContext(ctx, "ssh", args...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ctx.Err() == nil {
			return string(out), &ExitError{Script: script, Status: ee.ExitCode(), Output: string(out)}
		}
		return string(out), fmt.Errorf("vm: run %q: %v; output tail:\n%s", firstLine(script), err, tailLines(string(out), 40))
	}
	return string(out), nil
}

// CopyIn copies a host file into the guest (scp), e.g. a rebuilt etcd-ramdisk.
func (v *VM) CopyIn(ctx context.Context, local, remote string) error {
	v.ensureMaster(ctx, 10*time.Second)
	args := v.clientArgs()
	for i, a := range args {
		if a == "-p" {
			args[i] = "-P"
		}
	}
	args = append(args, "-q", local, "root@127.0.0.1:"+remote)
	out, err := exec.CommandContext(ctx, "scp", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("vm: scp %s %s: %v: %s", local, remote, err, out)
	}
	return nil
}

// BootID is the guest's /proc/sys/kernel/random/boot_id.
func (v *VM) BootID(ctx context.Context) (string, error) {
	out, err := v.Run(ctx, "cat /proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(out), err
}

// Journal runs `journalctl --no-pager ARGS` in the guest (e.g. "-b -1 -u kubelet").
func (v *VM) Journal(ctx context.Context, args string) (string, error) {
	return v.Run(ctx, "journalctl --no-pager "+args)
}

// probeBoot asks for the boot id with a short timeout.
// probeBoot asks for the boot id, through a master connection made with a
// short connect timeout: while the guest boots, QEMU's forward accepts the TCP
// connection and sshd's banner never comes, and a long timeout would make the
// boot look slower than it is.
func (v *VM) probeBoot(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 25*time.Second)
	defer cancel()
	if !v.ensureMaster(ctx, 3*time.Second) {
		return "", errors.New("ssh: no connection")
	}
	return v.BootID(ctx)
}

// waitBoot waits until SSH answers with a boot id other than prev. While it
// waits, a console silent for ConsoleSilence means a stalled boot: QEMU is
// killed and started again on the same disk (counted in Restarts). It returns
// the new boot id.
func (v *VM) waitBoot(ctx context.Context, prev, what string) (string, error) {
	deadline := time.Now().Add(v.o.BootTimeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	resets := 0
	var lastErr error
	for {
		p := v.current()
		select {
		case <-p.done:
			return "", v.failf("QEMU exited (%v) while waiting for %s (SSH with a new boot id)", p.err, what)
		default:
		}
		if s := v.con.silence(); s > v.o.ConsoleSilence {
			if resets >= 3 {
				return "", v.failf("%s: the console stayed silent for %s after %d watchdog resets", what, s.Round(time.Second), resets)
			}
			resets++
			v.mu.Lock()
			v.restarts++
			n := v.restarts
			v.mu.Unlock()
			v.logf("!!! WATCHDOG: console silent for %s while waiting for %s: killing QEMU and starting it again on the same disk (restart %d of this VM). Console tail:\n%s",
				s.Round(time.Second), what, n, v.con.tail(5))
			v.kill()
			if err := v.startQEMU(); err != nil {
				return "", v.failf("watchdog restart during %s: %v", what, err)
			}
			continue
		}
		id, err := v.probeBoot(ctx)
		if err == nil && id != "" && id != prev {
			return id, nil
		}
		if err != nil {
			lastErr = err
		}
		if ctx.Err() != nil {
			return "", v.failf("timed out after %s waiting for %s (SSH answering with a new boot id); last ssh error: %v",
				v.o.BootTimeout, what, firstLine(fmt.Sprint(lastErr)))
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// failf builds an error that shows the console tail.
func (v *VM) failf(format string, args ...any) error {
	return fmt.Errorf("vm: %s\n--- console tail (%s):\n%s", fmt.Sprintf(format, args...), v.Console(), v.con.tail(30))
}

func (v *VM) waitSystemRunning(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	t := time.Now()
	out, err := v.Run(ctx, "systemctl is-system-running --wait || true")
	if err != nil {
		return fmt.Errorf("vm: waiting for systemctl is-system-running: %w", err)
	}
	state := strings.TrimSpace(out)
	analyze, _ := v.Run(ctx, "systemd-analyze time 2>&1 | head -n1 || true")
	switch state {
	case "running":
		v.logf("system %s after %s more (guest: %s)", state, time.Since(t).Round(100*time.Millisecond), strings.TrimSpace(analyze))
		return nil
	case "degraded":
		failed, _ := v.Run(ctx, "systemctl --failed --no-legend --plain || true")
		v.logf("system degraded; failed units:\n%s", strings.TrimSpace(failed))
		return nil
	}
	return v.failf("systemctl is-system-running --wait says %q", state)
}

var (
	reRestart  = regexp.MustCompile(`reboot: Restarting system`)
	rePowerOff = regexp.MustCompile(`reboot: Power down`)
)

// systemctl runs `systemctl VERB` (reboot, poweroff): the connection may drop
// before ssh returns, which is not an error here.
func (v *VM) systemctl(ctx context.Context, verb string) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	_, err := v.Run(cctx, "systemctl "+verb)
	var ee *ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Status == 255) && cctx.Err() == nil {
		return fmt.Errorf("vm: systemctl %s: %w", verb, err)
	}
	return nil
}

// Reboot runs `systemctl reboot` and waits for the new boot (boot id changed,
// SSH answering). Shutdown is the time until the console shows the kernel
// restarting; Boot from then until SSH answers.
func (v *VM) Reboot(ctx context.Context) (Timing, error) {
	prev, err := v.BootID(ctx)
	if err != nil {
		return Timing{}, fmt.Errorf("vm: reboot: the VM does not answer before it: %w", err)
	}
	mark := v.con.mark()
	t0 := time.Now()
	v.logf("systemctl reboot (boot %s)", prev)
	if err := v.systemctl(ctx, "reboot"); err != nil {
		return Timing{}, err
	}
	sctx, cancel := context.WithTimeout(ctx, v.o.ShutdownTimeout)
	err = v.con.waitFor(sctx, mark, reRestart, v.current().done)
	cancel()
	if err != nil {
		return Timing{}, v.failf("reboot: waiting %s for the console to show %q: %v", v.o.ShutdownTimeout, reRestart, err)
	}
	t1 := time.Now()
	v.con.resetSilence()
	v.stopMaster() // its TCP connection may not have seen the guest go
	tm := Timing{Shutdown: t1.Sub(t0)}
	id, err := v.waitBoot(ctx, prev, "the boot after systemctl reboot")
	if err != nil {
		return tm, err
	}
	tm.Boot = time.Since(t1)
	v.logf("rebooted (boot %s): %s", id, tm)
	return tm, nil
}

// Poweroff runs `systemctl poweroff`, waits for QEMU to exit by itself (an
// error if it has to be killed after ShutdownTimeout), then starts QEMU again
// on the same overlay and waits for SSH.
func (v *VM) Poweroff(ctx context.Context) (Timing, error) {
	prev, err := v.BootID(ctx)
	if err != nil {
		return Timing{}, fmt.Errorf("vm: poweroff: the VM does not answer before it: %w", err)
	}
	p := v.current()
	mark := v.con.mark()
	t0 := time.Now()
	v.logf("systemctl poweroff (boot %s)", prev)
	if err := v.systemctl(ctx, "poweroff"); err != nil {
		return Timing{}, err
	}
	select {
	case <-p.done:
	case <-time.After(v.o.ShutdownTimeout):
		err := v.failf("poweroff: QEMU did not exit within %s; killed it", v.o.ShutdownTimeout)
		v.kill()
		return Timing{}, err
	case <-ctx.Done():
		return Timing{}, v.failf("poweroff: %v while waiting for QEMU to exit", ctx.Err())
	}
	tm := Timing{Shutdown: p.exited.Sub(t0)}
	v.stopMaster()
	// The console follower polls the file: give it a moment for the last lines.
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Second)
	if err := v.con.waitFor(wctx, mark, rePowerOff, nil); err != nil {
		v.logf("poweroff: QEMU exited (%v) but the console never showed %q", p.err, rePowerOff)
	}
	wcancel()
	t1 := time.Now()
	if err := v.startQEMU(); err != nil {
		return tm, err
	}
	id, err := v.waitBoot(ctx, prev, "the boot after systemctl poweroff")
	if err != nil {
		return tm, err
	}
	tm.Boot = time.Since(t1)
	v.logf("powered off and on (boot %s): %s", id, tm)
	return tm, nil
}

// PowerCut SIGKILLs QEMU (no shutdown at all) and starts it again on the same
// disk. Shutdown is the time the kill took; Boot until SSH answers.
func (v *VM) PowerCut(ctx context.Context) (Timing, error) {
	prev, _ := v.probeBoot(ctx) // may be mid-boot; any later id differs
	t0 := time.Now()
	v.logf("power cut (SIGKILL QEMU, boot %s)", prev)
	v.kill()
	tm := Timing{Shutdown: time.Since(t0)}
	v.conMark("power cut at %s", time.Now().Format(time.RFC3339))
	t1 := time.Now()
	if err := v.startQEMU(); err != nil {
		return tm, err
	}
	id, err := v.waitBoot(ctx, prev, "the boot after a power cut")
	if err != nil {
		return tm, err
	}
	tm.Boot = time.Since(t1)
	v.logf("power cut and on (boot %s): %s", id, tm)
	return tm, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return tailLines(string(b), n)
}
