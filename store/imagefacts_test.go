package store

import (
	"strings"
	"testing"
)

func TestImageFactsRoundTrip(t *testing.T) {
	s := newStore(t)
	dgst := "sha256:" + strings.Repeat("ab", 32)
	if f, err := s.ReadImageFacts(dgst); f != nil || err != nil {
		t.Fatalf("no facts yet: got %+v, %v", f, err)
	}
	yes := true
	want := ImageFacts{Digest: dgst, Etcdctl: "/usr/local/bin/etcdctl", Etcdutl: "/usr/local/bin/etcdutl", BumpRevision: &yes}
	if err := s.WriteImageFacts(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadImageFacts(dgst)
	if err != nil || got == nil || got.Etcdctl != want.Etcdctl || got.Etcdutl != want.Etcdutl || got.BumpRevision == nil || !*got.BumpRevision {
		t.Fatalf("read back %+v, %v; want %+v", got, err, want)
	}
}

func TestImageFactsRefusesBadInput(t *testing.T) {
	s := newStore(t)
	dgst := "sha256:" + strings.Repeat("cd", 32)
	for _, f := range []ImageFacts{
		{Digest: "sha256:xyz", Etcdctl: "/bin/etcdctl"},
		{Digest: dgst},
		{Digest: dgst, Etcdctl: "bin/etcdctl"},
		{Digest: dgst, Etcdctl: "/bin/../etc/passwd"},
	} {
		if err := s.WriteImageFacts(f); err == nil {
			t.Errorf("WriteImageFacts(%+v) accepted", f)
		}
	}
	if _, err := s.ReadImageFacts("../x"); err == nil {
		t.Error("ReadImageFacts accepted a bad digest")
	}
}
