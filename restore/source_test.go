package restore

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/store/storetest"
)

var taken = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// storeWith puts a snapshot in a new store per revision, oldest first, and
// cuts the data file of those in cut short, as a full disk or a copy
// interrupted by a power cut leaves it.
func storeWith(t *testing.T, revs []int64, cut ...int64) (*store.Store, map[int64]string) {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int64]string{}
	for i, rev := range revs {
		storetest.Put(t, st, taken.Add(time.Duration(i)*time.Minute), rev, store.Good)
		snap, err := st.Newest()
		if err != nil {
			t.Fatal(err)
		}
		ids[rev] = snap.Meta.ID
		if slices.Contains(cut, rev) {
			if err := os.Truncate(snap.Path, 100); err != nil {
				t.Fatal(err)
			}
		}
	}
	return st, ids
}

// A damaged snapshot is a candidate in its place in the store's order, and
// the restore names it among the skipped instead of passing it in silence.
func TestStoreSourceDamaged(t *testing.T) {
	st, ids := storeWith(t, []int64{100, 200, 300}, 300)
	src := &storeSource{st: st}
	cands, err := src.Candidates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range cands {
		got = append(got, m.ID)
	}
	if want := []string{ids[300], ids[200], ids[100]}; !slices.Equal(got, want) {
		t.Fatalf("candidates %v, want %v", got, want)
	}
	var tried []string
	snap, skipped, err := firstUsable(context.Background(), src, cands, func(_ context.Context, s *store.Snapshot) error {
		tried = append(tried, s.Meta.ID)
		return nil
	})
	if err != nil || snap == nil || snap.Meta.ID != ids[200] {
		t.Fatalf("restored %v, err %v; want %s", snap, err, ids[200])
	}
	if !slices.Equal(tried, []string{ids[200]}) {
		t.Errorf("tried %v, want only %s: the damaged one has no file to restore", tried, ids[200])
	}
	if len(skipped) != 1 || !strings.HasPrefix(skipped[0], ids[300]+": ") || !strings.Contains(skipped[0], "is 100 bytes, metadata says") {
		t.Fatalf("skipped %q, want %s named with why", skipped, ids[300])
	}
	// The newest, cut short, was the last shutdown backup.
	mustRecord(t, st, store.ShutdownRecord{Time: taken.Add(2 * time.Minute), BootID: "b1", OK: true, SystemShutdown: true, SnapshotID: ids[300]})
	if got, want := staleness(st, snap, skipped, "b2"), "the last shutdown backup "+ids[300]+" was unusable ("+skipped[0]+")"; !strings.Contains(got, want) {
		t.Errorf("staleness = %q, want it to say %q", got, want)
	}
	// A clean shutdown of the restored one, then a boot whose snapshot was
	// cut short before a power cut.
	mustRecord(t, st, store.ShutdownRecord{Time: taken.Add(time.Minute), BootID: "b1", OK: true, SystemShutdown: true, SnapshotID: ids[200]})
	if got, want := staleness(st, snap, skipped, "b3"), "newer snapshot was unusable ("+skipped[0]+")"; !strings.Contains(got, want) {
		t.Errorf("staleness = %q, want it to say %q", got, want)
	}
}

// Damaged snapshots alone are no snapshot to restore, but still snapshots:
// each is skipped, so a restore fails naming them rather than finding none.
func TestStoreSourceOnlyDamaged(t *testing.T) {
	st, ids := storeWith(t, []int64{100}, 100)
	src := &storeSource{st: st}
	cands, err := src.Candidates(context.Background())
	if err != nil || len(cands) != 1 {
		t.Fatalf("candidates %v, err %v; want the damaged one", cands, err)
	}
	snap, skipped, err := firstUsable(context.Background(), src, cands, func(context.Context, *store.Snapshot) error {
		t.Error("restored a damaged snapshot")
		return nil
	})
	if snap != nil || err != nil || len(skipped) != 1 || !strings.HasPrefix(skipped[0], ids[100]+": ") {
		t.Errorf("restored %v, err %v, skipped %q; want none restored and %s skipped", snap, err, skipped, ids[100])
	}
	if _, err := src.Fetch(context.Background(), &cands[0]); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Fetch of the damaged one = %v, want ErrCorrupt", err)
	}
}

// emptyRemote is an off-host target without copies.
type emptyRemote struct{}

func (emptyRemote) String() string                                      { return "s3://bucket" }
func (emptyRemote) Snapshots(context.Context) ([]store.Metadata, error) { return nil, nil }
func (emptyRemote) Import(context.Context, *store.Store, *store.Metadata) (*store.Snapshot, error) {
	return nil, errors.New("no copies")
}

// A backup dir with only damaged snapshots sends the restore to the off-host
// copies, as one with none does; the damaged ones are still named.
func TestSourceDamagedThenOffhost(t *testing.T) {
	st, ids := storeWith(t, []int64{100}, 100)
	r := &run{st: st, opts: Options{Remote: emptyRemote{}}}
	src, cands, err := r.source(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(*offhostSource); !ok || len(cands) != 0 {
		t.Fatalf("source %T with %d candidates, want the off-host copies (none)", src, len(cands))
	}
	if got := r.passedOver(nil); len(got) != 1 || !strings.HasPrefix(got[0], ids[100]+": ") {
		t.Errorf("passed over %q, want %s", got, ids[100])
	}
	newer := &store.Snapshot{Meta: store.Metadata{ID: "20261201T120000Z-r500", Seq: 99}}
	if got := r.passedOver(newer); len(got) != 0 {
		t.Errorf("passed over %q restoring a newer copy, want none", got)
	}
}
