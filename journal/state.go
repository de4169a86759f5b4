package journal

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
)

// DefaultStatePath is where the journal service publishes its State: on
// /run, a tmpfs, so that publishing costs the persistent disk nothing and a
// state left by an earlier boot cannot be mistaken for this one's.
const DefaultStatePath = "/run/etcd-ramdisk/journal.json"

// State is what the running journal service publishes for status and the
// metrics, rewritten whenever it changes and at least once per interval
// while it runs. A reader judges it stale by Updated and PID.
type State struct {
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// Running is false once the service has stopped (cleanly or not) or
	// while it waits for etcd or for a snapshot to start a chain from.
	Running  bool          `json:"running"`
	Interval time.Duration `json:"interval"`
	// The chain being written and the snapshot it follows.
	ChainID    string `json:"chainId,omitempty"`
	SnapshotID string `json:"snapshotId,omitempty"`
	StartRev   int64  `json:"startRevision,omitempty"`
	// SeenRev is etcd's newest revision the service knows of; DurableRev the
	// newest one fsynced in the chain. LagSeconds is how long the oldest
	// change not yet durable has waited (0 when everything is durable).
	SeenRev    int64     `json:"seenRevision,omitempty"`
	DurableRev int64     `json:"durableRevision,omitempty"`
	LagRevs    int64     `json:"lagRevisions"`
	LagSeconds float64   `json:"lagSeconds"`
	LastSync   time.Time `json:"lastSync,omitempty"`
	// Bytes and Syncs count what this service run wrote since Started.
	Bytes int64 `json:"bytes"`
	Syncs int64 `json:"syncs"`
	// LastError says why the service is not following etcd right now
	// (etcd unreachable, a gap that needs a fresh snapshot, ...).
	LastError string `json:"lastError,omitempty"`
}

// WriteState replaces the state file atomically (mode 0600: it names
// nothing secret, but lives beside what does).
func WriteState(path string, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("journal state: %w", err)
	}
	return hostfs.WriteFile(path, hostfs.WriteOptions{Mode: 0o600}, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// ReadState reads the state file; a missing file wraps fs.ErrNotExist (the
// service has not run this boot).
func ReadState(path string) (State, error) {
	var s State
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("journal state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("journal state %s: %w", path, err)
	}
	return s, nil
}
