package etcdtool

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/opencontainers/go-digest"
)

// Recorded facts answer without touching the runtime (nil here): no layer
// scan and no help container once a digest is known.
func TestImageFactsFromTheStore(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	dgst := digest.Digest("sha256:" + strings.Repeat("ef", 32))
	no := false
	if err := st.WriteImageFacts(store.ImageFacts{Digest: dgst.String(), Etcdctl: "/usr/local/bin/etcdctl", BumpRevision: &no}); err != nil {
		t.Fatal(err)
	}
	f, err := ImageFacts(context.Background(), nil, st, &erdrt.Image{Reference: "etcd:test", Digest: dgst}, true)
	if err != nil {
		t.Fatal(err)
	}
	if tools := FactsTools(f); tools.Etcdctl != "/usr/local/bin/etcdctl" || tools.Etcdutl != "" {
		t.Errorf("tools = %+v", tools)
	}
	w := &Workspace{tools: FactsTools(f)}
	if ok, err := w.BumpSupported(context.Background(), st, f); ok || err != nil {
		t.Errorf("BumpSupported = %v, %v; want the recorded false", ok, err)
	}
}
