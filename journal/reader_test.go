package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// copyChain copies chain id from src into a fresh root.
func copyChain(t *testing.T, src, id string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.Mkdir(filepath.Join(dst, id), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range segmentPaths(t, src, id) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, id, filepath.Base(p)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestReaderReturnsRecordsInOrder(t *testing.T) {
	root := t.TempDir()
	w := newTestChain(t, root, WriterOptions{})
	appendRevs(t, w, 101, 102, 5)
	if err := w.Append(&Lease{ID: 77, GrantedTTL: 60, TTL: 59}); err != nil {
		t.Fatal(err)
	}
	appendRevs(t, w, 103, 103, 5)
	w.Close()
	r, err := OpenChain(root, w.Header().ChainID)
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Header(); h.StartRev != 100 || h.SnapshotID != "s1" || h.ClusterID != 1 || h.MemberID != 2 {
		t.Errorf("header %+v", h)
	}
	var got []string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch rec := rec.(type) {
		case *Revision:
			got = append(got, "rev")
		case *Lease:
			got = append(got, "lease")
			if rec.ID != 77 || rec.GrantedTTL != 60 {
				t.Errorf("lease %+v", rec)
			}
		}
	}
	if want := "rev rev lease rev"; join(got) != want {
		t.Errorf("records %q, want %q", join(got), want)
	}
	if r.LastRev() != 103 || r.Torn() != (Torn{}) {
		t.Errorf("last %d torn %+v", r.LastRev(), r.Torn())
	}
}

func join(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out
}

// TestTornTailAtEveryOffset cuts the last record after each of its bytes
// (the rest zero, as a preallocated segment is) and with a flipped byte:
// each is the chain's end, and appending goes on after the good records.
func TestTornTailAtEveryOffset(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) { testTornTail(t, l.o) })
	}
}

func testTornTail(t *testing.T, o WriterOptions) {
	src := t.TempDir()
	o.SegmentSize = 4096
	id := writeTestChain(t, src, 110, o)
	sum, err := Verify(src, id)
	if err != nil || sum.LastRev != 110 {
		t.Fatalf("verify: %+v %v", sum, err)
	}
	r, _ := OpenChain(src, id)
	r.summarize()
	end := r.lastEnd
	orig, _ := os.ReadFile(segmentPaths(t, src, id)[0])
	starts := frameStarts(orig)
	start := int64(starts[len(starts)-1])
	size := end - start
	tear := func(k int64, flip bool) func([]byte) {
		return func(b []byte) {
			clear(b[start+k : end])
			if flip {
				b[start+k] ^= 1
			}
		}
	}
	for k := int64(0); k < size; k++ {
		for _, flip := range []bool{false, true} {
			if !flip && allZero(orig[start+k:end]) {
				continue // nothing cut
			}
			root := copyChain(t, src, id)
			seg := segmentPaths(t, root, id)[0]
			patchFile(t, seg, tear(k, flip))
			sum, err := Verify(root, id)
			if err != nil {
				t.Fatalf("cut at %d (flip %v): %v", k, flip, err)
			}
			if sum.LastRev != 109 {
				t.Fatalf("cut at %d (flip %v): last revision %d, want 109", k, flip, sum.LastRev)
			}
			if k > 0 || flip {
				if sum.Torn.Offset != start || sum.Torn.Bytes == 0 || sum.Torn.Bytes > k+1 {
					t.Fatalf("cut at %d (flip %v): torn %+v, want at %d", k, flip, sum.Torn, start)
				}
			}
			w, sum2, err := OpenAppend(root, id, WriterOptions{Sync: (&syncCounter{}).sync, Uncompressed: o.Uncompressed})
			if err != nil {
				t.Fatalf("cut at %d: reopen: %v", k, err)
			}
			if sum2.LastRev != 109 {
				t.Fatalf("reopen: last %d", sum2.LastRev)
			}
			appendRevs(t, w, 110, 111, 3)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if sum, err := Verify(root, id); err != nil || sum.LastRev != 111 || sum.Torn != (Torn{}) {
				t.Fatalf("cut at %d (flip %v): after append: %+v %v", k, flip, sum, err)
			}
		}
	}
}

