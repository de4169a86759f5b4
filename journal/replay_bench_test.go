package journal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkReplay prints the replay's pace (revisions/s) into a real etcd
// whose data dir is on /dev/shm, as a restore's is on the tmpfs: N
// revisions of one ~1 KiB put each, the shape of Kubernetes' writes. The
// restore's own figures (bench/) include this replay.
func BenchmarkReplay(b *testing.B) {
	const n = 3000
	root := b.TempDir()
	w, err := Create(root, Header{StartRev: 1, SnapshotID: "s"}, WriterOptions{Sync: (&syncCounter{}).sync})
	if err != nil {
		b.Fatal(err)
	}
	val := strings.Repeat("x", 1000)
	for rev := int64(2); rev <= n+1; rev++ {
		if err := w.Append(&Revision{Rev: rev, Events: []Event{{Type: Put, Key: []byte(fmt.Sprintf("/registry/pods/p%d", rev%300)), Value: []byte(val), ModRev: rev, CreateRev: rev, Version: 1}}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		dir, err := os.MkdirTemp("/dev/shm", "replay-bench-")
		if err != nil {
			b.Fatal(err)
		}
		e := startEtcd(b, "replay", dir, "")
		ctx := context.Background()
		// A new etcd is at revision 1, the chain's start: nothing to skip.
		start := time.Now()
		res, err := Replay(ctx, e.cli, root, w.Header().ChainID, ReplayOptions{})
		if err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		b.ReportMetric(float64(res.Revisions)/d.Seconds(), "rev/s")
		e.stop(b)
		os.RemoveAll(dir)
	}
}

// BenchmarkApplyToDB prints the pace of ApplyToDB (revisions/s): a chain
// of 18,000 revisions (30 minutes at 10 writes/s) of one put each (the
// bench load's sizes, 300 to 4,000 bytes) written into a copy, on /dev/shm as a restore's is on the tmpfs, of a
// ~135 MiB database in etcd's layout (100,000 keys of ~1.3 KiB).
func BenchmarkApplyToDB(b *testing.B) {
	const keys, n = 100_000, 18_000
	dir, err := os.MkdirTemp("/dev/shm", "apply-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	base := filepath.Join(dir, "base.db")
	// As etcd writes it: no freelist page, which the apply rebuilds.
	db, err := bolt.Open(base, 0o600, &bolt.Options{NoSync: true, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		b.Fatal(err)
	}
	fill := strings.Repeat("f", 1300)
	for done := 0; done < keys; {
		err := db.Update(func(tx *bolt.Tx) error {
			kb, err := tx.CreateBucketIfNotExists(bucketKey)
			if err != nil {
				return err
			}
			if _, err := tx.CreateBucketIfNotExists(bucketMeta); err != nil {
				return err
			}
			kb.FillPercent = 0.9
			for end := min(done+10_000, keys); done < end; done++ {
				rev := int64(done + 2)
				k, v, err := mvccEntry(rev, 0, &Event{Type: Put, Key: []byte(fmt.Sprintf("/fill/%08d", done)), Value: []byte(fill), CreateRev: rev, Version: 1})
				if err != nil {
					return err
				}
				if err := kb.Put(k, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	start := int64(keys + 1)
	root := filepath.Join(dir, "journal")
	w, err := Create(root, Header{StartRev: start, SnapshotID: "s"}, WriterOptions{Sync: (&syncCounter{}).sync})
	if err != nil {
		b.Fatal(err)
	}
	// The bench's load mix, about: lease renewals of 300-400 bytes,
	// events of 700, pod updates of 4,000.
	sizes := []int{300, 400, 700, 4000}
	for rev := start + 1; rev <= start+n; rev++ {
		val := strings.Repeat("x", sizes[rev%4])
		if err := w.Append(&Revision{Rev: rev, Events: []Event{{Type: Put, Key: []byte(fmt.Sprintf("/registry/pods/p%d", rev%300)), Value: []byte(val), ModRev: rev, CreateRev: rev, Version: 1}}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(base)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(raw))/(1<<20), "db-MiB")
	for i := 0; i < b.N; i++ {
		p := filepath.Join(dir, "snapshot.db")
		if err := os.WriteFile(p, raw, 0o600); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		res, err := ApplyToDB(context.Background(), root, w.Header().ChainID, p)
		if err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		b.ReportMetric(float64(res.Revisions)/d.Seconds(), "rev/s")
		b.ReportMetric(float64(d.Milliseconds()), "ms/apply")
	}
}
