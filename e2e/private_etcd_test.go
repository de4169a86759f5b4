package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// etcd itself, from the snapshot's image, on the data dir restore wrote,
// before kubelet starts: it serves the restored keys and takes writes over a
// UNIX socket only this process reaches, opens no port on the host, and once
// stopped leaves no container or FIFO directory, and a data dir the cluster's
// etcd starts from with the write in it.
func TestPrivateEtcd(t *testing.T) {
	for _, img := range etcdReleases {
		t.Run(img.name, func(t *testing.T) { privateEtcd(t, img.ref) })
	}
}

func privateEtcd(t *testing.T, ref string) {
	n := newNode(t, testbed.NodeOptions{Image: ref})
	n.kv("put", "/registry/private/restored", "from-the-snapshot")
	n.mustTool("backup")
	s := n.list().Snapshots[0]
	n.reboot()
	n.mustTool("restore")

	rt, ctx, err := erdrt.Open(n.ctx, n.Containerd.Address, "k8s.io")
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	img, err := rt.ImageByDigest(ctx, s.Image.Reference, digest.Digest(s.Image.Digest))
	if err != nil {
		t.Fatal(err)
	}
	tmp := privateTMPDIR(t)
	brokenEtcd(t, ctx, rt, etcdtool.PrivateEtcdOptions{Image: img, DataDir: filepath.Join(n.Dir, "broken-data"), Name: n.Options.NodeName})
	if left := ioDirsIn(t, tmp); len(left) != 0 {
		t.Errorf("FIFO directories left after a failed start: %v", left)
	}

	start := time.Now()
	e, err := etcdtool.StartPrivateEtcd(ctx, rt, etcdtool.PrivateEtcdOptions{Image: img, DataDir: n.DataDir(), Name: n.Options.NodeName})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("private etcd %s answered in %s on %s", ref, time.Since(start).Round(time.Millisecond), e.SocketPath())
	stopped := false
	defer func() {
		if !stopped {
			_ = e.Stop(context.Background(), time.Second)
		}
	}()

	c := unixHTTP(e.SocketPath())
	if h := getJSON(t, c, "/health"); h["health"] != "true" {
		t.Errorf("/health = %v", h)
	}
	if got := gatewayGet(t, c, "/registry/private/restored"); got != "from-the-snapshot" {
		t.Errorf("restored key = %q over the socket", got)
	}
	gatewayPut(t, c, "/registry/private/replayed", "through-the-socket")
	ctr := privateEtcdContainer(t, ctx, rt)
	checkLockedDown(t, "private etcd", ctr.spec)
	if !hasNamespace(ctr.spec, specs.NetworkNamespace) {
		t.Error("private etcd: want a network namespace of its own")
	}
	// Only the data dir and the socket's directory, both writable.
	if got, want := bindMountsOf(ctr.spec), map[string]bool{"/var/lib/etcd": false, "/run/etcd-ramdisk": false}; !mapsEqual(got, want) {
		t.Errorf("private etcd bind mounts (dest→read-only) = %v, want %v", got, want)
	}
	checkReachableOnlyBySocket(t, ctr, e.SocketPath())
	ioDir := filepath.Dir(filepath.Dir(e.SocketPath()))
	if !strings.HasPrefix(filepath.Base(ioDir), "etcd-ramdisk-io-") {
		t.Fatalf("socket %s is not in the sidecar's FIFO directory", e.SocketPath())
	}

	start = time.Now()
	if err := e.Stop(ctx, erdrt.StopGrace); err != nil {
		t.Errorf("stop: %v (etcd logged: %s)", err, tail(e.Output(), 2000))
	}
	stopped = true
	t.Logf("private etcd stopped in %s", time.Since(start).Round(time.Millisecond))
	if err := e.Stop(ctx, erdrt.StopGrace); err != nil {
		t.Errorf("second stop: %v", err)
	}
	select {
	case <-e.Exited():
	default:
		t.Error("Exited is still open after Stop")
	}
	if left := sidecarsLeft(t, ctx, rt); len(left) != 0 {
		t.Errorf("containers left after stop: %v", left)
	}
	if _, err := os.Stat(ioDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FIFO directory %s left after stop: %v", ioDir, err)
	}
	if left := ioDirsIn(t, tmp); len(left) != 0 {
		t.Errorf("FIFO directories left after stop: %v", left)
	}

	n.startEtcd()
	if got := n.kv("get", "/registry/private/restored"); got != "from-the-snapshot" {
		t.Errorf("the cluster's etcd reads restored = %q", got)
	}
	if got := n.kv("get", "/registry/private/replayed"); got != "through-the-socket" {
		t.Errorf("the cluster's etcd reads the private etcd's write = %q", got)
	}
}

// privateTMPDIR gives this test's FIFO directories a TMPDIR of their own,
// short enough for the socket's path, so that what is left can be counted.
func privateTMPDIR(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "erd-private-etcd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv("TMPDIR", dir)
	return dir
}

