// Command etcdkv is a small etcd v3 client for the etcd-ramdisk test bed.
//
// Usage:
//
//	etcdkv [flags] put KEY VALUE
//	etcdkv [flags] get KEY                 value on stdout; exit 1 if missing
//	etcdkv [flags] put-many PREFIX N       keys PREFIX0000000..PREFIX(N-1), value "v-<i>"
//	etcdkv [flags] check-many PREFIX N     "ok N", or the first missing/wrong keys and exit 1
//	etcdkv [flags] count PREFIX            number of keys with that prefix
//	etcdkv [flags] ack-writes PREFIX MAX   put PREFIX0000000, PREFIX0000001, … one at a time, each
//	                                       only after etcd acknowledged the one before, until a put
//	                                       fails, MAX were written or SIGTERM; prints "acked N" (keys
//	                                       0..N-1 were acknowledged) and the error that ended it
//	etcdkv [flags] fill PREFIX BYTES       ~BYTES of 1 KiB values (half random, half repeated)
//	etcdkv [flags] status                  JSON: revision, dbSize, version, ...
//	etcdkv [flags] load [--duration D] [--rate R]
//	                                       Kubernetes-like write load; prints the number of writes
//
// Flags (may appear before or after the subcommand; "--" ends flag parsing):
//
//	--endpoint URL   default https://127.0.0.1:2379 (http:// for plain text)
//	--cacert/--cert/--key FILE
//	--timeout D      per-request timeout, default 10s
//
// Exit codes: 0 ok, 1 failure (missing key, check failed, etcd error), 2 usage.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

const (
	maxTxnOps   = 100     // etcd's default --max-txn-ops is 128
	manyWidth   = 7       // digits of put-many/check-many key suffixes
	manyMax     = 1000000 // 10^manyWidth keeps keys sorted lexicographically == numerically
	fillValSize = 1024
)

type options struct {
	endpoint string
	cacert   string
	cert     string
	key      string
	timeout  time.Duration
	duration time.Duration
	rate     float64
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func usage() int {
	fmt.Fprintln(os.Stderr, `usage: etcdkv [--endpoint URL] [--cacert F --cert F --key F] [--timeout D] COMMAND ARGS
commands:
  put KEY VALUE | get KEY | put-many PREFIX N | check-many PREFIX N | count PREFIX | ack-writes PREFIX MAX
  fill PREFIX BYTES | status | load [--duration D] [--rate R]`)
	return 2
}

// parseArgs accepts flags anywhere on the command line and returns the
// positional arguments.
func parseArgs(args []string) (*options, []string, error) {
	o := &options{}
	fs := flag.NewFlagSet("etcdkv", flag.ContinueOnError)
	fs.StringVar(&o.endpoint, "endpoint", "https://127.0.0.1:2379", "etcd client URL")
	fs.StringVar(&o.cacert, "cacert", "", "CA bundle to verify the server")
	fs.StringVar(&o.cert, "cert", "", "client certificate")
	fs.StringVar(&o.key, "key", "", "client key")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.DurationVar(&o.duration, "duration", time.Minute, "load: how long to run")
	fs.Float64Var(&o.rate, "rate", 10, "load: writes per second")
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return o, append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return o, pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func run(args []string) int {
	o, pos, err := parseArgs(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usage()
		}
		return 2
	}
	if len(pos) == 0 {
		return usage()
	}
	cmd, pos := pos[0], pos[1:]
	nargs := map[string]int{"put": 2, "get": 1, "put-many": 2, "check-many": 2, "ack-writes": 2, "count": 1, "fill": 2, "status": 0, "load": 0}
	n, ok := nargs[cmd]
	if !ok {
		fmt.Fprintf(os.Stderr, "etcdkv: unknown command %q\n", cmd)
		return usage()
	}
	if len(pos) != n {
		fmt.Fprintf(os.Stderr, "etcdkv: %s takes %d argument(s), got %d\n", cmd, n, len(pos))
		return usage()
	}
	cli, err := newClient(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcdkv: %v\n", err)
		return 1
	}
	defer cli.Close()
	k := &kv{o: o, cli: cli}

	switch cmd {
	case "put":
		err = k.put(pos[0], pos[1])
	case "get":
		err = k.get(pos[0])
	case "put-many", "check-many", "ack-writes":
		var cnt int
		cnt, err = strconv.Atoi(pos[1])
		if err != nil || cnt < 0 || cnt > manyMax {
			fmt.Fprintf(os.Stderr, "etcdkv: N must be an integer in [0, %d]\n", manyMax)
			return 2
		}
		if cmd == "put-many" {
			err = k.putMany(pos[0], cnt)
		} else if cmd == "ack-writes" {
			err = k.ackWrites(pos[0], cnt)
		} else {
			err = k.checkMany(pos[0], cnt)
		}
	case "count":
		err = k.count(pos[0])
	case "fill":
		var b int64
		b, err = parseBytes(pos[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "etcdkv: %v\n", err)
			return 2
		}
		err = k.fill(pos[0], b)
	case "status":
		err = k.status()
	case "load":
		err = k.load()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcdkv: %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

func newClient(o *options) (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:   []string{o.endpoint},
		DialTimeout: o.timeout,
		Logger:      zap.NewNop(),
	}
	if o.cacert != "" || o.cert != "" || o.key != "" {
		ti := transport.TLSInfo{CertFile: o.cert, KeyFile: o.key, TrustedCAFile: o.cacert}
		tc, err := ti.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("TLS config: %w", err)
		}
		cfg.TLS = tc
	} else if strings.HasPrefix(o.endpoint, "https://") {
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12} // system roots
	}
	return clientv3.New(cfg)
}

