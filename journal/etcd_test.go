package journal

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdBin finds the test bed's etcd: $ERD_ETCD_BIN, else the repo's
// _output/bin/etcd-3.6.16/etcd. These tests need a real etcd and fail
// without one.
func etcdBin(t testing.TB) string {
	t.Helper()
	p := os.Getenv("ERD_ETCD_BIN")
	if p == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		p = filepath.Join(filepath.Dir(wd), "_output", "bin", "etcd-3.6.16", "etcd")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("etcd binary: %v: build it with `make etcd-bins` or set ERD_ETCD_BIN", err)
	}
	return p
}

func freeURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

// testEtcd is one etcd process on 127.0.0.1, its member named name.
type testEtcd struct {
	name, dataDir, clientURL, peerURL string
	args                              []string
	cmd                               *exec.Cmd
	logPath                           string
	cli                               *clientv3.Client
	tls                               *tls.Config // the test's client's, when etcd serves TLS
}

// startEtcd starts an etcd on dataDir (a new member, or the data it holds)
// with new ports; extra flags follow.
func startEtcd(t testing.TB, name, dataDir, peerURL string, extra ...string) *testEtcd {
	t.Helper()
	e := &testEtcd{name: name, dataDir: dataDir, clientURL: freeURL(t), peerURL: peerURL, args: extra}
	if e.peerURL == "" {
		e.peerURL = freeURL(t)
	}
	e.start(t)
	t.Cleanup(func() { e.stop(t) })
	return e
}

func (e *testEtcd) start(t testing.TB) {
	t.Helper()
	args := append([]string{"--name", e.name, "--data-dir", e.dataDir,
		"--listen-client-urls", e.clientURL, "--advertise-client-urls", e.clientURL,
		"--listen-peer-urls", e.peerURL, "--initial-advertise-peer-urls", e.peerURL,
		"--initial-cluster", e.name + "=" + e.peerURL, "--log-level", "warn"}, e.args...)
	e.logPath = filepath.Join(t.TempDir(), e.name+".log")
	logf, err := os.Create(e.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	e.cmd = exec.Command(etcdBin(t), args...)
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.cli, err = clientv3.New(clientv3.Config{Endpoints: []string{e.clientURL}, TLS: e.tls, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := e.cli.Get(ctx, "health")
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd %s did not answer: %v\n%s", e.name, err, e.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *testEtcd) logTail() string {
	b, _ := os.ReadFile(e.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop stops etcd the way kubelet does, SIGTERM, and waits for it.
func (e *testEtcd) stop(t testing.TB) {
	if e.cmd == nil {
		return
	}
	e.cli.Close()
	e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		e.cmd.Process.Kill()
		<-done
	}
	e.cmd = nil
}

func (e *testEtcd) rev(t testing.TB) int64 {
	t.Helper()
	resp, err := e.cli.Get(context.Background(), "\x00", clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// snapshot saves the snapshot that a restore starts from and returns its
// revision, taken from etcd before and after: nothing may write meanwhile.
func (e *testEtcd) snapshot(t testing.TB, path string) int64 {
	t.Helper()
	before := e.rev(t)
	rc, err := e.cli.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if after := e.rev(t); after != before {
		t.Fatalf("etcd moved from revision %d to %d during the snapshot", before, after)
	}
	return before
}

// restoreSnapshot makes dataDir a one-member etcd data dir from snap with
// the test bed's etcdutl, which lies beside etcd.
func restoreSnapshot(t testing.TB, snap, dataDir, name, peerURL string, extra ...string) {
	t.Helper()
	args := append([]string{"snapshot", "restore", snap,
		"--data-dir", dataDir, "--name", name, "--initial-cluster", name + "=" + peerURL,
		"--initial-advertise-peer-urls", peerURL}, extra...)
	out, err := exec.Command(filepath.Join(filepath.Dir(etcdBin(t)), "etcdutl"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("etcdutl snapshot restore: %v\n%s", err, out)
	}
}

// keyState is what a restore must bring back of a key.
type keyState struct {
	value                         string
	create, mod, version, leaseID int64
}

func (e *testEtcd) keys(t testing.TB) map[string]keyState {
	t.Helper()
	resp, err := e.cli.Get(context.Background(), "", clientv3.WithFromKey())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]keyState{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = keyState{string(kv.Value), kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease}
	}
	return out
}

// runFollower runs f until the returned stop is called, and returns Run's
// result from stop.
func runFollower(f *Follower) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
}

// waitDurable waits until the follower has fsynced revision rev.
func waitDurable(t testing.TB, f *Follower, rev int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for f.Stats().DurableRev < rev {
		if time.Now().After(deadline) {
			t.Fatalf("follower durable at %+v, want revision %d", f.Stats(), rev)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustPut(t testing.TB, cli *clientv3.Client, key, val string, opts ...clientv3.OpOption) {
	t.Helper()
	if _, err := cli.Put(context.Background(), key, val, opts...); err != nil {
		t.Fatal(err)
	}
}

func mustGrant(t testing.TB, cli *clientv3.Client, ttl int64) clientv3.LeaseID {
	t.Helper()
	l, err := cli.Grant(context.Background(), ttl)
	if err != nil {
		t.Fatal(err)
	}
	return l.ID
}

func mustTxn(t testing.TB, cli *clientv3.Client, ops ...clientv3.Op) {
	t.Helper()
	if _, err := cli.Txn(context.Background()).Then(ops...).Commit(); err != nil {
		t.Fatal(err)
	}
}

func diffKeys(want, got map[string]keyState) []string {
	var out []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			out = append(out, fmt.Sprintf("%s missing", k))
		} else if g != w {
			out = append(out, fmt.Sprintf("%s: got %+v, want %+v", k, g, w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("%s: extra", k))
		}
	}
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("... %d more", len(out)-20))
	}
	return out
}
