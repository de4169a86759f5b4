package journal

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
)

// FollowOptions say which etcd to follow into which chain.
type FollowOptions struct {
	Endpoint string      // etcd's client URL
	TLS      *tls.Config // nil for plain http
	Dir      string      // the journal's root directory
	// Resume is the chain to append to; empty starts a new chain from
	// StartRev, the revision of the snapshot it follows, named SnapshotID.
	Resume     string
	StartRev   int64
	SnapshotID string
	Writer     WriterOptions
	// DialTimeout bounds each call to etcd outside the watch; 5 s when 0.
	DialTimeout time.Duration
	// ProgressInterval is how often an idle follower asks etcd for its
	// revision, which keeps the lag current; 5 s when 0.
	ProgressInterval time.Duration
}

// FollowStats are a follower's state, safe to read while it runs.
type FollowStats struct {
	Running    bool
	ChainID    string
	StartRev   int64
	SeenRev    int64         // the newest revision etcd reported
	DurableRev int64         // the last revision fsynced into the chain
	LagRevs    int64         // SeenRev - DurableRev
	Lag        time.Duration // how long the chain has been behind SeenRev
	Writer     WriterStats
}

// Follower watches etcd and appends every revision to a chain.
type Follower struct {
	o FollowOptions

	mu          sync.Mutex
	w           *Writer
	running     bool
	seenRev     int64
	behindSince time.Time

	// Owned by Run.
	cluster, member uint64
	leases          map[int64]bool
}

// NewFollower returns a follower; Run starts it.
func NewFollower(o FollowOptions) *Follower {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = 5 * time.Second
	}
	return &Follower{o: o}
}

// Run follows etcd until ctx ends, then flushes and closes the chain and
// returns nil. An error wrapping ErrGap means that this chain cannot go on
// (etcd compacted past it, was restored or reset, or is another member or
// cluster): the caller starts a new chain from a fresh snapshot.
func (f *Follower) Run(ctx context.Context) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{f.o.Endpoint}, TLS: f.o.TLS,
		DialTimeout: f.o.DialTimeout, Logger: zap.NewNop(), Context: ctx})
	if err != nil {
		return fmt.Errorf("connect to etcd %s: %w", f.o.Endpoint, err)
	}
	defer cli.Close()
	sctx, cancel := context.WithTimeout(ctx, f.o.DialTimeout)
	st, err := cli.Status(sctx, f.o.Endpoint)
	cancel()
	if err != nil {
		return fmt.Errorf("status of etcd %s: %w", f.o.Endpoint, err)
	}
	f.cluster, f.member = st.Header.ClusterId, st.Header.MemberId
	w, from, err := f.open(ctx, cli, st.Header.Revision)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.w, f.running, f.seenRev = w, true, st.Header.Revision
	f.mu.Unlock()
	err = f.follow(ctx, cli, w, from)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	f.mu.Lock()
	f.running = false
	f.mu.Unlock()
	return err
}

// open starts the new chain or reopens the one to resume, after checking
// that etcd still holds the chain's history; it returns the chain's last
// revision.
func (f *Follower) open(ctx context.Context, cli *clientv3.Client, etcdRev int64) (*Writer, int64, error) {
	f.leases = map[int64]bool{}
	if f.o.Resume == "" {
		if f.o.StartRev > etcdRev {
			return nil, 0, fmt.Errorf("%w: snapshot revision %d is ahead of etcd's %d", ErrGap, f.o.StartRev, etcdRev)
		}
		w, err := Create(f.o.Dir, Header{ClusterID: f.cluster, MemberID: f.member,
			StartRev: f.o.StartRev, SnapshotID: f.o.SnapshotID}, f.o.Writer)
		if err != nil {
			return nil, 0, err
		}
		logging.G(ctx).Info("journal chain started", "chain", w.Header().ChainID, "revision", f.o.StartRev)
		return w, f.o.StartRev, nil
	}
	w, sum, err := OpenAppend(f.o.Dir, f.o.Resume, f.o.Writer)
	if err != nil {
		return nil, 0, err
	}
	if err := f.checkResume(ctx, cli, sum, etcdRev); err != nil {
		w.Close()
		return nil, 0, fmt.Errorf("resume chain %s: %w", f.o.Resume, err)
	}
	for id := range sum.Leases {
		f.leases[id] = true
	}
	if sum.Torn.Bytes > 0 {
		logging.G(ctx).Warn("journal torn tail cut", "chain", f.o.Resume, "segment", sum.Torn.Segment,
			"offset", sum.Torn.Offset, "bytes", sum.Torn.Bytes)
	}
	logging.G(ctx).Info("journal chain resumed", "chain", f.o.Resume, "revision", sum.LastRev)
	return w, sum.LastRev, nil
}