type kv struct {
	o   *options
	cli *clientv3.Client
}

func (k *kv) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), k.o.timeout)
}

func (k *kv) put(key, val string) error {
	ctx, cancel := k.ctx()
	defer cancel()
	_, err := k.cli.Put(ctx, key, val)
	return err
}

var errMissing = errors.New("key not found")

func (k *kv) get(key string) error {
	ctx, cancel := k.ctx()
	defer cancel()
	resp, err := k.cli.Get(ctx, key)
	if err != nil {
		return err
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("%w: %q", errMissing, key)
	}
	_, err = os.Stdout.Write(append(resp.Kvs[0].Value, '\n'))
	return err
}

func manyKey(prefix string, i int) string { return fmt.Sprintf("%s%0*d", prefix, manyWidth, i) }
func manyVal(i int) string                { return "v-" + strconv.Itoa(i) }

// commit writes ops in one transaction.
func (k *kv) commit(ops []clientv3.Op) error {
	ctx, cancel := k.ctx()
	defer cancel()
	_, err := k.cli.Txn(ctx).Then(ops...).Commit()
	return err
}

func (k *kv) putMany(prefix string, n int) error {
	ops := make([]clientv3.Op, 0, maxTxnOps)
	for i := 0; i < n; i++ {
		ops = append(ops, clientv3.OpPut(manyKey(prefix, i), manyVal(i)))
		if len(ops) == maxTxnOps || i == n-1 {
			if err := k.commit(ops); err != nil {
				return fmt.Errorf("keys up to %s: %w", manyKey(prefix, i), err)
			}
			ops = ops[:0]
		}
	}
	return nil
}

// ackWrites writes keys one at a time; a key is written only after the one
// before was acknowledged, so "acked N" means exactly keys 0..N-1 are durable
// as far as etcd told its client.
func (k *kv) ackWrites(prefix string, max int) error {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	acked, why := 0, "reached MAX"
loop:
	for ; acked < max; acked++ {
		select {
		case sig := <-stop:
			why = "stopped by " + sig.String()
			break loop
		default:
		}
		if err := k.put(manyKey(prefix, acked), manyVal(acked)); err != nil {
			why = err.Error()
			break loop
		}
	}
	fmt.Printf("acked %d\nended: %s\n", acked, why)
	return nil
}

