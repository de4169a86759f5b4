package journal

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/encoding/protowire"
)

// etcd's MVCC layout in its bbolt database, the same in every etcd 3
// release (server/storage/mvcc/revision.go, server/storage/schema): the
// "key" bucket maps a revision to the KeyValue written at it, the "lease"
// bucket a lease ID to its Lease, and the "meta" bucket holds the
// compaction's revisions. etcd rebuilds its key index from the "key"
// bucket when it opens the database.
var (
	bucketKey   = []byte("key")
	bucketLease = []byte("lease")
	bucketMeta  = []byte("meta")

	metaFinishedCompact = []byte("finishedCompactRev")
)

const (
	revBytesLen       = 8 + 1 + 8 // main, '_', sub: big endian
	markedRevBytesLen = revBytesLen + 1
	markTombstone     = 't'
)

// applyBatchBytes bounds what one bbolt transaction writes, so that a long
// chain does not hold all its pages in memory until one commit.
const applyBatchBytes = 32 << 20

// ApplyToDB writes chain chainID into dbFile, the database of the snapshot
// the chain follows (as `snapshot save` wrote it, or copied from a data
// dir), in etcd's own layout: every event goes into the "key" bucket under
// its original revision and sub-revision, with the KeyValue etcd stored
// (its watch reports exactly that), and every lease the chain's keys use
// into the "lease" bucket when the snapshot lacks it. Revisions, create
// revisions, versions and leases are then what etcd had, byte for byte,
// and nothing runs meanwhile that could expire a lease.
//
// The database must be at the chain's start revision, and afterwards it
// must end at the chain's last. etcd's sha256 trailer, which no longer
// matches, is cut: restore the file with --skip-hash-check. The chain is
// read once, checked as it is written: on an error (a gap or a corrupt
// record too) the file holds a partial write and must be discarded.
func ApplyToDB(ctx context.Context, root, chainID, dbFile string) (ReplayResult, error) {
	res := ReplayResult{ChainID: chainID}
	r, err := OpenChain(root, chainID)
	if err != nil {
		return res, fmt.Errorf("apply chain %s: %w", chainID, err)
	}
	res.SnapshotID = r.Header().SnapshotID
	if err := applyToDB(ctx, r, dbFile, &res); err != nil {
		return res, fmt.Errorf("apply chain %s to %s: %w", chainID, dbFile, err)
	}
	res.Torn = r.Torn()
	return res, nil
}

