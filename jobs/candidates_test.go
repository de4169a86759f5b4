package jobs

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Restore's try-the-next-older loop: a bad snapshot passes to the next older
// one, any other error stops, and all bad is no snapshot at all.
func TestFirstUsable(t *testing.T) {
	bad := fmt.Errorf("%w: status says revision 7, metadata says revision 8", errBadSnapshot)
	room := fmt.Errorf("%w: restoring needs 200 MiB", ErrNoRoom)
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
		{"no room stops at once", []error{room, nil}, "", ErrNoRoom, 1, nil},
		{"bad, then an error of the node", []error{bad, room, nil}, "", ErrNoRoom, 2, []string{"s0"}},
		{"none", nil, "", nil, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cands []store.Snapshot
			for i := range tc.outcomes {
				cands = append(cands, store.Snapshot{Meta: store.Metadata{ID: fmt.Sprintf("s%d", i)}})
			}
			var tried []string
			snap, skipped, err := firstUsable(cands, func(s *store.Snapshot) error {
				tried = append(tried, s.Meta.ID)
				return tc.outcomes[len(tried)-1]
			}, slog.New(slog.NewTextHandler(io.Discard, nil)))
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
		})
	}
}