func (k *kv) checkMany(prefix string, n int) error {
	const chunk = 1000
	var bad []string
	nbad := 0
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		ctx, cancel := k.ctx()
		resp, err := k.cli.Get(ctx, manyKey(prefix, lo), clientv3.WithRange(manyKey(prefix, hi)))
		cancel()
		if err != nil {
			return err
		}
		got := make(map[string]string, len(resp.Kvs))
		for _, e := range resp.Kvs {
			got[string(e.Key)] = string(e.Value)
		}
		for i := lo; i < hi; i++ {
			key := manyKey(prefix, i)
			v, ok := got[key]
			switch {
			case !ok:
				nbad++
				if len(bad) < 10 {
					bad = append(bad, "missing "+key)
				}
			case v != manyVal(i):
				nbad++
				if len(bad) < 10 {
					bad = append(bad, fmt.Sprintf("wrong %s = %q (want %q)", key, v, manyVal(i)))
				}
			}
		}
	}
	if nbad == 0 {
		fmt.Printf("ok %d\n", n)
		return nil
	}
	for _, b := range bad {
		fmt.Println(b)
	}
	return fmt.Errorf("%d of %d keys missing or wrong", nbad, n)
}

func (k *kv) count(prefix string) error {
	ctx, cancel := k.ctx()
	defer cancel()
	var opts []clientv3.OpOption
	if prefix == "" {
		opts = []clientv3.OpOption{clientv3.WithFromKey(), clientv3.WithCountOnly()}
		prefix = "\x00"
	} else {
		opts = []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithCountOnly()}
	}
	resp, err := k.cli.Get(ctx, prefix, opts...)
	if err != nil {
		return err
	}
	fmt.Println(resp.Count)
	return nil
}

// parseBytes parses "100000", "100M", "100MB", "100MiB", "1.5G" (powers of 1024).
func parseBytes(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad byte count %q", s)
	}
	return int64(f * float64(mult)), nil
}

// fill writes 1 KiB values, each half random bytes and half a repeated
// pattern, under PREFIX%09d keys (continuing after existing ones is not
// attempted: the same key numbers are overwritten on a second run).
func (k *kv) fill(prefix string, total int64) error {
	ops := make([]clientv3.Op, 0, maxTxnOps)
	var written int64
	i := 0
	start := time.Now()
	pattern := strings.Repeat("etcd-ramdisk-fill/", fillValSize/2/18+1)[:fillValSize/2]
	for written < total {
		val := make([]byte, fillValSize)
		if _, err := rand.Read(val[:fillValSize/2]); err != nil {
			return err
		}
		copy(val[fillValSize/2:], pattern)
		ops = append(ops, clientv3.OpPut(fmt.Sprintf("%s%09d", prefix, i), string(val)))
		written += fillValSize
		i++
		if len(ops) == maxTxnOps || written >= total {
			if err := k.commit(ops); err != nil {
				return fmt.Errorf("after %d keys: %w", i-len(ops), err)
			}
			ops = ops[:0]
		}
	}
	fmt.Fprintf(os.Stderr, "etcdkv: fill: wrote %d keys, %d value bytes in %s\n", i, written, time.Since(start).Round(time.Millisecond))
	return nil
}

