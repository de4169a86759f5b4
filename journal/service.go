package journal

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/filelock"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// LockName is the file in the journal's root that the service holds an
// flock on while it runs, so that two services never write at once.
const LockName = "lock"

// MaxInterval is the longest group commit interval the service accepts: a
// power cut loses at most about one interval.
const MaxInterval = 5 * time.Second

const (
	defaultMaxBackoff    = 5 * time.Second
	minBackoff           = 250 * time.Millisecond
	defaultSnapshotRetry = time.Minute
	probeTimeout         = 2 * time.Second
)

// errNoSnapshot: the store has no good snapshot for a chain to follow.
var errNoSnapshot = errors.New("no snapshot to start a chain from")

// ServeOptions say how the journal service runs.
type ServeOptions struct {
	// Interval is the group commit interval, and how often the service
	// publishes its State and looks for a newer snapshot; DefaultInterval
	// when 0.
	Interval time.Duration
	// StatePath is where the State goes, on a tmpfs; DefaultStatePath when "".
	StatePath string
	// LockTimeout bounds the wait for the service's own lock at the start
	// and for the store's lock when a chain is started or removed (one try
	// when 0).
	LockTimeout time.Duration
	// Snapshot takes a fresh snapshot into the store (the command runs a
	// backup) when no chain can go on: a gap, or no snapshot at all. It is
	// called at most once per SnapshotRetry (a minute when 0).
	Snapshot      func(ctx context.Context) error
	SnapshotRetry time.Duration
	// MaxBackoff bounds the wait between attempts; 5 s when 0.
	MaxBackoff time.Duration
	// Endpoint and TLS reach etcd instead of the manifest's loopback client
	// URL and healthcheck client certificate.
	Endpoint string
	TLS      *tls.Config
	// Writer is how the chains are written; its Interval is Interval.
	Writer WriterOptions
}

// service is one run of the journal service.
type service struct {
	st   *store.Store
	m    *manifest.Etcd
	o    ServeOptions
	root string

	endpoint string // once known, with tls
	tls      *tls.Config

	state    State       // as last published
	closed   WriterStats // the counters of this run's writers that are closed
	wait     time.Duration
	stateErr string // the last error writing the state, logged once

	// After a gap, no chain of the snapshot that was newest then is followed
	// again: the service waits for a newer one, asking for it.
	gapOn  string
	gapErr error
	asked  time.Time // when Snapshot was last called
	kept   string    // the snapshot whose older chains are already removed
	// need is the revision the current chain must hold durably before the
	// older chains go (their last revision), computed once per snapshot.
	need    int64
	needFor string
}

// etcdState is who etcd is and where it stands; rev 0 is unknown.
type etcdState struct {
	cluster, member uint64
	rev             int64
}

// Serve runs the journal service until ctx ends: it follows etcd from the
// newest good snapshot on into a chain under st.JournalDir(), starts a new
// chain when a newer snapshot appears (copying what the old chain holds
// after it) or when a gap stops the chain (after asking o.Snapshot for a
// fresh snapshot), and publishes its State on o.StatePath. On ctx's end it
// flushes and closes the chain and returns nil. m is the parsed manifest:
// its loopback client URL and healthcheck client certificate reach etcd.
func Serve(ctx context.Context, st *store.Store, m *manifest.Etcd, o ServeOptions) error {
	s := newService(st, m, o)
	if err := os.MkdirAll(s.root, dirMode); err != nil {
		return fmt.Errorf("journal dir: %w", err)
	}
	release, err := filelock.Lock(ctx, filepath.Join(s.root, LockName), o.LockTimeout)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal service lock (another journal service runs?): %w", err)
	}
	defer release()
	if err := os.RemoveAll(s.stagingDir()); err != nil {
		logging.G(ctx).Warn("journal: leftover chain not removed", "dir", s.stagingDir(), "err", err)
	}
	s.publish(ctx)
	for ctx.Err() == nil {
		err := s.step(ctx)
		if ctx.Err() != nil {
			break
		}
		if err == nil {
			err = errors.New("journal follower stopped")
		}
		s.fail(ctx, err)
		if (errors.Is(err, ErrGap) || errors.Is(err, errNoSnapshot)) && s.askSnapshot(ctx) {
			continue // a newer snapshot: start its chain at once
		}
		s.pause(ctx)
	}
	s.state.Running, s.state.LastError = false, ""
	s.publish(ctx)
	logging.G(ctx).Info("journal stopped", "chain", s.state.ChainID, "durableRevision", s.state.DurableRev)
	return nil
}

