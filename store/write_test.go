package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWriteIDCollision(t *testing.T) {
	s := newStore(t)
	var got []string
	for range 3 {
		got = append(got, writeSnap(t, s, testMeta(baseTime, 7), []byte("data"), Good).Meta.ID)
	}
	// A suspect snapshot never reuses a good one's id either.
	got = append(got, writeSnap(t, s, withSuspect(testMeta(baseTime, 7)), []byte("data"), Suspect).Meta.ID)
	want := []string{"20261125T144530Z-r7", "20261125T144530Z-r7-2", "20261125T144530Z-r7-3", "20261125T144530Z-r7-4"}
	if !slices.Equal(got, want) {
		t.Fatalf("ids = %v, want %v", got, want)
	}

	explicit := testMeta(baseTime, 7)
	explicit.ID = want[0]
	if _, err := s.Write(context.Background(), explicit, strings.NewReader("new"), Good); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Write with a taken explicit id = %v, want an 'already exists' error", err)
	}
}

func withSuspect(m *Metadata) *Metadata {
	m.Suspect = "revision went backwards"
	return m
}

func TestWriteRejectsBadInput(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Metadata)
		kind   Kind
		raw    string
		want   string
	}{
		{"bad reason", func(m *Metadata) { m.Reason = "whim" }, Good, "x", "reason"},
		{"zero revision", func(m *Metadata) { m.Etcd.Revision = 0 }, Good, "x", "revision"},
		{"no time", func(m *Metadata) { m.Time = time.Time{} }, Good, "x", "time"},
		{"future format", func(m *Metadata) { m.FormatVersion = 2 }, Good, "x", "formatVersion"},
		{"relative data dir", func(m *Metadata) { m.Member.DataDir = "etcd" }, Good, "x", "dataDir"},
		{"bad explicit id", func(m *Metadata) { m.ID = "../x" }, Good, "x", "invalid snapshot id"},
		{"bad image digest", func(m *Metadata) { m.Image.Digest = "md5:00" }, Good, "x", "digest"},
		{"suspect without reason", func(m *Metadata) {}, Suspect, "x", "needs a reason"},
		{"good marked suspect", func(m *Metadata) { m.Suspect = "why" }, Good, "x", "Suspect set"},
		{"unknown kind", func(m *Metadata) {}, Kind(9), "x", "unknown snapshot kind"},
		{"empty raw", func(m *Metadata) {}, Good, "", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			meta := testMeta(baseTime, 5)
			tt.mutate(meta)
			before := *meta
			_, err := s.Write(context.Background(), meta, strings.NewReader(tt.raw), tt.kind)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write error = %v, want it to mention %q", err, tt.want)
			}
			if meta.ID != before.ID || meta.SHA256 != "" || meta.File != "" {
				t.Errorf("failed Write changed meta: %+v", meta)
			}
			assertEmptyKindDirs(t, s)
		})
	}
}

func assertEmptyKindDirs(t *testing.T, s *Store) {
	t.Helper()
	for _, sub := range []string{snapshotsDir, suspectDir} {
		if names := dirNames(t, filepath.Join(s.Dir, sub)); len(names) != 0 {
			t.Errorf("%s holds %v after a failed write", sub, names)
		}
	}
}

// failingReader returns data until after bytes, then err.
type failingReader struct {
	data  []byte
	after int
	err   error
	read  int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.read >= f.after {
		return 0, f.err
	}
	n := copy(p, f.data[f.read:min(f.after, len(f.data))])
	f.read += n
	return n, nil
}

// cancelAfter cancels its context once after bytes have been read.
type cancelAfter struct {
	r      io.Reader
	after  int
	read   int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	if c.read >= c.after {
		c.cancel()
	}
	return n, err
}

func TestWriteFailureMidway(t *testing.T) {
	data := testData(2<<20, 2)
	errDisk := errors.New("etcd connection reset")
	tests := []struct {
		name    string
		reader  func(cancel context.CancelFunc) io.Reader
		wantErr error
	}{
		{"reader error", func(context.CancelFunc) io.Reader {
			return &failingReader{data: data, after: len(data) / 2, err: errDisk}
		}, errDisk},
		{"context cancelled", func(cancel context.CancelFunc) io.Reader {
			return &cancelAfter{r: bytes.NewReader(data), after: len(data) / 2, cancel: cancel}
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			prev := writeSnap(t, s, testMeta(baseTime, 1), data, Good)
			before := dirNames(t, filepath.Join(s.Dir, snapshotsDir))

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := s.Write(ctx, testMeta(baseTime.Add(time.Hour), 2), tt.reader(cancel), Good)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Write error = %v, want %v", err, tt.wantErr)
			}
			if after := dirNames(t, filepath.Join(s.Dir, snapshotsDir)); !slices.Equal(after, before) {
				t.Fatalf("snapshots/ = %v after failed write, want %v", after, before)
			}
			snaps, problems, err := s.List()
			if err != nil || len(problems) != 0 || len(snaps) != 1 || snaps[0].Meta.ID != prev.Meta.ID {
				t.Fatalf("List = %v, %v, %v", ids(snaps), problems, err)
			}
			if err := s.VerifyChecksum(context.Background(), prev); err != nil {
				t.Errorf("previous snapshot damaged: %v", err)
			}
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	s := newStore(b)
	data := testData(64<<20, 4)
	b.SetBytes(int64(len(data)))
	var stored int64
	for i := 0; b.Loop(); i++ {
		snap := writeSnap(b, s, testMeta(baseTime, int64(i+1)), data, Good)
		stored = snap.Meta.StoredSize
		b.StopTimer()
		if err := s.Remove(snap); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(len(data))/float64(stored), "ratio")
}
