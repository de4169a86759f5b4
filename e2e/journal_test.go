package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

// etcdClient connects to the node's etcd as the healthcheck client.
func (n *node) etcdClient() *clientv3.Client {
	n.t.Helper()
	pki := filepath.Join(n.PKIDir(), "etcd")
	tc, err := transport.TLSInfo{CertFile: filepath.Join(pki, "healthcheck-client.crt"), KeyFile: filepath.Join(pki, "healthcheck-client.key"), TrustedCAFile: filepath.Join(pki, "ca.crt")}.ClientConfig()
	if err != nil {
		n.t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{fmt.Sprintf("https://127.0.0.1:%d", n.Options.ClientPort)}, TLS: tc, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { cli.Close() })
	return cli
}

// startJournal runs the journal service against the node, as its systemd
// unit would, until the test kills it.
func (n *node) startJournal(stateFile string) *journalProc {
	n.t.Helper()
	return n.startJournalEnv(nil, stateFile)
}

// startJournalEnv runs the journal service with extra environment variables.
func (n *node) startJournalEnv(env []string, stateFile string) *journalProc {
	n.t.Helper()
	cmd := n.toolCommand(env, "journal", "--interval", "1s", "--state-file", stateFile)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	p := &journalProc{cmd: cmd, stderr: stderr, state: stateFile}
	n.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		n.t.Logf("journal service (pid %d) stderr (tail):\n%s", cmd.Process.Pid, tail(stderr.String(), 6000))
	})
	return p
}

type journalProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	state  string
}

// syncBuffer collects a running process's output and may be read meanwhile.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitDurable waits until the journal has fsynced revision rev: the
// service's own published state says so.
func (n *node) waitDurable(p *journalProc, rev int64) journal.State {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last journal.State
	for time.Now().Before(deadline) {
		if s, err := journal.ReadState(p.state); err == nil {
			last = s
			if s.DurableRev >= rev {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond) // polling the service's state file, bounded by the deadline
	}
	n.t.Fatalf("the journal never made revision %d durable; its last state: %+v", rev, last)
	return last
}

type keyState struct {
	Value                      string
	CreateRev, ModRev, Version int64
	HasLease                   bool
}

func snapshotKeys(t *testing.T, ctx context.Context, cli *clientv3.Client) (map[string]keyState, int64) {
	t.Helper()
	resp, err := cli.Get(ctx, "", clientv3.WithFromKey())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]keyState{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = keyState{Value: string(kv.Value), CreateRev: kv.CreateRevision, ModRev: kv.ModRevision, Version: kv.Version, HasLease: kv.Lease != 0}
	}
	return out, resp.Header.Revision
}

// A power cut after the last cron snapshot loses nothing the journal made
// durable: restore replays the chain onto the snapshot, and every key comes
// back with its value, create revision, mod revision, version and lease.
//
// By default the chain is written into the snapshot's database; on one
// release also through etcd (--journal-replay etcd), and with the write
// into the database killed, then failing, which falls back to the replay
// through etcd.
func TestJournalPowerCutRestore(t *testing.T) {
	for _, img := range etcdReleases {
		t.Run(img.name, func(t *testing.T) { journalPowerCut(t, img.ref, "db") })
	}
	t.Run(etcdReleases[0].name+"/through-etcd", func(t *testing.T) { journalPowerCut(t, etcdReleases[0].ref, "etcd") })
	t.Run(etcdReleases[0].name+"/db-fails", func(t *testing.T) { journalPowerCut(t, etcdReleases[0].ref, "db-fails") })
}

