package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/sys/unix"
)

// s3Server is a real S3-compatible server: versitygw with its POSIX backend
// (buckets are directories under root), listening on 127.0.0.1.
type s3Server struct {
	t      *testing.T
	root   string // buckets live here
	addr   string // 127.0.0.1:port
	tls    bool
	caFile string // the CA that signed the server's certificate, when tls
	cert   string
	key    string
	access string
	secret string
	cmd    *exec.Cmd
	done   chan struct{}
}

// startS3 starts a server on a free port with its buckets under root (a
// fresh directory when ""), stopped at the end of the test.
func startS3(t *testing.T, root string, withTLS bool) *s3Server {
	t.Helper()
	if root == "" {
		root = filepath.Join(t.TempDir(), "s3")
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &s3Server{t: t, root: root, addr: addr, tls: withTLS, access: "erdtestaccess", secret: "erd-test-secret-key-0123456789"}
	if withTLS {
		pki := filepath.Join(t.TempDir(), "pki")
		if err := testbed.GeneratePKI(pki, testbed.PKIOptions{NodeName: "s3"}); err != nil {
			t.Fatal(err)
		}
		s.caFile, s.cert, s.key = filepath.Join(pki, "etcd/ca.crt"), filepath.Join(pki, "etcd/server.crt"), filepath.Join(pki, "etcd/server.key")
	}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *s3Server) start() {
	s.t.Helper()
	args := []string{"--port", s.addr, "--access", s.access, "--secret", s.secret, "--quiet"}
	if s.tls {
		args = append(args, "--cert", s.cert, "--key", s.key)
	}
	args = append(args, "posix", s.root)
	s.cmd = exec.Command(filepath.Join(binDir, "versitygw"), args...)
	log, err := os.OpenFile(filepath.Join(filepath.Dir(s.root), filepath.Base(s.root)+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start versitygw (make testbed-bins builds it): %v", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}, log *os.File) { cmd.Wait(); log.Close(); close(done) }(s.cmd, s.done, log)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("versitygw on %s did not come up: %v", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the server with SIGTERM (a clean stop); kill with SIGKILL.
func (s *s3Server) stop() { s.signal(syscall.SIGTERM) }
func (s *s3Server) kill() { s.signal(syscall.SIGKILL) }

func (s *s3Server) signal(sig syscall.Signal) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *s3Server) endpoint() string {
	if s.tls {
		return "https://" + s.addr
	}
	return "http://" + s.addr
}

// makeBucket creates a bucket named after the test.
func (s *s3Server) makeBucket(t *testing.T) string {
	t.Helper()
	name := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	name = "b-" + strings.Trim(name, "-")
	tr, err := minio.DefaultTransport(s.tls)
	if err != nil {
		t.Fatal(err)
	}
	if s.tls {
		tr.TLSClientConfig.InsecureSkipVerify = true // only the test's own admin client
	}
	cl, err := minio.New(s.addr, &minio.Options{Creds: credentials.NewStaticV4(s.access, s.secret, ""), Secure: s.tls, Transport: tr, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket %s: %v", name, err)
	}
	return name
}

// identity is an age key pair whose identity file is root-only.
type identity struct {
	path, recipient string
}

func newIdentity(t *testing.T, dir, name string) identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("# test identity\n"+id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return identity{p, id.Recipient().String()}
}

// writePrivate writes a root-only file under dir and returns its path.
func writePrivate(t *testing.T, dir, name, content string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// s3Config writes an off-host config for bucket on srv (at endpoint, which
// may be a proxy in front of it) with credentials secret, and returns the
// environment that points etcd-ramdisk at it.
func (n *node) s3Config(srv *s3Server, name, endpoint, bucket, secret, recipient, extra string) []string {
	n.t.Helper()
	dir := filepath.Join(n.Dir, "offhost")
	creds := writePrivate(n.t, dir, name+"-credentials", fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", srv.access, secret))
	cfg := fmt.Sprintf("s3:\n  endpoint: %s\n  bucket: %s\n  prefix: node1/\n  pathStyle: true\n  credentialsFile: %s\n", endpoint, bucket, creds)
	if srv.tls {
		cfg += "  caFile: " + srv.caFile + "\n"
	}
	cfg += "recipients: [" + recipient + "]\n" + extra
	if !strings.Contains(extra, "timeout:") {
		cfg += "timeout: 1m\n"
	}
	return []string{"ETCD_RAMDISK_OFFHOST_CONFIG=" + writePrivate(n.t, dir, name+".yaml", cfg)}
}

// remoteList is list --offhost --json.
type remoteList struct {
	Snapshots []struct {
		Snapshot struct {
			ID  string `json:"id"`
			Seq uint64 `json:"seq"`
		} `json:"snapshot"`
		Data struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		} `json:"data"`
		Encryption string                 `json:"encryption"`
		Image      *struct{ Name string } `json:"image"`
	} `json:"snapshots"`
	Problems []struct{ Name, Error string } `json:"problems"`
}

func (n *node) remoteIDs(env []string) ([]string, remoteList) {
	n.t.Helper()
	r := n.toolEnv(env, "list", "--offhost", "--json")
	var out remoteList
	if err := json.Unmarshal([]byte(r.stdout), &out); r.code != 0 || err != nil {
		n.t.Fatalf("list --offhost --json: exit %d, %v", r.code, err)
	}
	var ids []string
	for _, s := range out.Snapshots {
		ids = append(ids, s.Snapshot.ID)
	}
	return ids, out
}

// offhostStatus is status's off-host part.
type offhostStatus struct {
	Target, LastError, LastCopyID string
	Backlog, RemoteSnapshots      int
	Encrypted                     bool
}

func (n *node) offhostStatus(env []string) (offhostStatus, []string) {
	n.t.Helper()
	r := n.toolEnv(env, "status", "--json")
	var out struct {
		Offhost  *offhostStatus `json:"offhost"`
		Warnings []string       `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Offhost == nil {
		n.t.Fatalf("status --json: exit %d, %v, no offhost part\n%s", r.code, err, r.stdout)
	}
	return *out.Offhost, out.Warnings
}

// localIDs lists the good local snapshots, oldest first.
func (n *node) localIDsOldestFirst() []string {
	n.t.Helper()
	var ids []string
	for _, s := range n.list().Snapshots {
		if s.Kind == "good" {
			ids = append([]string{s.ID}, ids...)
		}
	}
	return ids
}

// killProxy forwards TCP to a server and kills the server once more than
// limit bytes of requests (all connections) went through: a server dying in
// the middle of an upload, at a point the test chooses.
type killProxy struct {
	addr  string
	l     net.Listener
	limit int64
	sent  atomic.Int64
	fired atomic.Bool
	wg    sync.WaitGroup
}

func newKillProxy(t *testing.T, srv *s3Server, limit int64) *killProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &killProxy{addr: l.Addr().String(), l: l, limit: limit}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go p.serve(c, srv)
		}
	}()
	t.Cleanup(func() { l.Close(); p.wg.Wait() })
	return p
}

func (p *killProxy) serve(c net.Conn, srv *s3Server) {
	defer p.wg.Done()
	defer c.Close()
	up, err := net.Dial("tcp", srv.addr)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(c, up)
	buf := make([]byte, 32<<10)
	for {
		k, err := c.Read(buf)
		if p.sent.Add(int64(k)) > p.limit && p.fired.CompareAndSwap(false, true) {
			srv.kill()
			return
		}
		if k > 0 {
			if _, werr := up.Write(buf[:k]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// mountTmpfs mounts a small tmpfs at dir (a full target), unmounted at the end.
func mountTmpfs(t *testing.T, dir string, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
}

// checkEncrypted fails unless data is an age file in which nothing of the
// snapshot is readable: not the start of the local zstd file, not etcd's
// bbolt meta page magic (0xED0CDAED, version 2).
func checkEncrypted(t *testing.T, name string, data, local []byte) {
	t.Helper()
	if !bytes.HasPrefix(data, []byte("age-encryption.org/v1\n")) {
		t.Errorf("%s does not start with the age header", name)
	}
	if len(local) < 64 || bytes.Contains(data, local[:64]) {
		t.Errorf("%s holds the local snapshot file's first bytes", name)
	}
	if bytes.Contains(data, []byte{0xed, 0xda, 0x0c, 0xed, 2, 0, 0, 0}) {
		t.Errorf("%s holds etcd's bbolt magic bytes", name)
	}
}