func applyToDB(ctx context.Context, r *Reader, dbFile string, res *ReplayResult) error {
	if err := cutTrailer(dbFile); err != nil {
		return err
	}
	// The chain is read and decompressed ahead, while bbolt opens the
	// database (it walks every page to find the free ones) and writes.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	recs := prefetch(ctx, r)
	db, err := bolt.Open(dbFile, 0o600, &bolt.Options{
		Timeout: time.Second, NoSync: true, NoGrowSync: true,
		// As etcd opens it: a database etcd wrote has no freelist page.
		NoFreelistSync: true, FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		return fmt.Errorf("open the database: %w", err)
	}
	defer db.Close()
	if res.FromRev, err = dbRevision(db); err != nil {
		return err
	}
	if start := r.Header().StartRev; res.FromRev != start {
		return fmt.Errorf("the database is at revision %d, the chain follows revision %d", res.FromRev, start)
	}
	res.LastRev = res.FromRev
	if err := putRecords(ctx, db, recs, res); err != nil {
		return err
	}
	got, err := dbRevision(db)
	if err == nil && (got != res.LastRev || res.LastRev != r.LastRev()) {
		err = fmt.Errorf("the database is at revision %d after the apply, the chain ends at %d", got, r.LastRev())
	}
	if err != nil {
		return err
	}
	return db.Close() // no fsync: the file is restore's input on the tmpfs
}

// cutTrailer removes the sha256 that `snapshot save` appends to the
// database (etcd recognises it by size % 512 == 32): bbolt would not
// expect it, and it no longer matches once the chain is written.
func cutTrailer(dbFile string) error {
	fi, err := os.Stat(dbFile)
	if err != nil {
		return err
	}
	if fi.Size()%512 != sha256.Size {
		return nil
	}
	return os.Truncate(dbFile, fi.Size()-sha256.Size)
}

// dbRevision is the revision etcd would start at on db: the newest
// revision in the "key" bucket, or the finished compaction's when that is
// later (a compaction removes the tombstones at and before it).
func dbRevision(db *bolt.DB) (int64, error) {
	var rev int64
	err := db.View(func(tx *bolt.Tx) error {
		kb := tx.Bucket(bucketKey)
		if kb == nil || tx.Bucket(bucketMeta) == nil {
			return errors.New("not an etcd database: no key or meta bucket")
		}
		if k, _ := kb.Cursor().Last(); k != nil {
			if len(k) != revBytesLen && len(k) != markedRevBytesLen {
				return fmt.Errorf("not an etcd database: key bucket entry of %d bytes", len(k))
			}
			rev = int64(binary.BigEndian.Uint64(k))
		}
		if v := tx.Bucket(bucketMeta).Get(metaFinishedCompact); v != nil {
			if len(v) != revBytesLen {
				return fmt.Errorf("not an etcd database: %s of %d bytes", metaFinishedCompact, len(v))
			}
			rev = max(rev, int64(binary.BigEndian.Uint64(v)))
		}
		return nil
	})
	return rev, err
}

// putRecords writes the chain's records as they are read, in bbolt
// transactions of up to applyBatchBytes: each revision's events into the
// "key" bucket, and each lease the database lacks into the "lease" bucket
// (a lease record comes before the first revision that uses it), with the
// TTL it was granted (etcd counts it down afresh when it starts, as for
// every lease it recovers; a lease already gone when the journal learned
// it gets the shortest, as in Replay).
func putRecords(ctx context.Context, db *bolt.DB, recs <-chan readRecord, res *ReplayResult) error {
	var tx *bolt.Tx
	defer func() {
		if tx != nil {
			tx.Rollback()
		}
	}()
	var kb, lb *bolt.Bucket
	batch := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		next, ok := <-recs
		if !ok {
			return ctx.Err()
		}
		rec, err := next.rec, next.err
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if tx == nil {
			if tx, err = db.Begin(true); err != nil {
				return err
			}
			kb = tx.Bucket(bucketKey)
			kb.FillPercent = 1 // appended in order: full pages, none written twice
			if lb, err = tx.CreateBucketIfNotExists(bucketLease); err != nil {
				return err
			}
		}
		switch rec := rec.(type) {
		case *Lease:
			k := binary.BigEndian.AppendUint64(nil, uint64(rec.ID))
			if lb.Get(k) != nil {
				continue
			}
			ttl := rec.GrantedTTL
			if ttl <= 0 {
				ttl = goneLeaseTTL
			}
			if err := lb.Put(k, leaseValue(rec.ID, ttl)); err != nil {
				return err
			}
			res.Leases++
		case *Revision:
			if rec.Rev <= res.FromRev {
				continue
			}
			for sub, e := range rec.Events {
				k, v, err := mvccEntry(rec.Rev, int64(sub), &e)
				if err == nil {
					err = kb.Put(k, v)
				}
				if err != nil {
					return fmt.Errorf("revision %d: %w", rec.Rev, err)
				}
				batch += len(k) + len(v)
			}
			res.Revisions++
			res.LastRev, res.LastSeen = rec.Rev, rec.Seen
		}
		if batch >= applyBatchBytes {
			err := tx.Commit()
			tx, batch = nil, 0
			if err != nil {
				return err
			}
		}
	}
	if tx == nil {
		return nil
	}
	err := tx.Commit()
	tx = nil
	return err
}

type readRecord struct {
	rec Record
	err error
}

// prefetch reads r's records into the channel it returns, in a goroutine
// of its own, up to and with the first error (io.EOF at the end). It stops
// early, closing the channel, when ctx ends.
func prefetch(ctx context.Context, r *Reader) <-chan readRecord {
	ch := make(chan readRecord, 4096)
	go func() {
		defer close(ch)
		for {
			rec, err := r.Next()
			select {
			case ch <- readRecord{rec, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// leaseValue is etcd's leasepb.Lease{ID, TTL} in protobuf wire format.
func leaseValue(id, ttl int64) []byte {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(id))
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(ttl))
}

// mvccEntry is the "key" bucket's entry for event e, the sub-th of its
// revision: the KeyValue etcd stored for a put, the key alone under a
// tombstone revision for a delete.
func mvccEntry(rev, sub int64, e *Event) (k, v []byte, err error) {
	k = make([]byte, revBytesLen, markedRevBytesLen)
	binary.BigEndian.PutUint64(k, uint64(rev))
	k[8] = '_'
	binary.BigEndian.PutUint64(k[9:], uint64(sub))
	kv := mvccpb.KeyValue{Key: e.Key}
	switch e.Type {
	case Delete:
		k = append(k, markTombstone)
	case Put:
		if e.Version < 1 || e.CreateRev < 1 || e.CreateRev > rev || (e.Version == 1) != (e.CreateRev == rev) {
			return nil, nil, fmt.Errorf("%w: put of %q with create revision %d, version %d", ErrCorrupt, e.Key, e.CreateRev, e.Version)
		}
		kv.CreateRevision, kv.ModRevision, kv.Version, kv.Value, kv.Lease = e.CreateRev, rev, e.Version, e.Value, e.Lease
	default:
		return nil, nil, fmt.Errorf("%w: event type %d", ErrCorrupt, e.Type)
	}
	if len(e.Key) == 0 {
		return nil, nil, fmt.Errorf("%w: event without a key", ErrCorrupt)
	}
	v, err = kv.Marshal()
	return k, v, err
}
