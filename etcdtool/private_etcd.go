package etcdtool

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
)

// A private etcd is etcd itself, from the snapshot's image, run on a restored
// data dir so that etcd-ramdisk can write to it through etcd's own API (a
// replay of what changed since the snapshot) before kubelet starts the
// cluster's etcd. Nothing but this process may reach it: its client endpoint
// is a UNIX socket in a 0700 directory only the host sees, and its peer
// listener is on loopback in the sidecar's own network namespace.

// Paths and URLs inside the private etcd's container.
const (
	privateDataDir = "/var/lib/etcd"
	privateRunDir  = "/run/etcd-ramdisk"
	privateSocket  = privateRunDir + "/etcd.sock"
	// etcd always listens for peers; the sidecar's network namespace has
	// only its own loopback, so nothing outside reaches this one.
	privatePeerURL = "http://127.0.0.1:2380"
	// etcd 3.5 and 3.6 refuse the socket's own URL as an advertised client
	// URL (they want host:port; 3.7 takes either). It is only recorded in the
	// member's attributes, which the cluster's etcd overwrites with its own
	// when it next starts; no one dials it.
	privateAdvertiseURL = "unix://localhost:0"
	// A replay must never stop at the quota; the cluster's etcd enforces
	// its own again when it starts.
	privateQuotaBytes = 8 << 30
)

// maxSocketPath is the longest UNIX socket path: sun_path holds 108 bytes,
// the terminating NUL included.
const maxSocketPath = 107

// Probing etcd's health while it starts.
const (
	healthPoll    = 50 * time.Millisecond
	healthTimeout = 2 * time.Second
	// healthPath leaves a NOSPACE alarm out: etcd answers, and a replay
	// disarms it under the larger quota.
	healthPath = "/health?exclude=NOSPACE"
)

// PrivateEtcdOptions say which etcd runs on which data dir.
type PrivateEtcdOptions struct {
	Image   *erdrt.Image // the image the snapshot was taken with
	DataDir string       // host path of a data dir holding member/, as restored
	Name    string       // the member's name, the manifest's --name
	// MaxTxnOps raises etcd's --max-txn-ops (default 128) for a replay whose
	// largest revision holds more events (a lease revoked with its keys).
	MaxTxnOps int
}

// PrivateEtcd is an etcd this process started and alone can reach.
type PrivateEtcd struct {
	sc     *erdrt.RunningSidecar
	socket string
}

// StartPrivateEtcd runs etcd from opts.Image on opts.DataDir in a locked-down
// sidecar and returns once etcd answers on its socket. It fails when etcd
// exits first, quoting etcd's own last words, or when ctx ends.
func StartPrivateEtcd(ctx context.Context, rt *erdrt.Runtime, opts PrivateEtcdOptions) (_ *PrivateEtcd, err error) {
	if err := checkMemberDir(opts.DataDir); err != nil {
		return nil, err
	}
	start := time.Now()
	sc, err := rt.StartSidecar(ctx, erdrt.SidecarOptions{
		Image:   opts.Image,
		Args:    privateEtcdArgs(opts.Name, opts.MaxTxnOps),
		Mounts:  []erdrt.Mount{{Host: opts.DataDir, Container: privateDataDir}},
		RunDir:  privateRunDir,
		Purpose: "etcd",
	})
	if err != nil {
		return nil, fmt.Errorf("private etcd from %s: %w", opts.Image.Reference, err)
	}
	e := &PrivateEtcd{sc: sc, socket: filepath.Join(sc.RunDir(), filepath.Base(privateSocket))}
	defer func() {
		if err != nil {
			_ = sc.Stop(ctx, erdrt.StopGrace)
		}
	}()
	if err := checkSocketPath(e.socket); err != nil {
		return nil, err
	}
	if err := waitHealthy(ctx, socketClient(e.socket), sc); err != nil {
		return nil, fmt.Errorf("private etcd from %s on %s: %w", opts.Image.Reference, opts.DataDir, err)
	}
	logging.G(ctx).Debug("private etcd answers", "image", opts.Image.Reference, "container", sc.ID(), "socket", e.socket, "seconds", time.Since(start).Seconds())
	return e, nil
}

// privateEtcdArgs are the same for etcd 3.5, 3.6 and 3.7: only flags all
// three take. The member's cluster and peer URLs come from the data dir;
// etcd reads the --initial-* flags only for a data dir it initialises.
func privateEtcdArgs(name string, maxTxnOps int) []string {
	args := []string{"etcd", // found in the image's PATH, as kubeadm's manifest does
		"--name=" + name,
		"--data-dir=" + privateDataDir,
		"--listen-client-urls=unix://" + privateSocket,
		"--advertise-client-urls=" + privateAdvertiseURL,
		"--listen-peer-urls=" + privatePeerURL,
		"--quota-backend-bytes=" + strconv.FormatInt(privateQuotaBytes, 10),
	}
	if maxTxnOps > defaultMaxTxnOps {
		args = append(args, "--max-txn-ops="+strconv.Itoa(maxTxnOps))
	}
	return args
}

