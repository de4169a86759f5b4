package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/etcdtool"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// fakeSource hands out its candidates as they are, fails the fetches it is
// told to, and records what it is asked to discard.
type fakeSource struct {
	fetchErr  map[string]error
	discarded []string
	w         words
}

func (f *fakeSource) Candidates(context.Context) ([]store.Metadata, error) { return nil, nil }

func (f *fakeSource) Fetch(_ context.Context, m *store.Metadata) (*store.Snapshot, error) {
	if err := f.fetchErr[m.ID]; err != nil {
		return nil, err
	}
	return &store.Snapshot{Meta: *m}, nil
}

func (f *fakeSource) Discard(_ context.Context, s *store.Snapshot) {
	f.discarded = append(f.discarded, s.Meta.ID)
}

func (f *fakeSource) words() words { return f.w }

func candidates(n int) []store.Metadata {
	var cands []store.Metadata
	for i := 0; i < n; i++ {
		cands = append(cands, store.Metadata{ID: fmt.Sprintf("s%d", i)})
	}
	return cands
}

// Restore's try-the-next-older loop: a bad snapshot passes to the next older
// one, any other error stops, and all bad is no snapshot at all.
func TestFirstUsable(t *testing.T) {
	bad := fmt.Errorf("%w: status says revision 7, metadata says revision 8", etcdtool.ErrBadSnapshot)
	room := fmt.Errorf("%w: restoring needs 200 MiB", etcdtool.ErrNoRoom)
	for _, tc := range []struct {
		name        string
		outcomes    []error // per snapshot, newest first
		wantSnap    string
		wantErr     error
		wantTried   int
		wantSkipped []string
	}{
		{"newest restores", []error{nil, nil}, "s0", nil, 1, nil},
		{"newest bad, next older restores", []error{bad, nil, nil}, "s1", nil, 2, []string{"s0"}},
		{"two bad", []error{bad, bad, nil}, "s2", nil, 3, []string{"s0", "s1"}},
		{"all bad", []error{bad, bad}, "", nil, 2, []string{"s0", "s1"}},
		{"no room stops at once", []error{room, nil}, "", etcdtool.ErrNoRoom, 1, nil},
		{"bad, then an error of the node", []error{bad, room, nil}, "", etcdtool.ErrNoRoom, 2, []string{"s0"}},
		{"none", nil, "", nil, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeSource{w: words{one: "snapshot"}}
			var tried []string
			snap, skipped, err := firstUsable(context.Background(), src, candidates(len(tc.outcomes)), func(_ context.Context, s *store.Snapshot) error {
				tried = append(tried, s.Meta.ID)
				return tc.outcomes[len(tried)-1]
			})
			if len(tried) != tc.wantTried {
				t.Errorf("tried %v, want the first %d", tried, tc.wantTried)
			}
			if (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Errorf("err %v, want %v", err, tc.wantErr)
			}
			got := ""
			if snap != nil {
				got = snap.Meta.ID
			}
			if got != tc.wantSnap {
				t.Errorf("restored %q, want %q", got, tc.wantSnap)
			}
			var ids []string
			for _, s := range skipped {
				id, why, _ := strings.Cut(s, ": ")
				ids = append(ids, id)
				if !strings.Contains(why, "status says revision 7") {
					t.Errorf("skipped %q does not say why", s)
				}
			}
			if !slices.Equal(ids, tc.wantSkipped) {
				t.Errorf("skipped %v, want %v", ids, tc.wantSkipped)
			}
			if !slices.Equal(src.discarded, tc.wantSkipped) {
				t.Errorf("discarded %v, want the bad ones %v", src.discarded, tc.wantSkipped)
			}
		})
	}
}

// The same loop over the off-host copies: a copy whose fetch finds it
// corrupt is passed over (there is nothing to discard), a fetched one that
// proves bad is discarded, and both are tagged in skipped.
func TestFirstUsableFetched(t *testing.T) {
	corrupt := fmt.Errorf("import snapshot %q: %w: sha256 mismatch", "s0", store.ErrCorrupt)
	bad := fmt.Errorf("%w: trailer mismatch", etcdtool.ErrBadSnapshot)
	src := &fakeSource{fetchErr: map[string]error{"s0": corrupt}, w: words{one: "off-host copy", tag: " (off-host)"}}
	var tried []string
	snap, skipped, err := firstUsable(context.Background(), src, candidates(3), func(_ context.Context, s *store.Snapshot) error {
		tried = append(tried, s.Meta.ID)
		if s.Meta.ID == "s1" {
			return bad
		}
		return nil
	})
	if err != nil || snap == nil || snap.Meta.ID != "s2" {
		t.Fatalf("restored %v, err %v; want s2", snap, err)
	}
	if !slices.Equal(tried, []string{"s1", "s2"}) || !slices.Equal(src.discarded, []string{"s1"}) {
		t.Errorf("tried %v, discarded %v; want s1 and s2 tried, s1 discarded", tried, src.discarded)
	}
	want := []string{"s0 (off-host): " + corrupt.Error(), "s1 (off-host): " + bad.Error()}
	if !slices.Equal(skipped, want) {
		t.Errorf("skipped %q, want %q", skipped, want)
	}
}
