package journal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// syncCounter is an injected Sync that counts and does not flush.
type syncCounter struct{ n atomic.Int64 }

func (c *syncCounter) sync(*os.File) error { c.n.Add(1); return nil }

// putRev is a revision record of one put of a value of size bytes.
func putRev(rev int64, size int) *Revision {
	return &Revision{Rev: rev, Seen: time.UnixMilli(rev * 1000), Events: []Event{{
		Type: Put, Key: []byte(fmt.Sprintf("/k/%d", rev%7)), Value: []byte(strings.Repeat("v", size)),
		CreateRev: rev, ModRev: rev, Version: 1,
	}}}
}

// newTestChain starts a chain at start revision 100 with no-op syncs.
func newTestChain(t *testing.T, root string, o WriterOptions) *Writer {
	t.Helper()
	if o.Sync == nil {
		o.Sync = (&syncCounter{}).sync
	}
	w, err := Create(root, Header{ClusterID: 1, MemberID: 2, StartRev: 100, SnapshotID: "s1"}, o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// appendRevs appends revisions from..to (inclusive), each a put of size bytes.
func appendRevs(t *testing.T, w *Writer, from, to int64, size int) {
	t.Helper()
	for rev := from; rev <= to; rev++ {
		if err := w.Append(putRev(rev, size)); err != nil {
			t.Fatal(err)
		}
	}
}

// writeTestChain writes revisions 101..to into a new chain, one commit
// each (so one record each on disk, compressed or not), and closes it.
func writeTestChain(t *testing.T, root string, to int64, o WriterOptions) string {
	t.Helper()
	w := newTestChain(t, root, o)
	for rev := int64(101); rev <= to; rev++ {
		appendRevs(t, w, rev, rev, 40)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Header().ChainID
}

func segmentPaths(t *testing.T, root, id string) []string {
	t.Helper()
	segs, err := listSegments(filepath.Join(root, id))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range segs {
		out = append(out, s.path)
	}
	return out
}

// patchFile rewrites path with edit applied to its bytes.
func patchFile(t *testing.T, path string, edit func([]byte)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// frameStarts returns the offset of each good record frame in a segment's
// bytes, up to the first zero length or bad frame.
func frameStarts(b []byte) []int {
	var out []int
	for off := 0; ; {
		_, size, err := readFrame(b[off:])
		if err != nil || size == 0 {
			return out
		}
		out = append(out, off)
		off += size
	}
}

// layouts are the two on-disk layouts a reader must handle: one compressed
// batch per commit (the default) and plain records (format version 1).
var layouts = []struct {
	name string
	o    WriterOptions
}{{"batch", WriterOptions{}}, {"plain", WriterOptions{Uncompressed: true}}}