func (k *kv) status() error {
	ctx, cancel := k.ctx()
	defer cancel()
	st, err := k.cli.Maintenance.Status(ctx, k.o.endpoint)
	if err != nil {
		return err
	}
	out := map[string]any{
		"endpoint":    k.o.endpoint,
		"revision":    st.Header.GetRevision(),
		"dbSize":      st.DbSize,
		"dbSizeInUse": st.DbSizeInUse,
		"version":     st.Version,
		"memberId":    fmt.Sprintf("%x", st.Header.GetMemberId()),
		"leader":      fmt.Sprintf("%x", st.Leader),
		"raftIndex":   st.RaftIndex,
		"raftTerm":    st.RaftTerm,
		"isLearner":   st.IsLearner,
		"errors":      st.Errors,
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

// load generates a Kubernetes-like write mix at --rate writes/s for
// --duration: a node Lease renewed every 10s, two leader-election Leases
// renewed every 2s, and the rest split between Events (attached to a 1h etcd
// lease, like the apiserver does) and optimistic-concurrency Pod status
// updates. Errors are reported on stderr and the load continues (useful
// while etcd is being restarted); the number of successful writes is printed.
func (k *kv) load() error {
	if k.o.rate <= 0 || k.o.duration <= 0 {
		return errors.New("--rate and --duration must be positive")
	}
	const (
		nodeLease   = "/registry/leases/kube-node-lease/node-1"
		pods        = 30
		podsPrefix  = "/registry/pods/default/"
		eventPrefix = "/registry/events/default/"
	)
	leaders := []string{
		"/registry/leases/kube-system/kube-controller-manager",
		"/registry/leases/kube-system/kube-scheduler",
	}
	payload := func(kind, name string, size int) string {
		head := fmt.Sprintf(`{"kind":%q,"metadata":{"name":%q,"time":%q},"data":"`, kind, name, time.Now().UTC().Format(time.RFC3339Nano))
		pad := size - len(head) - 2
		if pad < 0 {
			pad = 0
		}
		return head + strings.Repeat("x", pad) + `"}`
	}

	var eventLease clientv3.LeaseID
	podRev := map[string]int64{}
	var writes, errs, events int
	podNext := 0
	// Leases are due immediately; then every 10s / 2s.
	nextNode := time.Now()
	nextLeader := make([]time.Time, len(leaders))
	for i := range nextLeader {
		nextLeader[i] = time.Now()
	}

	do := func(f func(ctx context.Context) error) {
		ctx, cancel := k.ctx()
		defer cancel()
		if err := f(ctx); err != nil {
			errs++
			if errs <= 20 || errs%100 == 0 {
				fmt.Fprintf(os.Stderr, "etcdkv: load: error #%d: %v\n", errs, err)
			}
			return
		}
		writes++
	}
	putPlain := func(key, val string) {
		do(func(ctx context.Context) error { _, err := k.cli.Put(ctx, key, val); return err })
	}

	interval := time.Duration(float64(time.Second) / k.o.rate)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	deadline := time.Now().Add(k.o.duration)
	for tick := 0; time.Now().Before(deadline); tick++ {
		now := time.Now()
		switch {
		case !now.Before(nextNode):
			nextNode = now.Add(10 * time.Second)
			putPlain(nodeLease, payload("Lease", "node-1", 300))
		case !now.Before(nextLeader[0]) || !now.Before(nextLeader[1]):
			i := 0
			if now.Before(nextLeader[0]) {
				i = 1
			}
			nextLeader[i] = now.Add(2 * time.Second)
			putPlain(leaders[i], payload("Lease", leaders[i], 400))
		case tick%2 == 0:
			if eventLease == 0 {
				ctx, cancel := k.ctx()
				g, err := k.cli.Grant(ctx, 3600)
				cancel()
				if err != nil {
					errs++
					fmt.Fprintf(os.Stderr, "etcdkv: load: lease grant: %v\n", err)
					break
				}
				eventLease = g.ID
			}
			events++
			name := fmt.Sprintf("ev-%d-%d", time.Now().Unix(), events)
			do(func(ctx context.Context) error {
				_, err := k.cli.Put(ctx, eventPrefix+name, payload("Event", name, 700), clientv3.WithLease(eventLease))
				return err
			})
		default:
			name := fmt.Sprintf("pod-%02d", podNext%pods)
			podNext++
			key := podsPrefix + name
			do(func(ctx context.Context) error {
				rev := podRev[key] // 0 == must not exist yet (create)
				resp, err := k.cli.Txn(ctx).
					If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
					Then(clientv3.OpPut(key, payload("Pod", name, 4000))).
					Else(clientv3.OpGet(key)).
					Commit()
				if err != nil {
					return err
				}
				if !resp.Succeeded { // conflict: refresh like the apiserver and retry once
					if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
						podRev[key] = kvs[0].ModRevision
					} else {
						podRev[key] = 0
					}
					rev = podRev[key]
					resp, err = k.cli.Txn(ctx).
						If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
						Then(clientv3.OpPut(key, payload("Pod", name, 4000))).
						Commit()
					if err != nil {
						return err
					}
					if !resp.Succeeded {
						return fmt.Errorf("conflict updating %s", key)
					}
				}
				podRev[key] = resp.Header.Revision
				return nil
			})
		}
		<-ticker.C
	}
	fmt.Println(writes)
	if errs > 0 {
		fmt.Fprintf(os.Stderr, "etcdkv: load: %d writes, %d errors\n", writes, errs)
	}
	return nil
}