func TestCorruptionBeforeTheEndIsAnError(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) { testCorruption(t, l.o) })
	}
}

func testCorruption(t *testing.T, o WriterOptions) {
	src := t.TempDir()
	o.SegmentSize = 1024
	id := writeTestChain(t, src, 160, o)
	paths := segmentPaths(t, src, id)
	if len(paths) < 3 {
		t.Fatalf("%d segments", len(paths))
	}
	hdrLen := len(appendRecord(nil, &Header{ChainID: id, ClusterID: 1, MemberID: 2, StartRev: 100, SnapshotID: "s1"}))
	for name, c := range map[string]struct {
		seg  int
		edit func([]byte)
		want error
	}{
		"flip in the last segment's first record": {len(paths) - 1, func(b []byte) { b[hdrLen+10] ^= 1 }, ErrCorrupt},
		"flip in the first segment":               {0, func(b []byte) { b[hdrLen+10] ^= 1 }, ErrCorrupt},
		"torn end of a middle segment":            {1, func(b []byte) { b[lastNonZero(b)-1] ^= 1 }, ErrCorrupt},
		"header of another chain":                 {1, func(b []byte) { b[9+2] ^= 1; fixCRC(b) }, ErrGap}, // not the chain's: its own is missing
		"record cut from a middle segment":        {1, cutLastRecord, ErrGap},
	} {
		root := copyChain(t, src, id)
		patchFile(t, segmentPaths(t, root, id)[c.seg], c.edit)
		_, err := Verify(root, id)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
		if _, _, err := OpenAppend(root, id, WriterOptions{}); err == nil {
			t.Errorf("%s: reopened for append", name)
		}
	}
}

// cutLastRecord zeroes a segment's last record whole.
func cutLastRecord(b []byte) {
	sc, _ := scanSegment("", bytes.NewReader(b), int64(len(b)), false)
	starts := frameStarts(b)
	clear(b[starts[len(starts)-1]:sc.end])
}

// fixCRC recomputes the first record's checksum after an edit.
func fixCRC(b []byte) {
	n := binary.LittleEndian.Uint32(b)
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[frameSize:frameSize+n], castagnoli))
}

func TestMissingSegmentIsAGap(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) { testMissingSegment(t, l.o) })
	}
}

func testMissingSegment(t *testing.T, o WriterOptions) {
	src := t.TempDir()
	o.SegmentSize = 1024
	id := writeTestChain(t, src, 160, o)
	n := len(segmentPaths(t, src, id))
	for _, i := range []int{0, 1, n - 2} {
		root := copyChain(t, src, id)
		os.Remove(segmentPaths(t, root, id)[i])
		if _, err := Verify(root, id); !errors.Is(err, ErrGap) {
			t.Errorf("segment %d of %d missing: %v", i, n, err)
		}
	}
	root := copyChain(t, src, id)
	for _, p := range segmentPaths(t, root, id) {
		os.Remove(p)
	}
	if _, err := Verify(root, id); !errors.Is(err, ErrGap) {
		t.Errorf("no segments: %v", err)
	}
}

func TestListAndRemoveChains(t *testing.T) {
	root := t.TempDir()
	a := writeTestChain(t, root, 105, WriterOptions{})
	w, err := Create(root, Header{StartRev: 50}, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	os.Mkdir(filepath.Join(root, "broken"), 0o700)
	chains, err := ListChains(root)
	if err != nil || len(chains) != 3 {
		t.Fatalf("%+v %v", chains, err)
	}
	if chains[0].Err == nil || chains[0].ID != "broken" || chains[1].Header.StartRev != 50 || chains[2].ID != a {
		t.Errorf("order: %+v", chains)
	}
	if chains[2].Segments != 1 || chains[2].Bytes != FirstSegmentSize {
		t.Errorf("chain info %+v", chains[2])
	}
	if err := RemoveChain(root, a); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, a)); !os.IsNotExist(err) {
		t.Errorf("chain still there: %v", err)
	}
	if err := RemoveChain(root, "../x"); err == nil {
		t.Error("removed a path outside the root")
	}
}