// journalPowerCut: how is db, etcd or db-fails.
func journalPowerCut(t *testing.T, ref, how string) {
	n := newNode(t, testbed.NodeOptions{Image: ref})
	n.kv("put-many", "/registry/pods/", "100")
	n.mustTool("backup", "--reason", "cron")
	state := filepath.Join(n.Dir, "run", "journal.json")
	p := n.startJournal(state)
	cli := n.etcdClient()
	ctx := n.ctx

	// After the snapshot: new keys, overwrites, deletes, a txn, and keys
	// under leases the way kube-apiserver uses them (events under a 1 h
	// lease, the endpoint lease with a 15 s TTL).
	n.kv("put-many", "/registry/configmaps/", "200")
	n.kv("put-many", "/registry/pods/", "50")
	for i := 0; i < 10; i++ {
		if _, err := cli.Delete(ctx, fmt.Sprintf("/registry/pods/%06d", 60+i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Txn(ctx).Then(clientv3.OpPut("/registry/txn/a", "1"), clientv3.OpPut("/registry/txn/b", "2"), clientv3.OpDelete("/registry/pods/000099")).Commit(); err != nil {
		t.Fatal(err)
	}
	hour, err := cli.Grant(ctx, 3600)
	if err != nil {
		t.Fatal(err)
	}
	short, err := cli.Grant(ctx, 15)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := cli.Put(ctx, fmt.Sprintf("/registry/events/e%02d", i), "event", clientv3.WithLease(hour.ID)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Put(ctx, "/registry/masterleases/10.0.0.1", "endpoint", clientv3.WithLease(short.ID)); err != nil {
		t.Fatal(err)
	}
	before, rev := snapshotKeys(t, ctx, cli)
	s := n.waitDurable(p, rev)
	t.Logf("journal durable at revision %d (etcd at %d), chain %s from snapshot %s", s.DurableRev, rev, s.ChainID, s.SnapshotID)

	// The power cut: the journal gets no chance to flush anything more,
	// etcd's tmpfs is gone, no shutdown backup runs.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	n.reboot()
	env, args, said := bootEnv("boot-2"), []string{"restore"}, "written into the snapshot's database"
	switch how {
	case "etcd":
		args, said = append(args, "--journal-replay", "etcd"), "applied through etcd"
	case "db-fails":
		// First killed right after the write into the database: the
		// rerun starts again from the stored snapshot.
		if k := n.toolEnv(append(bootEnv("boot-2"), failpoint.EnvVar+"=restore-after-journal-db"), "restore"); k.signal != syscall.SIGKILL {
			t.Fatalf("restore with failpoint restore-after-journal-db was not killed there (exit %d)", k.code)
		}
		env, said = append(env, failpoint.EnvVar+"=restore-journal-db"), "applied through etcd"
	}
	r := n.mustToolEnv(env, args...)
	if !strings.Contains(r.stdout, "replayed journal") || !strings.Contains(r.stdout, said) {
		t.Fatalf("restore stdout %q: want the journal replayed, %s", r.stdout, said)
	}
	if how == "db-fails" && !strings.Contains(r.stderr, "replaying it through etcd instead") {
		t.Errorf("restore stderr %q: want the failed write into the database named", tail(r.stderr, 3000))
	}
	if want := fmt.Sprintf("up to revision %d", rev); !strings.Contains(r.stdout, want) {
		t.Fatalf("restore stdout %q: want %q", r.stdout, want)
	}
	n.startEtcd()
	after, revAfter := snapshotKeys(t, ctx, n.etcdClient())
	if revAfter < rev+1_000_000_000 {
		t.Errorf("revision after the restore %d: want the bump past %d", revAfter, rev+1_000_000_000)
	}
	if len(after) != len(before) {
		t.Errorf("%d keys after the restore, %d before", len(after), len(before))
	}
	for k, b := range before {
		if a, ok := after[k]; !ok || a != b {
			t.Errorf("key %s: after the restore %+v (present %v), before %+v", k, a, ok, b)
		}
	}
	var rec struct {
		Revision int64 `json:"revision"`
	}
	if b, err := os.ReadFile(filepath.Join(n.BackupDir(), "restore-record.json")); err != nil || json.Unmarshal(b, &rec) != nil || rec.Revision != rev {
		t.Errorf("restore record %s (%v): want revision %d", b, err, rev)
	}
}
