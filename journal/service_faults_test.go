package journal

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// A failed commit's error (a full disk) stands in the published state until
// a commit succeeds or nothing is left to commit: a follower that has only
// reopened the chain, with revisions still to commit, has not recovered, so
// status keeps warning while every commit fails.
func TestFailureStandsUntilACommit(t *testing.T) {
	const full = "commit to chain c: no space left on device"
	synced := FollowStats{Running: true, SeenRev: 20, DurableRev: 15, Writer: WriterStats{LastSync: time.Now()}}
	for _, tc := range []struct {
		name  string
		stats FollowStats
		want  string
	}{
		{"reopened, revisions pending", FollowStats{Running: true, SeenRev: 20, DurableRev: 10}, full},
		{"not running", FollowStats{SeenRev: 20, DurableRev: 20}, full},
		{"a commit succeeded", synced, ""},
		{"nothing to commit", FollowStats{Running: true, SeenRev: 20, DurableRev: 20}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			s := newService(st, nil, ServeOptions{StatePath: filepath.Join(t.TempDir(), "journal.json")})
			s.state.LastError, s.wait = full, time.Second
			ctx := logging.WithLogger(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
			s.following(ctx, &store.Snapshot{Meta: store.Metadata{ID: "s1"}}, Header{ChainID: "c"}, tc.stats)
			got, err := ReadState(s.o.StatePath)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastError != tc.want || got.Running != tc.stats.Running {
				t.Errorf("published %+v; want running %v, error %q", got, tc.stats.Running, tc.want)
			}
			if backoff := tc.want != ""; backoff != (s.wait > 0) || !strings.Contains(full, got.LastError) {
				t.Errorf("backoff %v after %q", s.wait, got.LastError)
			}
		})
	}
}
