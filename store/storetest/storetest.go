package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Put stores a small snapshot of kind taken at at, at revision rev.
func Put(t testing.TB, st *store.Store, at time.Time, rev int64, kind store.Kind) {
	t.Helper()
	PutAs(t, st, at, store.Identity{}, rev, kind)
}

// PutAs is Put of a snapshot that recorded etcd's cluster and member IDs.
func PutAs(t testing.TB, st *store.Store, at time.Time, id store.Identity, rev int64, kind store.Kind) {
	t.Helper()
	m := &store.Metadata{
		Time: at, Reason: store.ReasonCron, Node: "node1",
		Image:  store.Image{Reference: "registry.k8s.io/etcd:3.6.16-0", Digest: "sha256:" + strings.Repeat("a", 64)},
		Etcd:   store.EtcdStatus{Identity: id, Version: "3.6.0", Revision: rev, Hash: 1, TotalKeys: 1, TotalSize: 20480},
		Member: store.Member{Name: "node1", InitialCluster: "node1=https://127.0.0.2:2380", InitialAdvertisePeerURLs: []string{"https://127.0.0.2:2380"}, InitialClusterToken: "etcd-cluster", DataDir: "/var/lib/etcd"},
	}
	if kind == store.Suspect {
		m.Suspect = "test"
	}
	if _, err := st.Write(context.Background(), m, strings.NewReader(strings.Repeat("x", 1000)), kind); err != nil {
		t.Fatal(err)
	}
}
