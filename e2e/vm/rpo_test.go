package vmtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/etcd-ramdisk/etcd-ramdisk/testbed/vm"
)

// timedWriter writes keys one at a time from the host and keeps when etcd
// acknowledged each: after a power cut, the acknowledged keys that are
// missing say how much the cut cost, in writes and in time.
type timedWriter struct {
	prefix string
	mu     sync.Mutex
	acks   []time.Time // acks[i]: when key i was acknowledged
	done   chan struct{}
	err    error
	cfg    clientv3.Config
}

func startTimedWriter(t *testing.T, n *vm.Node, prefix string) *timedWriter {
	t.Helper()
	tc, err := transport.TLSInfo{CertFile: n.ClientCert, KeyFile: n.ClientKey, TrustedCAFile: n.CACert}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	w := &timedWriter{prefix: prefix, done: make(chan struct{}), cfg: clientv3.Config{Endpoints: []string{"https://" + n.VM.EtcdAddr()}, TLS: tc, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}}
	cli, err := clientv3.New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); <-w.done; cli.Close() })
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := cli.Put(rctx, w.key(i), fmt.Sprint(i))
			rcancel()
			if err != nil {
				w.err = err
				return
			}
			w.mu.Lock()
			w.acks = append(w.acks, time.Now())
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *timedWriter) key(i int) string { return fmt.Sprintf("%s%08d", w.prefix, i) }

// back says which of the first count keys etcd holds now, with their value.
func (w *timedWriter) back(t *testing.T, count int) map[int]bool {
	t.Helper()
	cli, err := clientv3.New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := cli.Get(ctx, w.prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, kv := range resp.Kvs {
		have[string(kv.Key)] = string(kv.Value)
	}
	back := map[int]bool{}
	for i := 0; i < count; i++ {
		back[i] = have[w.key(i)] == fmt.Sprint(i)
	}
	return back
}

// acked returns the acknowledgement times so far.
func (w *timedWriter) acked() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.acks...)
}

// rpo is what a power cut at cut lost of the acknowledged writes acks, given
// which keys came back.
type rpo struct {
	acked, missing int
	// oldestMissing is how long before the cut the oldest missing write was
	// acknowledged: the span of acknowledged writes the cut lost.
	oldestMissing time.Duration
}

func measureRPO(acks []time.Time, back map[int]bool, cut time.Time) rpo {
	r := rpo{acked: len(acks)}
	for i, at := range acks {
		if back[i] {
			continue
		}
		if r.missing == 0 {
			r.oldestMissing = cut.Sub(at)
		}
		r.missing++
	}
	return r
}

func TestMeasureRPO(t *testing.T) {
	cut := time.Unix(100, 0)
	acks := []time.Time{time.Unix(90, 0), time.Unix(95, 0), time.Unix(98, 0), time.Unix(99, 0)}
	got := measureRPO(acks, map[int]bool{0: true, 1: true, 3: true}, cut)
	if got.acked != 4 || got.missing != 1 || got.oldestMissing != 2*time.Second {
		t.Fatalf("measureRPO = %+v, want 4 acked, 1 missing, the oldest 2s before the cut", got)
	}
	if got := measureRPO(acks, map[int]bool{0: true, 1: true, 2: true, 3: true}, cut); got.missing != 0 || got.oldestMissing != 0 {
		t.Fatalf("nothing lost: %+v", got)
	}
}
