package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A segment of another chain copied into a chain's directory, in the
// middle of its range or after its end, is never read as part of the
// chain: the chain verifies and appends as before, and ForeignSegments
// names the intruder.
func TestForeignSegmentsAreIgnored(t *testing.T) {
	root := t.TempDir()
	small := WriterOptions{SegmentSize: 4 << 10}
	id := writeTestChain(t, root, 400, small)
	own := segmentPaths(t, root, id)
	if len(own) < 3 {
		t.Fatalf("want several segments, got %d", len(own))
	}
	other := t.TempDir()
	w, err := Create(other, Header{ClusterID: 9, MemberID: 9, StartRev: 100, SnapshotID: "s1"}, WriterOptions{Sync: (&syncCounter{}).sync})
	if err != nil {
		t.Fatal(err)
	}
	appendRevs(t, w, 101, 150, 40)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(segmentPaths(t, other, w.Header().ChainID)[0])
	if err != nil {
		t.Fatal(err)
	}
	planted := []string{segmentName(102), segmentName(5000)} // in the middle, after the end
	for _, name := range planted {
		if err := os.WriteFile(filepath.Join(root, id, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	sum, err := Verify(root, id)
	if err != nil || sum.LastRev != 400 || sum.Segments != len(own) {
		t.Fatalf("Verify = %d revisions to %d in %d segments, %v; want its own %d segments to 400", sum.Revisions, sum.LastRev, sum.Segments, err, len(own))
	}
	foreign, err := ForeignSegments(root, id)
	if err != nil || len(foreign) != 2 {
		t.Fatalf("ForeignSegments = %v %v; want the 2 planted", foreign, err)
	}
	for i, f := range foreign {
		if f.Segment != planted[i] || f.Header.ChainID != w.Header().ChainID || !strings.Contains(f.String(), "cluster 9") {
			t.Errorf("foreign segment %d: %+v (%s)", i, f, f)
		}
	}
	chains, err := ListChains(root)
	if err != nil || len(chains) != 1 || chains[0].Err != nil || chains[0].Segments != len(own) {
		t.Errorf("ListChains = %+v %v", chains, err)
	}
	a, _, err := OpenAppend(root, id, small)
	if err != nil {
		t.Fatal(err)
	}
	appendRevs(t, a, 401, 450, 40)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if sum, err := Verify(root, id); err != nil || sum.LastRev != 450 {
		t.Errorf("after appending: last %d, %v; want 450", sum.LastRev, err)
	}
}
