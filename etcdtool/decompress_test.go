package etcdtool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// storeRaw stores raw as a snapshot, as a backup would have.
func storeRaw(t testing.TB, raw []byte, source string) (*store.Store, *store.Snapshot) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	m := &store.Metadata{
		Time: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC), Reason: store.ReasonCron, Node: "node1", Source: source,
		Image:  store.Image{Reference: "registry.k8s.io/etcd:3.6.16-0", Digest: "sha256:" + strings.Repeat("a", 64)},
		Etcd:   store.EtcdStatus{Version: "3.6.0", Revision: 7, Hash: 1, TotalKeys: 1, TotalSize: int64(len(raw))},
		Member: store.Member{Name: "node1", InitialCluster: "node1=https://127.0.0.2:2380", InitialAdvertisePeerURLs: []string{"https://127.0.0.2:2380"}, InitialClusterToken: "etcd-cluster", DataDir: "/var/lib/etcd"},
	}
	snap, err := st.Write(context.Background(), m, bytes.NewReader(raw), store.Good)
	if err != nil {
		t.Fatal(err)
	}
	return st, snap
}

// decompress writes exactly the raw snapshot and checks etcd's trailer on the
// way: a snapshot whose trailer does not match its database is a bad snapshot
// (restore tries the next older one), whatever the store's own sha256 says.
func TestDecompressChecksTrailer(t *testing.T) {
	good := withTrailer(1 << 20)
	bad := append([]byte(nil), good...)
	bad[4096] ^= 0x80 // etcd sent one byte, the trailer says another
	cold := good[:1<<20]
	for _, c := range []struct {
		name    string
		raw     []byte
		source  string
		wantBad bool
	}{
		{"hot snapshot", good, store.SourceEtcd, false},
		{"trailer mismatch", bad, store.SourceEtcd, true},
		{"cold copy without trailer", cold, store.SourceDataDir, false},
	} {
		st, snap := storeRaw(t, c.raw, c.source)
		dst := filepath.Join(t.TempDir(), "snapshot.db")
		err := Decompress(context.Background(), st, snap, dst)
		if c.wantBad {
			if !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), "trailer") {
				t.Errorf("%s: err %v; want a bad snapshot naming the trailer", c.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got, err := os.ReadFile(dst)
		if err != nil || !bytes.Equal(got, c.raw) {
			t.Errorf("%s: decompressed %d bytes (err %v), want the %d raw bytes", c.name, len(got), err, len(c.raw))
		}
	}
}

// A stored byte flipped fails the store's sha256 and is a bad snapshot too.
func TestDecompressStoredCorruption(t *testing.T) {
	st, snap := storeRaw(t, withTrailer(1<<20), store.SourceEtcd)
	b, err := os.ReadFile(snap.Path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(snap.Path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Decompress(context.Background(), st, snap, filepath.Join(t.TempDir(), "snapshot.db")); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("err %v; want a bad snapshot", err)
	}
}

// A decompress stops when the run's context ends (SIGTERM, --timeout): the
// error is the context's, not a bad snapshot that restore would pass over.
func TestDecompressCancelled(t *testing.T) {
	st, snap := storeRaw(t, withTrailer(4<<20), store.SourceEtcd)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Decompress(ctx, st, snap, filepath.Join(t.TempDir(), "snapshot.db"))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("Decompress after cancel = %v, want context.Canceled and not a bad snapshot", err)
	}
}

// BenchmarkDecompress is restore's pass over a stored snapshot (zstd, the
// store's sha256, etcd's trailer, the writes) into a tmpfs, as restore stages
// it; it prints raw MB/s. ERD_BENCH_DECOMPRESS_MIB sets the size (default 256).
func BenchmarkDecompress(b *testing.B) {
	mib := 256
	if v := os.Getenv("ERD_BENCH_DECOMPRESS_MIB"); v != "" {
		if _, err := fmt.Sscan(v, &mib); err != nil {
			b.Fatal(err)
		}
	}
	raw := etcdLike(mib << 20)
	st, snap := storeRaw(b, raw, store.SourceEtcd)
	dir := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err = os.MkdirTemp("/dev/shm", "erd-bench-"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst := filepath.Join(dir, "snapshot.db")
		if err := Decompress(context.Background(), st, snap, dst); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.Remove(dst)
		b.StartTimer()
	}
}

// etcdLike is n bytes shaped like the bench's databases (half random, half a
// repeated pattern, in 4 KiB pages) with etcd's sha256 trailer.
func etcdLike(n int) []byte {
	n -= n % 512
	db := make([]byte, n)
	rng := rand.New(rand.NewSource(1))
	for off := 0; off < n; off += 4096 {
		page := db[off:min(off+4096, n)]
		rng.Read(page[:len(page)/2])
		for i := len(page) / 2; i < len(page); i++ {
			page[i] = byte(i % 7)
		}
	}
	sum := sha256.Sum256(db)
	return append(db, sum[:]...)
}
