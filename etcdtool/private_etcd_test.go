package etcdtool

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The flags every etcd from 3.5 to 3.7 takes, under the same meaning. Flags
// that changed (--logger, --enable-v2, the --experimental-* renamed in 3.6
// and removed in 3.7) must not be used: the private etcd runs whatever image
// the snapshot was taken with.
var flagsOfAllVersions = []string{
	"--name", "--data-dir", "--listen-client-urls", "--advertise-client-urls",
	"--listen-peer-urls", "--quota-backend-bytes", "--max-txn-ops",
}

func TestPrivateEtcdArgs(t *testing.T) {
	if got := privateEtcdArgs("cp-7", 500); got[len(got)-1] != "--max-txn-ops=500" {
		t.Errorf("a replay of 500-event revisions gets %q, want --max-txn-ops=500 last", got)
	}
	got := privateEtcdArgs("cp-7", 128)
	want := []string{"etcd",
		"--name=cp-7",
		"--data-dir=/var/lib/etcd",
		"--listen-client-urls=unix:///run/etcd-ramdisk/etcd.sock",
		"--advertise-client-urls=unix://localhost:0",
		"--listen-peer-urls=http://127.0.0.1:2380",
		"--quota-backend-bytes=8589934592",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("args =\n%q\nwant\n%q", got, want)
	}
	for _, a := range got[1:] {
		name, _, _ := strings.Cut(a, "=")
		if !slices.Contains(flagsOfAllVersions, name) {
			t.Errorf("flag %s is not one etcd 3.5, 3.6 and 3.7 all take", name)
		}
	}
	if len(privateSocket) > maxSocketPath {
		t.Errorf("the socket's container path %s is too long for a UNIX socket", privateSocket)
	}
}

func TestCheckSocketPath(t *testing.T) {
	for _, tt := range []struct {
		n  int
		ok bool
	}{{20, true}, {107, true}, {108, false}, {200, false}} {
		p := "/" + strings.Repeat("s", tt.n-1)
		err := checkSocketPath(p)
		if (err == nil) != tt.ok {
			t.Errorf("%d bytes: err = %v, want ok %v", tt.n, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "TMPDIR") {
			t.Errorf("%d bytes: %v does not say how to fix it", tt.n, err)
		}
	}
}

func TestCheckMemberDir(t *testing.T) {
	dir := t.TempDir()
	if err := checkMemberDir(dir); err == nil {
		t.Error("a data dir without member/ was taken: etcd would make a new cluster there")
	}
	wal := filepath.Join(dir, "member", "wal")
	if err := os.MkdirAll(wal, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := checkMemberDir(dir); err == nil {
		t.Error("a member without a WAL file was taken: etcd would make a new cluster there")
	}
	if err := os.WriteFile(filepath.Join(wal, "0000000000000000-0000000000000000.wal"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkMemberDir(dir); err != nil {
		t.Errorf("a restored data dir: %v", err)
	}
}

// fakeSidecar stands for the running etcd container.
type fakeSidecar struct {
	exited chan struct{}
	code   uint32
	out    string
}

func (f *fakeSidecar) Exited() <-chan struct{}     { return f.exited }
func (f *fakeSidecar) ExitStatus() (uint32, error) { return f.code, nil }
func (f *fakeSidecar) Output() string              { return f.out }

// fakeEtcd serves /health on a UNIX socket, unhealthy for the first calls.
func fakeEtcd(t *testing.T, unhealthy int32) (string, *atomic.Int32) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "etcd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" || r.URL.Query().Get("exclude") != "NOSPACE" {
			http.NotFound(w, r)
			return
		}
		if calls.Add(1) <= unhealthy {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"health":"false","reason":"RAFT NO LEADER"}`))
			return
		}
		w.Write([]byte(`{"health":"true","reason":""}`))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock, &calls
}

func TestWaitHealthy(t *testing.T) {
	t.Run("answers once it has a leader", func(t *testing.T) {
		sock, calls := fakeEtcd(t, 3)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := waitHealthy(ctx, socketClient(sock), &fakeSidecar{exited: make(chan struct{})}); err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 4 {
			t.Errorf("asked %d times, want 4", calls.Load())
		}
	})
	t.Run("exits first: its own words", func(t *testing.T) {
		sc := &fakeSidecar{exited: make(chan struct{}), code: 1, out: `{"level":"fatal","msg":"failed to open backend"}` + "\n"}
		close(sc.exited)
		err := waitHealthy(context.Background(), socketClient(filepath.Join(t.TempDir(), "none.sock")), sc)
		if err == nil || !strings.Contains(err.Error(), "exited 1") || !strings.Contains(err.Error(), "failed to open backend") {
			t.Fatalf("err = %v, want etcd's exit and last words", err)
		}
	})
	t.Run("never answers: bounded by ctx", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		sc := &fakeSidecar{exited: make(chan struct{}), out: "starting\n"}
		err := waitHealthy(ctx, socketClient(filepath.Join(t.TempDir(), "none.sock")), sc)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "starting") {
			t.Fatalf("err = %v, want the deadline and what etcd logged", err)
		}
	})
}

func TestLastWords(t *testing.T) {
	stack := strings.Repeat("goroutine 1 [running]:\n\tgo.etcd.io/etcd/server/v3/embed.StartEtcd()\n", 100)
	tests := []struct{ name, out, want string }{
		{"nothing", "", "(it wrote nothing)"},
		{"a panic: its log line, not the stack", `{"level":"info","msg":"opened backend"}` + "\n" +
			`{"level":"error","msg":"retrying"}` + "\n" + `{"level":"panic","msg":"failed to open WAL"}` + "\n" +
			"panic: failed to open WAL\n\n" + stack, `{"level":"panic","msg":"failed to open WAL"}`},
		{"a bare Go panic", `{"level":"info","msg":"bootstrap successfully"}` + "\n" + `{"level":"error","msg":"earlier"}` + "\n" +
			"panic: cannot use none as id\n\n" + stack, "panic: cannot use none as id"},
		{"fatal before error", `{"level":"fatal","msg":"cannot access data directory"}` + "\n" + `{"level":"error","msg":"closing"}`, `{"level":"fatal","msg":"cannot access data directory"}`},
		{"an error only", `{"level":"error","msg":"listen unix: bind: address already in use"}` + "\n" + `{"level":"info","msg":"closed"}`, `{"level":"error","msg":"listen unix: bind: address already in use"}`},
		{"plain text: its end", "flag provided but not defined: -foo\nUsage:\n", "flag provided but not defined: -foo\nUsage:"},
	}
	for _, tt := range tests {
		if got := lastWords(tt.out); got != tt.want {
			t.Errorf("%s: lastWords = %q, want %q", tt.name, got, tt.want)
		}
	}
}
