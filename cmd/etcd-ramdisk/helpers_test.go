package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// kubeadmManifest is the etcd static pod manifest kubeadm 1.34 writes.
const kubeadmManifest = "../../manifest/testdata/kubeadm-1.34-etcd-3.6.4.yaml"

// env is one in-process run's world: a temporary backup dir, kubeadm's
// manifest, a containerd socket that does not exist, off-host copies off,
// and stdout and the log captured.
type env struct {
	dir string
	g   globalOptions
	out *bytes.Buffer
	log *bytes.Buffer
	d   deps
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	// Every job sweeps TMPDIR for the FIFO directories of killed runs: keep
	// it to this test.
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	e := &env{dir: dir, out: &bytes.Buffer{}, log: &bytes.Buffer{}}
	e.g = globalOptions{
		Manifest: kubeadmManifest, ContainerdAddress: filepath.Join(dir, "containerd.sock"), Namespace: "k8s.io",
		BackupDir: filepath.Join(dir, "backups"), LockTimeout: 5 * time.Second,
		Runtime: erdrt.BackendContainerd, Nerdctl: "nerdctl", Timeout: time.Minute, PodUpdateWait: erdrt.DefaultPodUpdateWait,
		OffhostConfig: filepath.Join(dir, "offhost.yaml"),
	}
	e.d = deps{
		Stdout: e.out, Stderr: e.log,
		Logger:      slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OpenRuntime: erdrt.Open,
		SystemState: func(context.Context) string {
			t.Error("a backup that is not a shutdown backup asked systemd")
			return ""
		},
	}
	return e
}

// deadContainerd makes the runtime open although containerd never answers:
// every call to it fails, as after containerd died past the socket check.
// It gets a run past opening the runtime to what it does before asking
// containerd anything.
func (e *env) deadContainerd() {
	e.d.OpenRuntime = func(ctx context.Context, address, namespace string) (*erdrt.Runtime, context.Context, error) {
		conn, err := grpc.NewClient("unix://"+address, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, ctx, err
		}
		cl, err := containerd.NewWithConn(conn, containerd.WithDefaultNamespace(namespace))
		if err != nil {
			return nil, ctx, err
		}
		return &erdrt.Runtime{Client: cl, Namespace: namespace, Address: address}, namespaces.WithNamespace(ctx, namespace), nil
	}
}

func (e *env) store(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(e.g.BackupDir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// writeSnapshot stores a small fake snapshot through the store's own API.
func (e *env) writeSnapshot(t *testing.T, at time.Time, revision int64, kind store.Kind) *store.Snapshot {
	t.Helper()
	m := &store.Metadata{
		Time: at, Reason: store.ReasonCron, Node: "node1",
		Image: store.Image{Reference: "registry.k8s.io/etcd:3.6.4-0", Digest: "sha256:" + strings.Repeat("ab", 32)},
		Etcd:  store.EtcdStatus{Version: "3.6.4", Revision: revision, TotalKeys: 100, TotalSize: 4096},
		Member: store.Member{
			Name: "node1", InitialCluster: "node1=https://10.0.0.1:2380",
			InitialAdvertisePeerURLs: []string{"https://10.0.0.1:2380"}, DataDir: "/var/lib/etcd",
		},
	}
	if kind == store.Suspect {
		m.Suspect = "revision went backwards"
	}
	raw := bytes.Repeat([]byte("not really an etcd database "), 200)
	snap, err := e.store(t).Write(context.Background(), m, bytes.NewReader(raw), kind)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// wantExit checks the exit code err maps to and that the message holds
// every one of wants.
func wantExit(t *testing.T, err error, code int, wants ...string) {
	t.Helper()
	if got := exitCode(err); got != code {
		t.Fatalf("exit %d (%v), want %d", got, err, code)
	}
	for _, w := range wants {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not say %q", err, w)
		}
	}
}

// tree lists every path under dir with its content, to show nothing changed.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		entry := p
		if !de.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			entry += "=" + string(b)
		}
		out = append(out, entry)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