func newService(st *store.Store, m *manifest.Etcd, o ServeOptions) *service {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.StatePath == "" {
		o.StatePath = DefaultStatePath
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = defaultMaxBackoff
	}
	if o.SnapshotRetry <= 0 {
		o.SnapshotRetry = defaultSnapshotRetry
	}
	o.Writer.Interval = o.Interval
	now := time.Now()
	return &service{st: st, m: m, o: o, root: st.JournalDir(),
		state: State{PID: os.Getpid(), Started: now, Interval: o.Interval}}
}

// step follows etcd into the chain of the newest snapshot, and into the
// next one at each rotation, until ctx ends (nil) or the chain cannot go on.
func (s *service) step(ctx context.Context) error {
	if err := s.connect(); err != nil {
		return err
	}
	etcd, err := s.probe(ctx)
	if err != nil {
		return fmt.Errorf("etcd %s does not answer: %w", s.endpoint, err)
	}
	snap, err := s.st.Newest()
	if errors.Is(err, store.ErrNoSnapshot) {
		return errNoSnapshot
	}
	if err != nil {
		return err
	}
	if snap.Meta.ID == s.gapOn {
		return s.gapErr
	}
	s.gapOn, s.gapErr = "", nil
	hdr, err := s.chainFor(ctx, snap, etcd)
	for err == nil {
		var next *rotation
		if next, err = s.follow(ctx, snap, hdr); next == nil {
			break
		}
		snap = next.snap
		hdr, err = s.rotate(ctx, next)
	}
	if errors.Is(err, ErrGap) {
		s.gapOn, s.gapErr = snap.Meta.ID, err
		logging.G(ctx).Warn("journal gap: this chain cannot go on; a fresh snapshot starts a new one",
			"snapshot", snap.Meta.ID, "chain", hdr.ChainID, "err", err)
	}
	return err
}

// connect finds out how to reach etcd, once.
func (s *service) connect() error {
	switch {
	case s.endpoint != "":
	case s.o.Endpoint != "":
		s.endpoint, s.tls = s.o.Endpoint, s.o.TLS
	case s.m == nil:
		return errors.New("reach etcd: neither a manifest nor an endpoint")
	default:
		ep, cfg, err := etcdtool.ClientConfig(s.m)
		if err != nil {
			return fmt.Errorf("reach etcd: %w", err)
		}
		s.endpoint, s.tls = ep, cfg
	}
	return nil
}

// probe asks etcd who it is and where it stands.
func (s *service) probe(ctx context.Context) (etcdState, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{s.endpoint}, TLS: s.tls,
		DialTimeout: probeTimeout, Logger: zap.NewNop(), Context: ctx})
	if err != nil {
		return etcdState{}, err
	}
	defer cli.Close()
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	resp, err := cli.Status(pctx, s.endpoint)
	if err != nil {
		return etcdState{}, err
	}
	h := resp.Header
	return etcdState{cluster: h.ClusterId, member: h.MemberId, rev: h.Revision}, nil
}

// rotation is the switch to a newer snapshot's chain: the chain just
// stopped, and the store lock, held until the new chain is in place.
type rotation struct {
	snap   *store.Snapshot
	prev   Header
	unlock func() error
}

// follow runs a follower on chain hdr of snap until ctx ends (nil, nil),
// the follower fails, or a newer snapshot appears: then it stops the
// follower (flushed and closed) and returns the rotation.
func (s *service) follow(ctx context.Context, snap *store.Snapshot, hdr Header) (*rotation, error) {
	f := NewFollower(FollowOptions{Endpoint: s.endpoint, TLS: s.tls, Dir: s.root,
		Resume: hdr.ChainID, SnapshotID: snap.Meta.ID, Writer: s.o.Writer})
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(fctx) }()
	tick := time.NewTicker(s.o.Interval)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			fs := f.Stats()
			s.following(ctx, snap, hdr, fs)
			s.count(fs.Writer)
			if ctx.Err() != nil {
				return nil, nil
			}
			if err == nil {
				err = errors.New("journal follower stopped")
			}
			return nil, err
		case <-tick.C:
			fs := f.Stats()
			s.following(ctx, snap, hdr, fs)
			if fs.Running {
				s.retire(ctx, snap, fs.DurableRev)
			}
			r := s.rotation(ctx, snap)
			if r == nil {
				continue
			}
			cancel()
			err := <-done
			s.count(f.Stats().Writer)
			if err != nil {
				r.unlock()
				return nil, err
			}
			r.prev = hdr
			return r, nil
		}
	}
}

