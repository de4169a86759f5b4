package journal

import (
	"fmt"
	"path/filepath"
)

// ForeignSegment is a file in a chain's directory, named as a segment,
// whose header names another chain: copied in from elsewhere (another
// cluster's backups, an old copy of the journal). Every segment of a chain
// starts with the chain's own header, so it cannot be part of the chain:
// it is never read as such, and the tools say that they passed over it.
type ForeignSegment struct {
	Segment string // file name
	Header  Header // the header it carries
}

func (f ForeignSegment) String() string {
	return fmt.Sprintf("segment %s is of chain %s (cluster %x member %x, snapshot %s)",
		f.Segment, f.Header.ChainID, f.Header.ClusterID, f.Header.MemberID, f.Header.SnapshotID)
}

// ForeignSegments lists the segments of other chains in chain chainID's
// directory.
func ForeignSegments(root, chainID string) ([]ForeignSegment, error) {
	if err := checkChainID(chainID); err != nil {
		return nil, err
	}
	segs, err := segmentFiles(filepath.Join(root, chainID))
	if err != nil {
		return nil, fmt.Errorf("chain %s: %w", chainID, err)
	}
	var out []ForeignSegment
	for _, s := range segs {
		if h := foreignHeader(s.path, chainID); h != nil {
			out = append(out, ForeignSegment{Segment: filepath.Base(s.path), Header: *h})
		}
	}
	return out, nil
}

// foreignHeader returns the header of the segment at path when it names
// another chain than id. A header that cannot be read is not foreign: the
// reader reports the segment as corrupt.
func foreignHeader(path, id string) *Header {
	h, err := readHeader(path)
	if err != nil || h.ChainID == id {
		return nil
	}
	return h
}