func ioDirsIn(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "etcd-ramdisk-io-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// brokenEtcd: etcd that exits while starting (its WAL is garbage) fails the
// start with its own words, and leaves no container behind.
func brokenEtcd(t *testing.T, ctx context.Context, rt *erdrt.Runtime, opts etcdtool.PrivateEtcdOptions) {
	t.Helper()
	wal := filepath.Join(opts.DataDir, "member", "wal")
	if err := os.MkdirAll(wal, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wal, "0000000000000000-0000000000000000.wal"), []byte(strings.Repeat("garbage ", 4096)), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e, err := etcdtool.StartPrivateEtcd(ctx, rt, opts)
	if err == nil {
		_ = e.Stop(ctx, time.Second)
		t.Fatal("etcd started on a garbage WAL")
	}
	t.Logf("on a garbage WAL, after %s: %s", time.Since(start).Round(time.Millisecond), err.Error())
	if !strings.Contains(err.Error(), "exited") || strings.Contains(err.Error(), "goroutine") {
		t.Errorf("error does not say etcd exited, in its own words (not a stack trace): %v", err)
	}
	if left := sidecarsLeft(t, ctx, rt); len(left) != 0 {
		t.Errorf("containers left after a failed start: %v", left)
	}
}

// unixHTTP speaks HTTP over the socket, as a replay would without client/v3.
func unixHTTP(socket string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
}

func callJSON(t *testing.T, c *http.Client, path string, body any) map[string]any {
	t.Helper()
	var resp *http.Response
	var err error
	if body == nil {
		resp, err = c.Get("http://etcd" + path)
	} else {
		raw, _ := json.Marshal(body)
		resp, err = c.Post("http://etcd"+path, "application/json", strings.NewReader(string(raw)))
	}
	if err != nil {
		t.Fatalf("%s over the socket: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s %s (%v)", path, resp.Status, raw, err)
	}
	return out
}

func getJSON(t *testing.T, c *http.Client, path string) map[string]any {
	t.Helper()
	return callJSON(t, c, path, nil)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// gatewayGet reads one key through etcd's JSON gateway (/v3/kv/range).
func gatewayGet(t *testing.T, c *http.Client, key string) string {
	t.Helper()
	out := callJSON(t, c, "/v3/kv/range", map[string]string{"key": b64(key)})
	kvs, _ := out["kvs"].([]any)
	if len(kvs) != 1 {
		t.Fatalf("range %s = %v", key, out)
	}
	v, err := base64.StdEncoding.DecodeString(kvs[0].(map[string]any)["value"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

func gatewayPut(t *testing.T, c *http.Client, key, value string) {
	t.Helper()
	callJSON(t, c, "/v3/kv/put", map[string]string{"key": b64(key), "value": b64(value)})
}

// sidecarsLeft lists the containers labelled as etcd-ramdisk's sidecars.
func sidecarsLeft(t *testing.T, ctx context.Context, rt *erdrt.Runtime) []string {
	t.Helper()
	ctrs, err := rt.Client.Containers(ctx, fmt.Sprintf("labels.%q", erdrt.LabelSidecar))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range ctrs {
		ids = append(ids, c.ID())
	}
	return ids
}

type sidecarContainer struct {
	id   string
	pid  uint32
	spec *specs.Spec
}

func privateEtcdContainer(t *testing.T, ctx context.Context, rt *erdrt.Runtime) sidecarContainer {
	t.Helper()
	ctrs, err := rt.Client.Containers(ctx, fmt.Sprintf("labels.%q==etcd", erdrt.LabelSidecar))
	if err != nil || len(ctrs) != 1 {
		t.Fatalf("sidecars labelled %s=etcd: %d, %v; want 1", erdrt.LabelSidecar, len(ctrs), err)
	}
	task, err := ctrs[0].Task(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ctrs[0].Spec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return sidecarContainer{id: ctrs[0].ID(), pid: task.Pid(), spec: spec}
}

// checkReachableOnlyBySocket: the socket sits in a 0700 directory; etcd's
// network namespace is not the host's and its only TCP listener is the peer
// port on its own loopback; nothing answers on the host's etcd ports.
func checkReachableOnlyBySocket(t *testing.T, c sidecarContainer, socket string) {
	t.Helper()
	if fi, err := os.Stat(filepath.Dir(socket)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	host, err1 := os.Readlink("/proc/self/ns/net")
	its, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", c.pid))
	if err1 != nil || err2 != nil || host == its {
		t.Errorf("etcd's network namespace %q (%v), the host's %q (%v): want its own", its, err2, host, err1)
	}
	inside := tcpListeners(t, fmt.Sprintf("/proc/%d/net/tcp", c.pid))
	if len(inside) != 1 || inside[0] != "127.0.0.1:2380" {
		t.Errorf("etcd's TCP listeners in its namespace = %v, want only its peer port on loopback", inside)
	}
	for _, addr := range []string{"127.0.0.1:2379", "127.0.0.1:2380", "127.0.0.2:2380", "127.0.0.1:2381"} {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s answers on the host while only the private etcd runs", addr)
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial %s: %v, want connection refused", addr, err)
		}
	}
}

// tcpListeners reads the listening IPv4 sockets of a /proc/<pid>/net/tcp.
func tcpListeners(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "0A" { // TCP_LISTEN
			continue
		}
		var a, b, c, d byte
		var port uint16
		if _, err := fmt.Sscanf(fields[1], "%02X%02X%02X%02X:%04X", &d, &c, &b, &a, &port); err != nil {
			t.Fatalf("%s: %q: %v", path, fields[1], err)
		}
		out = append(out, fmt.Sprintf("%d.%d.%d.%d:%d", a, b, c, d, port))
	}
	return out
}