// checkResume refuses to continue a chain on another history: another
// member or cluster, an etcd behind the chain (restored or reset), or one
// whose data at the chain's last revision is not what the chain recorded.
func (f *Follower) checkResume(ctx context.Context, cli *clientv3.Client, sum Summary, etcdRev int64) error {
	h := sum.Header
	if h.ClusterID != f.cluster || h.MemberID != f.member {
		return fmt.Errorf("%w: etcd is cluster %x member %x, the chain follows cluster %x member %x",
			ErrGap, f.cluster, f.member, h.ClusterID, h.MemberID)
	}
	if etcdRev < sum.LastRev {
		return fmt.Errorf("%w: etcd is at revision %d, behind the chain's %d: restored or reset", ErrGap, etcdRev, sum.LastRev)
	}
	if sum.Last == nil {
		return nil
	}
	e := sum.Last.Events[0]
	gctx, cancel := context.WithTimeout(ctx, f.o.DialTimeout)
	defer cancel()
	resp, err := cli.Get(gctx, string(e.Key), clientv3.WithRev(sum.LastRev))
	if errors.Is(err, rpctypes.ErrCompacted) {
		return fmt.Errorf("%w: etcd compacted past the chain's revision %d", ErrGap, sum.LastRev)
	}
	if err != nil {
		return fmt.Errorf("read key %q at revision %d: %w", e.Key, sum.LastRev, err)
	}
	if !sameAsEvent(resp.Kvs, e) {
		return fmt.Errorf("%w: etcd's key %q at revision %d is not what the chain recorded: another history",
			ErrGap, e.Key, sum.LastRev)
	}
	return nil
}

func sameAsEvent(kvs []*mvccpb.KeyValue, e Event) bool {
	if e.Type == Delete {
		return len(kvs) == 0
	}
	if len(kvs) != 1 {
		return false
	}
	kv := kvs[0]
	return kv.ModRevision == e.ModRev && kv.CreateRevision == e.CreateRev && kv.Version == e.Version &&
		kv.Lease == e.Lease && bytes.Equal(kv.Value, e.Value)
}

// follow watches every key from the revision after from and appends one
// record per revision until ctx ends or the chain cannot go on.
func (f *Follower) follow(ctx context.Context, cli *clientv3.Client, w *Writer, from int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := cli.Watch(wctx, "", clientv3.WithFromKey(), clientv3.WithRev(from+1),
		clientv3.WithProgressNotify(), clientv3.WithCreatedNotify())
	progress := time.NewTicker(f.o.ProgressInterval)
	defer progress.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.Failed():
			return w.Err()
		case <-progress.C:
			if err := cli.RequestProgress(wctx); err != nil && ctx.Err() == nil {
				logging.G(ctx).Debug("journal progress request", "err", err)
			}
		case resp, ok := <-wch:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("watch etcd %s: closed", f.o.Endpoint)
			}
			if err := f.handle(ctx, cli, w, &resp); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// handle appends a watch response's revisions, each after the records of