// defaultMaxTxnOps is etcd's own default for --max-txn-ops.
const defaultMaxTxnOps = 128

// checkMemberDir refuses a data dir without a member's WAL: etcd would take
// it for a new member and make a new, empty cluster there.
func checkMemberDir(dataDir string) error {
	wal := filepath.Join(manifest.MemberDir(dataDir), "wal")
	files, err := filepath.Glob(filepath.Join(wal, "*.wal"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no WAL file in %s", wal)
	}
	if err != nil {
		return fmt.Errorf("private etcd: data dir %s holds no member: %w", dataDir, err)
	}
	return nil
}

func checkSocketPath(p string) error {
	if len(p) > maxSocketPath {
		return fmt.Errorf("private etcd: socket path %s is %d bytes, longer than a UNIX socket's %d: set a shorter TMPDIR", p, len(p), maxSocketPath)
	}
	return nil
}

// SocketPath is the host path of etcd's client socket.
func (e *PrivateEtcd) SocketPath() string { return e.socket }

// Endpoint is the socket as an etcd client endpoint (go.etcd.io/etcd/client/v3).
func (e *PrivateEtcd) Endpoint() string { return "unix://" + e.socket }

// Exited is closed when etcd has ended, also when it died on its own.
func (e *PrivateEtcd) Exited() <-chan struct{} { return e.sc.Exited() }

// Output is the last of what etcd logged, for an error message.
func (e *PrivateEtcd) Output() string { return e.sc.Output() }

// Stop ends etcd with SIGTERM (it commits its database and closes its WAL),
// SIGKILL after grace, and removes its container; safe to call twice. The
// error says when etcd had to be killed.
func (e *PrivateEtcd) Stop(ctx context.Context, grace time.Duration) error {
	if err := e.sc.Stop(ctx, grace); err != nil {
		return fmt.Errorf("stop private etcd: %w", err)
	}
	return nil
}

// sidecarState is what waitHealthy watches of the sidecar.
type sidecarState interface {
	Exited() <-chan struct{}
	ExitStatus() (uint32, error)
	Output() string
}

// waitHealthy polls etcd's /health until it says true.
func waitHealthy(ctx context.Context, client *http.Client, sc sidecarState) error {
	var last error
	for {
		if last = probeHealth(ctx, client); last == nil {
			return nil
		}
		select {
		case <-sc.Exited():
			code, err := sc.ExitStatus()
			if err != nil {
				return fmt.Errorf("etcd ended before it answered (%v): %s", err, lastWords(sc.Output()))
			}
			return fmt.Errorf("etcd exited %d before it answered: %s", code, lastWords(sc.Output()))
		case <-ctx.Done():
			return fmt.Errorf("etcd did not answer (%v): %w; it logged: %s", last, ctx.Err(), lastWords(sc.Output()))
		case <-time.After(healthPoll):
		}
	}
}

func probeHealth(ctx context.Context, client *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://etcd"+healthPath, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return err
	}
	var h struct{ Health, Reason string }
	if err := json.Unmarshal(body, &h); err != nil || h.Health != "true" {
		return fmt.Errorf("/health: %s: %s", resp.Status, truncate(strings.TrimSpace(string(body)), 200))
	}
	return nil
}

// socketClient speaks HTTP to etcd over its socket, whatever a URL's host.
func socketClient(socket string) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		},
	}}
}

// lastWords says why etcd stopped: its last fatal or panic log line, else
// a Go panic's first line (the stack trace after it says less), else its
// last error log line, else the end of its output.
func lastWords(out string) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return "(it wrote nothing)"
	}
	lines := strings.Split(out, "\n")
	for _, says := range []func(string) bool{
		func(l string) bool {
			return strings.Contains(l, `"level":"fatal"`) || strings.Contains(l, `"level":"panic"`)
		},
		func(l string) bool { return strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") },
		func(l string) bool { return strings.Contains(l, `"level":"error"`) },
	} {
		for i := len(lines) - 1; i >= 0; i-- {
			if says(lines[i]) {
				return truncate(lines[i], 2000)
			}
		}
	}
	if len(out) > 2000 {
		out = "…" + out[len(out)-2000:]
	}
	return out
}
