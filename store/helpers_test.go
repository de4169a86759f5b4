package store

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

var baseTime = time.Date(2026, 11, 25, 14, 45, 30, 0, time.UTC)

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// testMeta returns metadata with every caller-filled field valid.
func testMeta(at time.Time, revision int64) *Metadata {
	return &Metadata{
		FormatVersion: FormatVersion,
		Time:          at,
		Reason:        ReasonCron,
		Node:          "node1",
		Image:         Image{Reference: "registry.k8s.io/etcd:3.6.5-0", Digest: "sha256:" + string(bytes.Repeat([]byte("ab"), 32))},
		Etcd:          EtcdStatus{Version: "3.6.5", Revision: revision, Hash: 42, TotalKeys: 100, TotalSize: 1 << 20},
		Member: Member{
			Name:                     "node1",
			InitialCluster:           "node1=https://10.0.0.1:2380",
			InitialAdvertisePeerURLs: []string{"https://10.0.0.1:2380"},
			DataDir:                  "/var/lib/etcd",
		},
	}
}

// testData returns n compressible bytes, roughly like a database of
// similar keys and values.
func testData(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	words := []string{"/registry/pods/", "kube-system/", "default/", "etcd", "apiVersion", "metadata", "\x00\x01", "spec"}
	var b bytes.Buffer
	for b.Len() < n {
		if rng.IntN(4) == 0 {
			var r [8]byte
			for i := range r {
				r[i] = byte(rng.Uint32())
			}
			b.Write(r[:])
			continue
		}
		b.WriteString(words[rng.IntN(len(words))])
	}
	return b.Bytes()[:n]
}

func writeSnap(t testing.TB, s *Store, meta *Metadata, data []byte, kind Kind) *Snapshot {
	t.Helper()
	snap, err := s.Write(context.Background(), meta, bytes.NewReader(data), kind)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return snap
}

func readRaw(t *testing.T, s *Store, snap *Snapshot) ([]byte, error) {
	t.Helper()
	r, err := s.OpenRaw(snap)
	if err != nil {
		t.Fatalf("OpenRaw: %v", err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// makeOld backdates path past staleAge, so CleanTemp treats it as stale.
func makeOld(t *testing.T, path string) {
	t.Helper()
	old := time.Now().Add(-2 * staleAge)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

func ids(snaps []Snapshot) []string {
	out := make([]string, len(snaps))
	for i, s := range snaps {
		out[i] = s.Meta.ID
	}
	return out
}