// the leases it uses that the chain does not know yet.
func (f *Follower) handle(ctx context.Context, cli *clientv3.Client, w *Writer, resp *clientv3.WatchResponse) error {
	if err := resp.Err(); err != nil {
		if resp.CompactRevision != 0 || errors.Is(err, rpctypes.ErrCompacted) {
			return fmt.Errorf("%w: etcd compacted to revision %d, past the chain's %d (it compacted while the journal was behind, or a restore with a revision bump marked it compacted)",
				ErrGap, resp.CompactRevision, w.lastAppended())
		}
		return fmt.Errorf("watch etcd %s: %w", f.o.Endpoint, err)
	}
	if h := resp.Header; h.ClusterId != 0 && (h.ClusterId != f.cluster || h.MemberId != f.member) {
		return fmt.Errorf("%w: etcd became cluster %x member %x, the chain follows cluster %x member %x",
			ErrGap, h.ClusterId, h.MemberId, f.cluster, f.member)
	}
	now := time.Now()
	for _, rev := range groupRevisions(resp.Events, now) {
		for _, e := range rev.Events {
			if e.Lease != 0 && !f.leases[e.Lease] {
				if err := f.learnLease(ctx, cli, w, e.Lease); err != nil {
					return err
				}
			}
		}
		if err := w.Append(rev); err != nil {
			return err
		}
		f.observe(rev.Rev)
	}
	f.observe(resp.Header.Revision)
	return nil
}

// groupRevisions turns watch events into one record per revision: etcd
// sends a revision's events together, in one response.
func groupRevisions(evs []*clientv3.Event, seen time.Time) []*Revision {
	var out []*Revision
	for _, ev := range evs {
		kv := ev.Kv
		if len(out) == 0 || out[len(out)-1].Rev != kv.ModRevision {
			out = append(out, &Revision{Rev: kv.ModRevision, Seen: seen})
		}
		e := Event{Type: Put, Key: kv.Key, Value: kv.Value, CreateRev: kv.CreateRevision,
			ModRev: kv.ModRevision, Version: kv.Version, Lease: kv.Lease}
		if ev.Type == clientv3.EventTypeDelete {
			e.Type = Delete
		}
		r := out[len(out)-1]
		r.Events = append(r.Events, e)
	}
	return out
}

// learnLease records a lease before the first revision that uses it: the
// watch says which lease a key has, never the lease's TTL, and a lease
// granted after the snapshot is in no snapshot.
func (f *Follower) learnLease(ctx context.Context, cli *clientv3.Client, w *Writer, id int64) error {
	lctx, cancel := context.WithTimeout(ctx, f.o.DialTimeout)
	defer cancel()
	rec := &Lease{ID: id, TTL: -1, Learned: time.Now()}
	resp, err := cli.TimeToLive(lctx, clientv3.LeaseID(id))
	switch {
	case err == nil:
		rec.GrantedTTL, rec.TTL = resp.GrantedTTL, resp.TTL
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
	default:
		return fmt.Errorf("learn lease %x: %w", id, err)
	}
	if err := w.Append(rec); err != nil {
		return err
	}
	f.leases[id] = true
	return nil
}

// observe notes a revision that etcd has reached.
func (f *Follower) observe(rev int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rev <= f.seenRev {
		return
	}
	if f.behindSince.IsZero() || f.w.durableRev() >= f.seenRev {
		f.behindSince = time.Now() // was caught up until now
	}
	f.seenRev = rev
}

// Stats returns the follower's state and lag.
func (f *Follower) Stats() FollowStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := FollowStats{Running: f.running, SeenRev: f.seenRev}
	if f.w == nil {
		return s
	}
	s.Writer = f.w.Stats()
	s.ChainID, s.StartRev, s.DurableRev = s.Writer.ChainID, s.Writer.StartRev, s.Writer.DurableRev
	if s.DurableRev >= s.SeenRev {
		f.behindSince = time.Time{}
		return s
	}
	s.LagRevs = s.SeenRev - s.DurableRev
	since := f.behindSince
	if s.Writer.LastSync.After(since) {
		since = s.Writer.LastSync
	}
	if !since.IsZero() {
		s.Lag = time.Since(since)
	}
	return s
}
