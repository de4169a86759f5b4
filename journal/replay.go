package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// goneLeaseTTL is granted to a lease that was already gone when the
// follower learned it: its keys outlive it only until their delete, which
// the chain holds unless it ended first; etcd raises it to its minimum.
const goneLeaseTTL = 1

// ReplayOptions say how strictly Replay matches the server to the chain.
type ReplayOptions struct {
	// Within lets the server hold a later snapshot of the chain's history
	// (at a revision inside the chain); the records up to it are skipped.
	// Without it, the server must be at the chain's start revision.
	Within bool
	// MaxTxnOps is the server's --max-txn-ops, when known: a chain with a
	// larger revision is refused before anything is applied.
	MaxTxnOps int

	afterTxn func() // tests slow the replay down
}

// ReplayResult says what a replay applied.
type ReplayResult struct {
	ChainID    string
	SnapshotID string
	FromRev    int64     // the server's revision before the replay
	Revisions  int       // revisions applied
	LastRev    int64     // the server's revision after the replay
	LastSeen   time.Time // when the follower saw LastRev; zero when unknown
	Leases     int       // leases granted
	Torn       Torn      // the torn tail the chain ended with, if any
}

// Replay applies chain chainID to the etcd that cli is connected to, which
// holds the restored snapshot the chain follows: one txn per revision, so
// that revisions, create revisions and versions come back as they were.
// The whole chain is verified before anything is applied; every lease is
// kept alive until Replay returns, so that none expires and shifts the
// revisions; each txn's revision is checked. On an error the server holds
// a partial replay and must be discarded. Stop the server soon after:
// its leases count down again once Replay returns.
func Replay(ctx context.Context, cli *clientv3.Client, root, chainID string, o ReplayOptions) (ReplayResult, error) {
	sum, err := Verify(root, chainID)
	if err != nil {
		return ReplayResult{}, fmt.Errorf("replay: %w", err)
	}
	res := ReplayResult{ChainID: chainID, SnapshotID: sum.Header.SnapshotID, Torn: sum.Torn}
	if o.MaxTxnOps > 0 && sum.MaxEvents > o.MaxTxnOps {
		return res, fmt.Errorf("replay chain %s: a revision has %d events, etcd takes %d per txn (--max-txn-ops)",
			chainID, sum.MaxEvents, o.MaxTxnOps)
	}
	if res.FromRev, err = serverRevision(ctx, cli); err != nil {
		return res, fmt.Errorf("replay chain %s: %w", chainID, err)
	}
	start := sum.Header.StartRev
	if res.FromRev != start && (!o.Within || res.FromRev < start || res.FromRev > sum.LastRev) {
		return res, fmt.Errorf("replay chain %s: etcd is at revision %d, the chain follows revision %d up to %d",
			chainID, res.FromRev, start, sum.LastRev)
	}
	res.LastRev = res.FromRev
	kctx, stop := context.WithCancel(ctx)
	defer stop()
	if res.Leases, err = holdLeases(kctx, cli, sum.Leases); err != nil {
		return res, fmt.Errorf("replay chain %s: %w", chainID, err)
	}
	if err := apply(ctx, cli, root, o, &res); err != nil {
		return res, fmt.Errorf("replay chain %s: %w", chainID, err)
	}
	rev, err := serverRevision(ctx, cli)
	if err == nil && rev != sum.LastRev {
		err = fmt.Errorf("etcd is at revision %d after the replay, the chain ends at %d", rev, sum.LastRev)
	}
	if err != nil {
		return res, fmt.Errorf("replay chain %s: %w", chainID, err)
	}
	return res, nil
}

func serverRevision(ctx context.Context, cli *clientv3.Client) (int64, error) {
	resp, err := cli.Get(ctx, "\x00", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("etcd revision: %w", err)
	}
	return resp.Header.Revision, nil
}

// holdLeases keeps every lease of the server alive until ctx ends, first
// those it has, then the chain's, granted under their own IDs (which the
// client's Grant cannot set). It returns how many it granted.
func holdLeases(ctx context.Context, cli *clientv3.Client, chain map[int64]Lease) (int, error) {
	have, err := cli.Leases(ctx)
	if err != nil {
		return 0, fmt.Errorf("list leases: %w", err)
	}
	for _, l := range have.Leases {
		if err := keepAlive(ctx, cli, int64(l.ID)); err != nil {
			return 0, err
		}
	}
	ids := make([]int64, 0, len(chain))
	for id := range chain {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	granted := 0
	lc := clientv3.RetryLeaseClient(cli)
	for _, id := range ids {
		ttl := chain[id].GrantedTTL
		if ttl <= 0 {
			ttl = goneLeaseTTL
		}
		_, err := lc.LeaseGrant(ctx, &pb.LeaseGrantRequest{ID: id, TTL: ttl})
		if errors.Is(rpctypes.Error(err), rpctypes.ErrLeaseExist) {
			continue // in the snapshot: kept alive above
		}
		if err != nil {
			return granted, fmt.Errorf("grant lease %x: %w", id, err)
		}
		granted++
		if err := keepAlive(ctx, cli, id); err != nil {
			return granted, err
		}
	}
	return granted, nil
}

func keepAlive(ctx context.Context, cli *clientv3.Client, id int64) error {
	ch, err := cli.KeepAlive(ctx, clientv3.LeaseID(id))
	if err != nil {
		return fmt.Errorf("keep lease %x alive: %w", id, err)
	}
	go func() {
		for range ch {
		}
	}()
	return nil
}

// apply sends one txn per revision record after the server's revision and
// checks that each lands on its own revision.
func apply(ctx context.Context, cli *clientv3.Client, root string, o ReplayOptions, res *ReplayResult) error {
	r, err := OpenChain(root, res.ChainID)
	if err != nil {
		return err
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rev, ok := rec.(*Revision)
		if !ok || rev.Rev <= res.FromRev {
			continue
		}
		resp, err := cli.Txn(ctx).Then(txnOps(rev)...).Commit()
		if err != nil {
			return fmt.Errorf("revision %d (%d events): %w", rev.Rev, len(rev.Events), err)
		}
		if resp.Header.Revision != rev.Rev {
			return fmt.Errorf("revision %d landed on etcd's revision %d", rev.Rev, resp.Header.Revision)
		}
		res.Revisions++
		res.LastRev, res.LastSeen = rev.Rev, rev.Seen
		if o.afterTxn != nil {
			o.afterTxn()
		}
	}
}

func txnOps(rev *Revision) []clientv3.Op {
	ops := make([]clientv3.Op, 0, len(rev.Events))
	for _, e := range rev.Events {
		if e.Type == Delete {
			ops = append(ops, clientv3.OpDelete(string(e.Key)))
			continue
		}
		var opts []clientv3.OpOption
		if e.Lease != 0 {
			opts = append(opts, clientv3.WithLease(clientv3.LeaseID(e.Lease)))
		}
		ops = append(ops, clientv3.OpPut(string(e.Key), string(e.Value), opts...))
	}
	return ops
}
