package runtime

import (
	"errors"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

func TestPickEtcd(t *testing.T) {
	const (
		v36 = digest.Digest("sha256:36")
		v35 = digest.Digest("sha256:35")
	)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ctr := func(id string, running bool, d digest.Digest, age time.Duration) candidate {
		return candidate{ID: id, Image: string(d), Running: running, Digest: d, Created: t0.Add(-age)}
	}
	tests := []struct {
		name    string
		cands   []candidate
		want    digest.Digest
		waiting bool
		pick    string // ID, or "" for an error
		err     error
	}{
		{"one running", []candidate{ctr("a", true, v36, 0)}, v36, false, "a", nil},
		{"one running, stopped ones beside it", []candidate{ctr("old", false, v35, time.Hour), ctr("a", true, v36, 0), ctr("older", false, v36, 2*time.Hour)}, v36, false, "a", nil},
		{"none running", []candidate{ctr("old", false, v36, time.Hour)}, v36, false, "", ErrEtcdNotRunning},
		{"no containers at all", nil, v36, false, "", ErrEtcdNotRunning},
		// Not in an update: the lone etcd is the one that runs, whatever the
		// manifest now says; its image is the one its data is restored with.
		{"one running from another image, no update seen", []candidate{ctr("a", true, v35, 0)}, v36, false, "a", nil},
		{"one running, manifest image not in containerd", []candidate{ctr("a", true, v35, 0)}, "", false, "a", nil},
		// During an update's wait.
		{"two running while waiting", []candidate{ctr("old", true, v35, time.Minute), ctr("new", true, v36, 0)}, v36, true, "", errWait},
		{"update settled on the manifest's image", []candidate{ctr("old", false, v35, time.Minute), ctr("new", true, v36, 0)}, v36, true, "new", nil},
		{"only the old one left while waiting: wait for the new one", []candidate{ctr("old", true, v35, time.Minute), ctr("new", false, v36, 0)}, v36, true, "", errWait},
		{"none running while waiting (new one restarting)", []candidate{ctr("old", false, v35, time.Minute), ctr("new", false, v36, 0)}, v36, true, "", errWait},
		{"one left while waiting, manifest image unknown", []candidate{ctr("old", false, v35, time.Minute), ctr("new", true, v36, 0)}, "", true, "new", nil},
		// The wait is over.
		{"two running: the manifest's image wins over the newer one", []candidate{ctr("new-wrong", true, v35, 0), ctr("right", true, v36, time.Minute)}, v36, false, "right", nil},
		{"two running from the manifest's image: the newest", []candidate{ctr("old", true, v36, time.Minute), ctr("new", true, v36, 0), ctr("other", true, v35, -time.Minute)}, v36, false, "new", nil},
		{"two running, none from the manifest's image", []candidate{ctr("a", true, v35, time.Minute), ctr("b", true, v35, 0)}, v36, false, "", ErrEtcdAmbiguous},
		{"two running, manifest image not in containerd", []candidate{ctr("a", true, v35, time.Minute), ctr("b", true, v36, 0)}, "", false, "", ErrEtcdAmbiguous},
		{"two running, one image unresolvable", []candidate{ctr("a", true, "", 0), ctr("b", true, v36, time.Minute)}, v36, false, "b", nil},
		{"only the old one left after the wait", []candidate{ctr("old", true, v35, time.Minute), ctr("new", false, v36, 0)}, v36, false, "old", nil},
		{"none left after the wait", []candidate{ctr("old", false, v35, time.Minute), ctr("new", false, v36, 0)}, v36, false, "", ErrEtcdNotRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, err := pickEtcd(tt.cands, tt.want, tt.waiting)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("pickEtcd = %d, %v; want error %v", i, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("pickEtcd: %v; want %s", err, tt.pick)
			}
			if got := tt.cands[i].ID; got != tt.pick {
				t.Errorf("picked %s, want %s", got, tt.pick)
			}
		})
	}
}

// The refusal names every running container and its image, so the operator
// sees which pods overlap.
func TestPickEtcdAmbiguousMessage(t *testing.T) {
	cands := []candidate{
		{ID: "0123456789abcdef", Image: "registry.k8s.io/etcd:3.5.21-0", Running: true, Digest: "sha256:35"},
		{ID: "fedcba9876543210", Image: "registry.k8s.io/etcd:3.5.22-0", Running: true, Digest: "sha256:352"},
	}
	_, err := pickEtcd(cands, "sha256:36", false)
	want := "cannot tell which running etcd container is the manifest's: 2 are running (0123456789ab from registry.k8s.io/etcd:3.5.21-0, fedcba987654 from registry.k8s.io/etcd:3.5.22-0), none from the manifest's image"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}
