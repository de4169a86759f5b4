package store

import (
	"errors"
	"fmt"
)

var (
	// ErrNoSnapshot is returned when no (matching) snapshot exists.
	ErrNoSnapshot = errors.New("no snapshot")
	// ErrCorrupt is returned when a stored file does not match its metadata.
	ErrCorrupt = errors.New("snapshot is corrupt")
)

// Store is an opened store directory. Dir is the real (symlink-resolved)
// directory. Write, Remove, Prune, CleanTemp, WriteRestoreRecord and
// WriteImageArchive change the store and must be called with the lock held
// (see Lock); the read methods need no lock.
type Store struct {
	Dir string
}

// Kind says which part of the store a snapshot lives in.
type Kind int

const (
	// Good snapshots are in snapshots/ and are subject to retention.
	Good Kind = iota
	// Suspect snapshots were kept aside by the reset guard in suspect/ and
	// are never pruned.
	Suspect
)

func (k Kind) String() string {
	switch k {
	case Good:
		return "good"
	case Suspect:
		return "suspect"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Snapshot is a committed snapshot: its metadata and where its files are.
type Snapshot struct {
	Meta     Metadata
	Path     string // the stored (compressed) file
	MetaPath string
	Kind     Kind
}

// Problem is a file in the store that is not (part of) a valid snapshot.
type Problem struct {
	Path string
	Err  error
	// Meta is set when the file is a snapshot's metadata and the snapshot
	// cannot be loaded (its data file cut short or missing, its metadata
	// invalid): a damaged snapshot the store knows of, which verify and
	// restore must name. It holds only the id (from the file name), seq and
	// time, leniently read, to place it in the store's order (see Known).
	Meta *Metadata
}

func (p Problem) Error() string { return p.Path + ": " + p.Err.Error() }
