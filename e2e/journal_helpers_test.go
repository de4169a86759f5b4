package e2e

// Helpers of the journal's fault cases (journal_faults_test.go).

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sys/unix"

	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
)

// kill runs kill -9 on the journal service and reaps it.
func (p *journalProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// stop ends the journal service as systemd does, and wants a clean exit.
func (p *journalProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("the journal service did not stop cleanly: %v", err)
	}
}

func (p *journalProc) log() string { return p.stderr.String() }

// waitLog waits until the service has logged a line holding every one of
// words, and returns that line.
func (p *journalProc) waitLog(t *testing.T, words ...string) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if l := logLine(p.log(), words...); l != "" {
			return l
		}
		if p.cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // polling the service's log, bounded by the deadline
	}
	t.Fatalf("the journal service never logged a line with %q; its log:\n%s", words, tail(p.log(), 6000))
	return ""
}

// logLine returns the first line of log holding every one of words.
func logLine(log string, words ...string) string {
	for _, l := range strings.Split(log, "\n") {
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			return l
		}
	}
	return ""
}

// waitState waits until the service's published state satisfies cond.
func (p *journalProc) waitState(t *testing.T, what string, cond func(journal.State) bool) journal.State {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last journal.State
	for time.Now().Before(deadline) {
		if s, err := journal.ReadState(p.state); err == nil && s.PID == p.cmd.Process.Pid {
			last = s
			if cond(s) {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond) // polling the service's state file, bounded by the deadline
	}
	t.Fatalf("the journal never reached %s; its last state: %+v\nits log:\n%s", what, last, tail(p.log(), 4000))
	return last
}

// lastState is what the service published last (a killed one's too).
func (p *journalProc) lastState(t *testing.T) journal.State {
	t.Helper()
	s, err := journal.ReadState(p.state)
	if err != nil || s.PID != p.cmd.Process.Pid {
		t.Fatalf("no state of pid %d: %+v %v", p.cmd.Process.Pid, s, err)
	}
	return s
}

// ackedPut is a write etcd acknowledged, at its revision.
type ackedPut struct {
	key, value string
	rev        int64
}

// loader streams acknowledged puts of new keys until stopped.
type loader struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	acked  []ackedPut
	failed int
}

