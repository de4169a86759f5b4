package offhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/filelock"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// The off-host state lives in its own subdirectory of the backup dir: the
// copy runs outside the store's lock (a slow target must not hold up a
// restore or the shutdown backup), so it keeps out of the files the store
// manages and cleans. There is one state file per target, so that pointing
// a command at another target once does not make the next run forget this
// one's.
const (
	stateDir = "offhost"
	lockName = "lock"
)

// State is what the last copy runs found, for the next run and for status.
// It is written only when it changes, so an idle cluster still writes nothing.
type State struct {
	Target string `json:"target"` // TargetName: a state of another target does not count
	// Since is the first snapshot the copy was to send: copies started with
	// the newest snapshot there was, not with every older one.
	Since key `json:"since"`
	// Newest is the newest complete copy on the target.
	Newest          key        `json:"newest"`
	RemoteSnapshots int        `json:"remoteSnapshots"`
	LastCopy        *time.Time `json:"lastCopy,omitempty"` // the last snapshot copied
	LastCopyID      string     `json:"lastCopyId,omitempty"`
	LastError       string     `json:"lastError,omitempty"`
	LastErrorTime   *time.Time `json:"lastErrorTime,omitempty"`
	// Images are the image archives known to be on the target, by digest.
	Images map[string]Ref `json:"images,omitempty"`
}

func statePath(st *store.Store, target string) string {
	sum := sha256.Sum256([]byte(target))
	return filepath.Join(st.Dir, stateDir, "state-"+hex.EncodeToString(sum[:8])+".json")
}

// ReadState returns the state recorded for the target cfg names; a missing
// file or one of another target is an empty state.
func ReadState(st *store.Store, cfg *Config) (*State, error) {
	s := &State{Target: cfg.TargetName()}
	data, err := os.ReadFile(statePath(st, s.Target))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read off-host state: %w", err)
	}
	var got State
	if err := json.Unmarshal(data, &got); err != nil {
		return s, fmt.Errorf("read off-host state %s: %w", statePath(st, s.Target), err)
	}
	if got.Target != s.Target {
		return s, nil
	}
	return &got, nil
}

func writeState(st *store.Store, s *State) error {
	dir := filepath.Join(st.Dir, stateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write off-host state: %w", err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	path := statePath(st, s.Target)
	err = hostfs.WriteFile(path, hostfs.WriteOptions{Mode: 0o600}, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("write off-host state: %w", err)
	}
	return nil
}

var errBusy = errors.New("another copy to the off-host target is running")

// lockCopy takes the off-host lock without waiting: a second copy would only
// send the same snapshots, so it is skipped.
func lockCopy(st *store.Store) (unlock func() error, err error) {
	dir := filepath.Join(st.Dir, stateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("off-host lock: %w", err)
	}
	// No wait, so no context to honour.
	unlock, err = filelock.Lock(context.Background(), filepath.Join(dir, lockName), 0)
	if errors.Is(err, filelock.ErrLocked) {
		return nil, errBusy
	}
	if err != nil {
		return nil, fmt.Errorf("off-host lock: %w", err)
	}
	return unlock, nil
}

// Summary is the off-host part of status: computed from the state and the
// local snapshots, without asking the target.
type Summary struct {
	Target          string     `json:"target"`
	Encrypted       bool       `json:"encrypted"`
	LastCopy        *time.Time `json:"lastCopy,omitempty"`
	LastCopyID      string     `json:"lastCopyId,omitempty"`
	NewestRemoteID  string     `json:"newestRemoteId,omitempty"`
	RemoteSnapshots int        `json:"remoteSnapshots"`
	// Backlog is how many local snapshots the next copy is to send; the
	// oldest of them was taken at OldestWaiting.
	Backlog       int        `json:"backlog"`
	OldestWaiting *time.Time `json:"oldestWaiting,omitempty"`
	LastError     string     `json:"lastError,omitempty"`
	LastErrorTime *time.Time `json:"lastErrorTime,omitempty"`
}

// Summarize says where off-host copies stand; local are the good snapshots,
// newest first.
func Summarize(st *store.Store, cfg *Config, local []store.Snapshot) (*Summary, error) {
	s, err := ReadState(st, cfg)
	sum := &Summary{Target: cfg.TargetName(), Encrypted: cfg.Encrypted()}
	if err != nil {
		return sum, err
	}
	sum.LastCopy, sum.LastCopyID, sum.NewestRemoteID = s.LastCopy, s.LastCopyID, s.Newest.ID
	sum.RemoteSnapshots, sum.LastError, sum.LastErrorTime = s.RemoteSnapshots, s.LastError, s.LastErrorTime
	sum.Backlog = s.backlog(local)
	if todo := s.waiting(local); len(todo) > 0 {
		t := todo[0].Meta.Time
		sum.OldestWaiting = &t
	}
	return sum, nil
}

// waiting are the local snapshots the next copy is to send, oldest first.
func (s *State) waiting(local []store.Snapshot) []store.Snapshot {
	if s.Newest.zero() && s.Since.zero() && len(local) > 0 {
		return local[:1]
	}
	return pending(local, s.Newest, s.Since)
}

// backlog is how many of the local snapshots (newest first) the next copy is
// to send.
func (s *State) backlog(local []store.Snapshot) int { return len(s.waiting(local)) }