// rotation returns the rotation to a newer snapshot when there is one and
// the store lock is free now; a backup that holds it is waited out while
// the follower goes on.
func (s *service) rotation(ctx context.Context, cur *store.Snapshot) *rotation {
	snap, err := s.st.Newest()
	if err != nil || snap.Meta.ID == cur.Meta.ID {
		return nil
	}
	unlock, err := s.st.Lock(ctx, 0, "journal (rotation)")
	if err != nil {
		logging.G(ctx).Debug("journal rotation waits for the store lock", "snapshot", snap.Meta.ID, "err", err)
		return nil
	}
	return &rotation{snap: snap, unlock: unlock}
}

// following publishes the state of the follower of chain hdr.
func (s *service) following(ctx context.Context, snap *store.Snapshot, hdr Header, fs FollowStats) {
	st := &s.state
	st.Running = fs.Running
	st.ChainID, st.SnapshotID, st.StartRev = hdr.ChainID, snap.Meta.ID, hdr.StartRev
	st.SeenRev, st.DurableRev, st.LagRevs, st.LagSeconds = fs.SeenRev, fs.DurableRev, fs.LagRevs, fs.Lag.Seconds()
	if fs.Writer.LastSync.After(st.LastSync) {
		st.LastSync = fs.Writer.LastSync
	}
	st.Bytes = s.closed.BytesWritten + fs.Writer.BytesWritten
	st.Syncs = s.closed.Syncs + fs.Writer.Syncs
	if recovered(fs) {
		if st.LastError != "" {
			logging.G(ctx).Info("journal following etcd", "chain", hdr.ChainID, "snapshot", snap.Meta.ID, "revision", fs.DurableRev)
		}
		st.LastError, s.wait, s.asked = "", 0, time.Time{}
	}
	s.publish(ctx)
}

// recovered says whether a follower has shown that the chain goes on: it
// committed, or it has nothing to commit. A follower that has only opened
// the chain again has not: on a full disk or a failing one it reopens the
// chain after every failed commit, and the error it failed with stands
// until a commit succeeds.
func recovered(fs FollowStats) bool {
	return fs.Running && (!fs.Writer.LastSync.IsZero() || fs.DurableRev >= fs.SeenRev)
}

// count adds a closed writer's counters to the run's.
func (s *service) count(w WriterStats) {
	s.closed.BytesWritten += w.BytesWritten
	s.closed.Syncs += w.Syncs
	s.state.Bytes, s.state.Syncs = s.closed.BytesWritten, s.closed.Syncs
}

// fail publishes why the service is not following etcd, logging each new
// reason once.
func (s *service) fail(ctx context.Context, err error) {
	msg := err.Error()
	if msg != s.state.LastError && !errors.Is(err, ErrGap) {
		logging.G(ctx).Warn("journal not following etcd; retrying", "err", err)
	}
	s.state.Running, s.state.LastError = false, msg
	s.publish(ctx)
}

// askSnapshot calls Snapshot, at most once per SnapshotRetry, and reports
// whether the newest snapshot changed.
func (s *service) askSnapshot(ctx context.Context) bool {
	if s.o.Snapshot == nil || (!s.asked.IsZero() && time.Since(s.asked) < s.o.SnapshotRetry) {
		return false
	}
	s.asked = time.Now()
	before := s.newestID()
	logging.G(ctx).Info("journal asks for a fresh snapshot", "why", s.state.LastError)
	err := s.o.Snapshot(ctx)
	after := s.newestID()
	switch {
	case ctx.Err() != nil:
		return false
	case err != nil:
		logging.G(ctx).Warn("journal snapshot failed", "err", err)
	case after == before:
		logging.G(ctx).Warn("journal snapshot unchanged: no newer snapshot to start a chain from", "newest", before)
	default:
		logging.G(ctx).Info("journal snapshot taken", "snapshot", after)
	}
	return after != before
}

func (s *service) newestID() string {
	snap, err := s.st.Newest()
	if err != nil {
		return ""
	}
	return snap.Meta.ID
}

// pause waits the next backoff, publishing the state once per interval.
func (s *service) pause(ctx context.Context) {
	s.wait = min(max(2*s.wait, minBackoff), s.o.MaxBackoff)
	deadline := time.Now().Add(s.wait)
	for left := s.wait; left > 0; left = time.Until(deadline) {
		t := time.NewTimer(min(left, s.o.Interval))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.publish(ctx)
	}
}

// publish writes the state; a failure is logged once, never fatal.
func (s *service) publish(ctx context.Context) {
	s.state.Updated = time.Now()
	err := WriteState(s.o.StatePath, s.state)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg != s.stateErr && err != nil {
		logging.G(ctx).Warn("journal state not published", "path", s.o.StatePath, "err", err)
	}
	s.stateErr = msg
}
