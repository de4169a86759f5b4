package journal

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/encoding/protowire"
)

// testDB makes a database in etcd's layout at revision rev (one key
// written then), finished compaction at compacted when not 0, holding
// lease 7, with a `snapshot save` trailer; buckets names those to create.
func testDB(t *testing.T, rev, compacted int64, buckets ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "snapshot.db")
	db, err := bolt.Open(p, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(buckets) == 0 {
		buckets = []string{"key", "meta", "lease"}
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucket([]byte(b)); err != nil {
				return err
			}
		}
		if kb := tx.Bucket(bucketKey); kb != nil {
			kv := mvccpb.KeyValue{Key: []byte("/old"), Value: []byte("x"), CreateRevision: rev, ModRevision: rev, Version: 1}
			v, _ := kv.Marshal()
			k, _, _ := mvccEntry(rev, 0, &Event{Type: Delete, Key: kv.Key})
			if err := kb.Put(k[:revBytesLen], v); err != nil {
				return err
			}
		}
		if mb := tx.Bucket(bucketMeta); mb != nil && compacted > 0 {
			k, _, _ := mvccEntry(compacted, 0, &Event{Type: Delete, Key: []byte("x")})
			if err := mb.Put(metaFinishedCompact, k[:revBytesLen]); err != nil {
				return err
			}
		}
		if lb := tx.Bucket(bucketLease); lb != nil {
			return lb.Put(binary.BigEndian.AppendUint64(nil, 7), leaseValue(7, 60))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, sha256.Size)); err != nil {
		t.Fatal(err)
	}
	return p
}