func startLoad(ctx context.Context, cli *clientv3.Client, prefix string) *loader {
	ctx, cancel := context.WithCancel(ctx)
	l := &loader{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(4 * time.Millisecond) // the load's rate, ~250 writes/s
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			key, val := fmt.Sprintf("%s%06d", prefix, i), fmt.Sprintf("value-%d", i)
			pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
			resp, err := cli.Put(pctx, key, val)
			pcancel()
			l.mu.Lock()
			if err == nil {
				l.acked = append(l.acked, ackedPut{key, val, resp.Header.Revision})
			} else if ctx.Err() == nil {
				l.failed++
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// count returns how many writes etcd has acknowledged so far.
func (l *loader) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// waitMore waits until the load has n more acknowledged writes than now.
func (l *loader) waitMore(t *testing.T, n int) {
	t.Helper()
	want := l.count() + n
	deadline := time.Now().Add(90 * time.Second)
	for l.count() < want {
		if time.Now().After(deadline) {
			t.Fatalf("the load never reached %d acknowledged writes (%d)", want, l.count())
		}
		time.Sleep(20 * time.Millisecond) // polling the load's counter, bounded by the deadline
	}
}

func (l *loader) stop() ([]ackedPut, int) {
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked, l.failed
}

// lostWrites counts the acknowledged writes up to revision durable that
// etcd does not hold as they were written (value and mod revision), naming
// the first few.
func lostWrites(t *testing.T, ctx context.Context, cli *clientv3.Client, acked []ackedPut, durable int64) int {
	t.Helper()
	lost := 0
	for _, a := range acked {
		if a.rev > durable {
			continue
		}
		resp, err := cli.Get(ctx, a.key)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != a.value || resp.Kvs[0].ModRevision != a.rev {
			if lost < 5 {
				t.Errorf("acknowledged write %s=%s at revision %d (durable up to %d) is not back: %v", a.key, a.value, a.rev, durable, resp.Kvs)
			}
			lost++
		}
	}
	return lost
}

// currentRev is etcd's revision now.
func currentRev(t *testing.T, ctx context.Context, cli *clientv3.Client) int64 {
	t.Helper()
	resp, err := cli.Get(ctx, "\x00", clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// countPrefix counts the keys under prefix.
func countPrefix(t *testing.T, ctx context.Context, cli *clientv3.Client, prefix string) int64 {
	t.Helper()
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count
}

// putKeys writes n keys under prefix, one revision each, and returns the
// last revision.
func putKeys(t *testing.T, ctx context.Context, cli *clientv3.Client, prefix string, n int, opts ...clientv3.OpOption) int64 {
	t.Helper()
	var rev int64
	for i := 0; i < n; i++ {
		resp, err := cli.Put(ctx, fmt.Sprintf("%s%06d", prefix, i), fmt.Sprintf("v%d", i), opts...)
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	return rev
}

// powerCutRestore kills the journal (when p is set), cuts the node's power
// and runs the boot's restore, which must succeed.
func (n *node) powerCutRestore(p *journalProc, boot string, env ...string) result {
	n.t.Helper()
	if p != nil && p.cmd.ProcessState == nil {
		p.kill(n.t)
	}
	n.reboot()
	return n.mustToolEnv(append(bootEnv(boot), env...), "restore")
}

// restoredRevision is the revision the last restore recorded.
func (n *node) restoredRevision(dir string) int64 {
	n.t.Helper()
	var rec struct {
		Revision int64 `json:"revision"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "restore-record.json"))
	if err == nil {
		err = json.Unmarshal(b, &rec)
	}
	if err != nil {
		n.t.Fatalf("restore record: %v", err)
	}
	return rec.Revision
}

// wantReplayed checks that restore replayed chain up to revision last.
func wantReplayed(t *testing.T, r result, chain string, last int64) {
	t.Helper()
	if want := fmt.Sprintf("replayed journal %s: ", chain); !strings.Contains(r.stdout, want) {
		t.Errorf("restore stdout %q: want %q", r.stdout, want)
	}
	if want := fmt.Sprintf("up to revision %d ", last); !strings.Contains(r.stdout, want) {
		t.Errorf("restore stdout %q: want %q", r.stdout, want)
	}
	if strings.Contains(r.stdout, "journal not replayed") {
		t.Errorf("restore stdout %q: the journal was passed over", r.stdout)
	}
}

// newestSegment is the path of the newest segment of chain.
func (n *node) newestSegment(chain string) string {
	n.t.Helper()
	segs, err := filepath.Glob(filepath.Join(n.BackupDir(), "journal", chain, "*.seg"))
	if err != nil || len(segs) == 0 {
		n.t.Fatalf("segments of chain %s: %v %v", chain, segs, err)
	}
	sort.Strings(segs)
	return segs[len(segs)-1]
}

// tearTail puts after the last record of a segment what a power cut during
// the next commit leaves there: a copy of the last record, cut in half
// (truncated) or whole with bytes flipped (garbled). It returns how many
// bytes it wrote.
func tearTail(t *testing.T, seg string, garble bool) int {
	t.Helper()
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	const frame = 8 // length and CRC-32C
	last, end := -1, 0
	for end+frame <= len(b) {
		n := int(binary.LittleEndian.Uint32(b[end:]))
		if n == 0 {
			break
		}
		last, end = end, end+frame+n
	}
	if last < 0 || end > len(b) {
		t.Fatalf("segment %s: no record to copy (end %d)", seg, end)
	}
	torn := append([]byte(nil), b[last:end]...)
	if garble {
		for i := frame + len(torn[frame:])/2; i < len(torn); i++ {
			torn[i] ^= 0x5a
		}
	} else {
		torn = torn[:len(torn)/2]
	}
	torn[len(torn)-1] |= 1 // the tail's length is where its last non-zero byte is
	if end+len(torn) > len(b) {
		t.Fatalf("segment %s: no room after the last record", seg)
	}
	f, err := os.OpenFile(seg, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(torn, int64(end)); err != nil {
		t.Fatal(err)
	}
	return len(torn)
}

// inCommit says whether a thread of pid is in a pwrite or an fdatasync now:
// the journal's commit (its state file is written with write and fsync).
func inCommit(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		nr, err := strconv.Atoi(strings.Fields(string(b) + " x")[0])
		if err == nil && (nr == unix.SYS_PWRITE64 || nr == unix.SYS_FDATASYNC) {
			return true
		}
	}
	return false
}

// killMidCommit kills the journal service with SIGKILL, in a commit when it
// catches one within a few seconds; it says whether it did.
func (p *journalProc) killMidCommit(t *testing.T) bool {
	t.Helper()
	pid := p.cmd.Process.Pid
	deadline := time.Now().Add(3 * time.Second)
	caught := false
	for !caught && time.Now().Before(deadline) {
		caught = inCommit(pid)
	}
	p.kill(t)
	return caught
}

// wantResumed waits until the service says that it resumed chain, and
// checks that the chain holds revision durable, which the killed service
// had published as durable.
func wantResumed(t *testing.T, p *journalProc, chain string, durable int64) {
	t.Helper()
	l := p.waitLog(t, "journal chain resumed", chain)
	_, after, _ := strings.Cut(l, " revision=")
	rev, err := strconv.ParseInt(strings.Fields(after + " x")[0], 10, 64)
	if err != nil || rev < durable {
		t.Errorf("the restarted journal resumed chain %s at revision %d (%v), before %d, which the killed one had made durable: %s", chain, rev, err, durable, l)
	}
	t.Logf("resumed after a kill at durable revision %d: %s", durable, l)
}

// snapshotForJournal gives the node 50 pods and a cron snapshot for a
// journal to follow, and returns where the journal's state goes and a
// client of etcd.
func (n *node) snapshotForJournal() (state string, cli *clientv3.Client) {
	n.t.Helper()
	n.kv("put-many", "/registry/pods/", "50")
	n.mustTool("backup", "--reason", "cron")
	return filepath.Join(n.Dir, "run", "journal.json"), n.etcdClient()
}

// keysNotBack counts the keys of before that after lacks or holds
// otherwise, and names the first few.
func keysNotBack(t *testing.T, before, after map[string]keyState) int {
	t.Helper()
	lost := 0
	for k, b := range before {
		if a, ok := after[k]; !ok || a != b {
			lost++
			if lost < 5 {
				t.Errorf("key %s not back as it was: present %v", k, ok)
			}
		}
	}
	return lost
}
