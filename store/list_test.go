package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewestEmpty(t *testing.T) {
	s := newStore(t)
	if _, err := s.Newest(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Newest on empty store = %v, want ErrNoSnapshot", err)
	}
}

// A store written before sequence numbers keeps the order it always had.
func TestListOrderLegacy(t *testing.T) {
	s := newStore(t)
	for i, off := range []time.Duration{time.Hour, 0, 3 * time.Hour, 2 * time.Hour} {
		makeLegacy(t, writeSnap(t, s, testMeta(baseTime.Add(off), int64(i+1)), []byte("x"), Good))
	}
	// Same second and revision as another: ordered by id.
	makeLegacy(t, writeSnap(t, s, testMeta(baseTime.Add(3*time.Hour), 3), []byte("x"), Good))
	snaps, _, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"20261125T174530Z-r3-2", "20261125T174530Z-r3", "20261125T164530Z-r4", "20261125T154530Z-r1", "20261125T144530Z-r2"}
	if got := ids(snaps); !slices.Equal(got, want) {
		t.Fatalf("List order = %v, want %v", got, want)
	}
}

func TestListProblems(t *testing.T) {
	s := newStore(t)
	dir := filepath.Join(s.Dir, snapshotsDir)
	good := writeSnap(t, s, testMeta(baseTime, 1), []byte("good"), Good)
	missing := writeSnap(t, s, testMeta(baseTime, 2), []byte("missing data"), Good)
	if err := os.Remove(missing.Path); err != nil {
		t.Fatal(err)
	}
	resized := writeSnap(t, s, testMeta(baseTime, 3), []byte("resized"), Good)
	if err := os.WriteFile(resized.Path, []byte("much longer than before"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A copy of good's metadata under another id: it names the wrong id.
	mismatched := filepath.Join(dir, "20261125T000000Z-r1.json")
	copyFile(t, good.MetaPath, mismatched)

	plant := map[string][]byte{
		"20261125T000000Z-r4.json":            []byte("{not json"),
		"20261125T000000Z-r5.json":            append(append([]byte(`{"id":"`), bytes.Repeat([]byte("a"), maxMetadataSize)...), `"}`...),
		"20261125T000000Z-r6.db.zst":          []byte("orphan"),
		".tmp-20261125T000000Z-r7.db.zst.123": []byte("partial"),
		"notes.txt":                           []byte("?"),
	}
	for name, data := range plant {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	snaps, problems, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(snaps); !slices.Equal(got, []string{good.Meta.ID}) {
		t.Errorf("List snapshots = %v, want only %s", got, good.Meta.ID)
	}
	wantProblems := map[string]string{
		missing.MetaPath: "no such file",
		resized.MetaPath: "metadata says",
		mismatched:       "does not match",
		filepath.Join(dir, "20261125T000000Z-r4.json"):            "parse metadata",
		filepath.Join(dir, "20261125T000000Z-r5.json"):            "limit",
		filepath.Join(dir, "20261125T000000Z-r6.db.zst"):          "orphan",
		filepath.Join(dir, ".tmp-20261125T000000Z-r7.db.zst.123"): "temporary",
		filepath.Join(dir, "notes.txt"):                           "unexpected",
	}
	got := map[string]string{}
	for _, p := range problems {
		got[p.Path] = p.Err.Error()
	}
	for path, want := range wantProblems {
		if msg, ok := got[path]; !ok || !strings.Contains(msg, want) {
			t.Errorf("problem for %s = %q (reported %v), want it to mention %q", filepath.Base(path), msg, ok, want)
		}
	}
	if len(problems) != len(wantProblems) {
		t.Errorf("got %d problems, want %d: %v", len(problems), len(wantProblems), problems)
	}
	if _, err := s.Get(missing.Meta.ID); err == nil || errors.Is(err, ErrNoSnapshot) {
		t.Errorf("Get of a snapshot with missing data = %v, want the problem", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSuspect(t *testing.T) {
	s := newStore(t)
	writeSnap(t, s, testMeta(baseTime, 1), []byte("good"), Good)
	sus := writeSnap(t, s, withSuspect(testMeta(baseTime.Add(time.Hour), 2)), []byte("suspect"), Suspect)
	if sus.Kind != Suspect || filepath.Dir(sus.Path) != filepath.Join(s.Dir, suspectDir) {
		t.Fatalf("suspect snapshot stored as %v at %s", sus.Kind, sus.Path)
	}
	good, _, _ := s.List()
	suspect, problems, err := s.ListSuspect()
	if err != nil || len(problems) != 0 {
		t.Fatal(err, problems)
	}
	if len(good) != 1 || good[0].Meta.ID == sus.Meta.ID {
		t.Errorf("List = %v, want the good snapshot only", ids(good))
	}
	if len(suspect) != 1 || suspect[0].Meta.ID != sus.Meta.ID || suspect[0].Meta.Suspect == "" {
		t.Errorf("ListSuspect = %+v", suspect)
	}
	got, err := s.Get(sus.Meta.ID)
	if err != nil || got.Kind != Suspect {
		t.Errorf("Get(suspect) = %+v, %v", got, err)
	}
	if n, _ := s.Newest(); n == nil || n.Meta.ID == sus.Meta.ID {
		t.Errorf("Newest returned a suspect snapshot")
	}
}

func TestGetRejectsBadIDs(t *testing.T) {
	s := newStore(t)
	for _, id := range []string{"../x", "a/b", "", "..", "20261125T144530Z-r1/../x", "20261125T144530Z-r1.json", `20261125T144530Z-r1\x`} {
		t.Run(id, func(t *testing.T) {
			_, err := s.Get(id)
			if err == nil || errors.Is(err, ErrNoSnapshot) || !strings.Contains(err.Error(), "invalid snapshot id") {
				t.Fatalf("Get(%q) = %v, want an invalid id error", id, err)
			}
		})
	}
	if _, err := s.Get("20261125T144530Z-r1"); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Get of an absent id = %v, want ErrNoSnapshot", err)
	}
}

// A write in progress (its temporary file, its data file before the
// metadata) is not a problem: list takes no lock, the writer holds it. Once
// the lock is free, the same files are leftovers of an interrupted write.
func TestListWriteInProgress(t *testing.T) {
	s := newStore(t)
	dir := filepath.Join(s.Dir, snapshotsDir)
	temp := filepath.Join(dir, ".tmp-staged.db.zst.2696988815")
	orphan := filepath.Join(dir, "20261125T000000Z-r6.db.zst")
	for _, p := range []string{temp, orphan} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	unlock, err := s.Lock(context.Background(), time.Second, "backup (cron)")
	if err != nil {
		t.Fatal(err)
	}
	if _, problems, err := s.List(); err != nil || len(problems) != 0 {
		t.Errorf("List during a write = %v, %v; want no problems", problems, err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	_, problems, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range problems {
		got[p.Path] = p.Err.Error()
	}
	if !strings.Contains(got[temp], "interrupted write") || !strings.Contains(got[orphan], "orphan") || len(got) != 2 {
		t.Errorf("List with the lock free = %v, want the temporary file and the orphan as leftovers", got)
	}
}