// dbEntries reads the "key" bucket's entries after revision from, and
// the lease bucket.
func dbEntries(t *testing.T, p string, from int64) (keys []string, kvs []mvccpb.KeyValue, leases map[int64]int64) {
	t.Helper()
	db, err := bolt.Open(p, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	leases = map[int64]int64{}
	err = db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketKey).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if int64(binary.BigEndian.Uint64(k)) <= from {
				continue
			}
			var kv mvccpb.KeyValue
			if err := kv.Unmarshal(v); err != nil {
				return err
			}
			keys, kvs = append(keys, string(k)), append(kvs, kv)
		}
		return tx.Bucket(bucketLease).ForEach(func(k, v []byte) error {
			_, _, n := protowire.ConsumeTag(v)
			id, m := protowire.ConsumeVarint(v[n:])
			_, _, o := protowire.ConsumeTag(v[n+m:])
			ttl, _ := protowire.ConsumeVarint(v[n+m+o:])
			if int64(binary.BigEndian.Uint64(k)) != int64(id) {
				t.Errorf("lease %x stored under key %x", id, k)
			}
			leases[int64(id)] = int64(ttl)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys, kvs, leases
}

// ApplyToDB writes each event under its revision and sub-revision (a
// delete under a tombstone), adds the chain's leases the database lacks,
// and cuts etcd's trailer.
func TestApplyToDB(t *testing.T) {
	root := t.TempDir()
	w := newTestChain(t, root, WriterOptions{})
	for _, rec := range []Record{
		&Lease{ID: 7, GrantedTTL: 60, TTL: 50, Learned: time.UnixMilli(1000)}, // in the snapshot too
		&Lease{ID: 9, GrantedTTL: 3600, TTL: 3599, Learned: time.UnixMilli(1000)},
		&Lease{ID: 11, GrantedTTL: 0, TTL: -1, Learned: time.UnixMilli(1000)}, // gone when learned
		&Revision{Rev: 101, Seen: time.UnixMilli(2000), Events: []Event{
			{Type: Put, Key: []byte("/a"), Value: []byte("1"), CreateRev: 101, ModRev: 101, Version: 1, Lease: 9},
			{Type: Put, Key: []byte("/b"), Value: []byte("2"), CreateRev: 101, ModRev: 101, Version: 1, Lease: 11},
		}},
		&Revision{Rev: 102, Seen: time.UnixMilli(3000), Events: []Event{
			{Type: Put, Key: []byte("/a"), Value: []byte("3"), CreateRev: 101, ModRev: 102, Version: 2},
			{Type: Delete, Key: []byte("/b"), ModRev: 102},
		}},
	} {
		if err := w.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	db := testDB(t, 100, 0)
	res, err := ApplyToDB(context.Background(), root, w.Header().ChainID, db)
	if err != nil {
		t.Fatal(err)
	}
	if res.FromRev != 100 || res.LastRev != 102 || res.Revisions != 2 || res.Leases != 2 || !res.LastSeen.Equal(time.UnixMilli(3000)) {
		t.Errorf("result %+v", res)
	}
	if fi, err := os.Stat(db); err != nil || fi.Size()%512 != 0 {
		t.Errorf("the trailer is still there: %v %v", fi.Size(), err)
	}
	keys, kvs, leases := dbEntries(t, db, 100)
	want := []string{"101_0", "101_1", "102_0", "102_1t"}
	if len(keys) != len(want) {
		t.Fatalf("%d entries after revision 100, want %d", len(keys), len(want))
	}
	for i, k := range keys {
		got := strings.Join([]string{strconv.FormatUint(binary.BigEndian.Uint64([]byte(k)), 10), "_", strconv.FormatUint(binary.BigEndian.Uint64([]byte(k[9:17])), 10), k[17:]}, "")
		if got != want[i] {
			t.Errorf("entry %d: revision %s, want %s", i, got, want[i])
		}
	}
	if kv := kvs[0]; string(kv.Key) != "/a" || string(kv.Value) != "1" || kv.CreateRevision != 101 || kv.ModRevision != 101 || kv.Version != 1 || kv.Lease != 9 {
		t.Errorf("first put: %+v", kv)
	}
	if kv := kvs[2]; string(kv.Value) != "3" || kv.CreateRevision != 101 || kv.ModRevision != 102 || kv.Version != 2 || kv.Lease != 0 {
		t.Errorf("overwrite: %+v", kv)
	}
	if kv := kvs[3]; string(kv.Key) != "/b" || kv.ModRevision != 0 || kv.Version != 0 || len(kv.Value) != 0 {
		t.Errorf("tombstone: %+v, want the key alone, as etcd stores it", kv)
	}
	if len(leases) != 3 || leases[7] != 60 || leases[9] != 3600 || leases[11] != goneLeaseTTL {
		t.Errorf("leases %v: want 7 kept, 9 with its granted TTL, 11 with the shortest", leases)
	}
}

// The database must be where the chain starts, and be etcd's; a bad event
// is refused, not written.
func TestApplyToDBRefuses(t *testing.T) {
	root := t.TempDir()
	chain := writeTestChain(t, root, 150, WriterOptions{})
	ctx := context.Background()
	for _, c := range []struct {
		name string
		db   string
		want string
	}{
		{"an older database", testDB(t, 90, 0), "the database is at revision 90, the chain follows revision 100"},
		{"a newer database", testDB(t, 120, 0), "the database is at revision 120"},
		{"not etcd's", testDB(t, 100, 0, "other"), "not an etcd database"},
	} {
		if _, err := ApplyToDB(ctx, root, chain, c.db); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// Compacted at the chain's start: the tombstones up to it are gone.
	if res, err := ApplyToDB(ctx, root, chain, testDB(t, 80, 100)); err != nil || res.LastRev != 150 {
		t.Errorf("a database compacted at the chain's start: %+v %v", res, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ApplyToDB(cctx, root, chain, testDB(t, 100, 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}

	bad := t.TempDir()
	w := newTestChain(t, bad, WriterOptions{})
	if err := w.Append(&Revision{Rev: 101, Events: []Event{{Type: Put, Key: []byte("/a"), CreateRev: 101, ModRev: 101, Version: 2}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyToDB(ctx, bad, w.Header().ChainID, testDB(t, 100, 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a put created at its own revision with version 2: %v, want ErrCorrupt", err)
	}
}

// eventSize, what restore's room check counts per event: small entries
// share pages, one over half a page takes whole pages.
func TestEventSize(t *testing.T) {
	for _, c := range []struct {
		value int
		want  int64
	}{{100, 100 + 2 + eventOverhead}, {4000, 4096}, {4100, 8192}} {
		if got := eventSize(&Event{Key: []byte("/k"), Value: make([]byte, c.value)}); got != c.want {
			t.Errorf("a %d-byte value: %d, want %d", c.value, got, c.want)
		}
	}
}
