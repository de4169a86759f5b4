package status

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Journal is the journal service's state as it published it this boot,
// and the chains on disk.
type Journal struct {
	Installed bool `json:"installed"` // the unit file is in place
	Running   bool `json:"running"`   // published Running, the PID alive, the state fresh
	// NotRunning says why Running is false.
	NotRunning      string     `json:"notRunning,omitempty"`
	PID             int        `json:"pid,omitempty"`
	Started         *time.Time `json:"started,omitempty"`
	Updated         *time.Time `json:"updated,omitempty"`
	IntervalSeconds float64    `json:"intervalSeconds,omitempty"`
	ChainID         string     `json:"chainId,omitempty"`
	SnapshotID      string     `json:"snapshotId,omitempty"`
	StartRevision   int64      `json:"startRevision,omitempty"`
	SeenRevision    int64      `json:"seenRevision,omitempty"`
	DurableRevision int64      `json:"durableRevision,omitempty"`
	LagRevisions    int64      `json:"lagRevisions"`
	LagSeconds      float64    `json:"lagSeconds"`
	LastSync        *time.Time `json:"lastSync,omitempty"`
	LastSyncAge     float64    `json:"lastSyncAgeSeconds,omitempty"`
	// Bytes and Syncs are this service run's, since Started.
	Bytes        int64   `json:"bytes"`
	Syncs        int64   `json:"syncs"`
	BytesPerHour float64 `json:"bytesPerHour"`
	LastError    string  `json:"lastError,omitempty"`
	// Chains on disk, oldest start revision first.
	Chains []JournalChain `json:"chains"`
	Error  string         `json:"error,omitempty"` // the state or the chains could not be read
	// interval is the published interval (journal.DefaultInterval when
	// none).
	interval time.Duration
	lagging  string // how far behind etcd, when more than the state allows
	stateOK  bool   // a state was published this boot
}

// JournalChain is one chain on disk, from its header.
type JournalChain struct {
	ID            string `json:"id"`
	SnapshotID    string `json:"snapshotId,omitempty"`
	StartRevision int64  `json:"startRevision"`
	Segments      int    `json:"segments"`
	Bytes         int64  `json:"bytes"`
	Error         string `json:"error,omitempty"` // its header cannot be read
}

// checkJournal reads the journal's published state and lists its chains.
func checkJournal(st *store.Store, o *Options) Journal {
	j := Journal{Installed: isFile(filepath.Join(o.Root, assets.JournalUnit.Path)), Chains: []JournalChain{}}
	var errs []error
	s, err := journal.ReadState(o.JournalState)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		j.NotRunning = "it has not run since this boot"
	case err != nil:
		errs = append(errs, err)
		j.NotRunning = "its state cannot be read"
	default:
		j.fromState(s, o.Now(), o.Alive)
	}
	if st != nil {
		chains, err := journal.ListChains(st.JournalDir())
		if err != nil {
			errs = append(errs, err)
		}
		for _, c := range chains {
			j.Chains = append(j.Chains, chainOf(c))
		}
	}
	if err := errors.Join(errs...); err != nil {
		j.Error = err.Error()
	}
	return j
}

func (j *Journal) fromState(s journal.State, now time.Time, alive func(int) bool) {
	j.stateOK = true
	j.interval = s.Interval
	if j.interval <= 0 {
		j.interval = journal.DefaultInterval
	}
	j.PID, j.IntervalSeconds = s.PID, j.interval.Seconds()
	j.Started, j.Updated, j.LastSync = timePtr(s.Started), timePtr(s.Updated), timePtr(s.LastSync)
	if j.LastSync != nil {
		j.LastSyncAge = now.Sub(s.LastSync).Seconds()
	}
	j.ChainID, j.SnapshotID, j.StartRevision = s.ChainID, s.SnapshotID, s.StartRev
	j.SeenRevision, j.DurableRevision = s.SeenRev, s.DurableRev
	j.LagRevisions, j.LagSeconds = s.LagRevs, s.LagSeconds
	j.Bytes, j.Syncs, j.LastError = s.Bytes, s.Syncs, s.LastError
	if up := now.Sub(s.Started); !s.Started.IsZero() && up > 0 {
		j.BytesPerHour = float64(s.Bytes) / up.Hours()
	}
	j.lagging = s.Lagging()
	if j.NotRunning = s.NotRunning(now, alive); j.NotRunning == "" {
		j.Running = true
	}
}

func chainOf(c journal.ChainInfo) JournalChain {
	out := JournalChain{ID: c.ID, SnapshotID: c.Header.SnapshotID, StartRevision: c.Header.StartRev, Segments: c.Segments, Bytes: c.Bytes}
	if c.Err != nil {
		out.Error = c.Err.Error()
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func journalWarnings(j *Journal) []string {
	var w []string
	switch {
	case j.Installed && !j.Running:
		w = append(w, fmt.Sprintf("the journal unit is installed but the journal is not running (%s): a power cut loses everything since the last snapshot; see `systemctl status %s`", j.NotRunning, assets.JournalUnitName))
	case j.Running && j.lagging != "":
		w = append(w, fmt.Sprintf("the journal lags %s: is the backup disk slow or full?", j.lagging))
	}
	if j.Running && j.LastError != "" {
		w = append(w, "journal: "+j.LastError)
	}
	if j.Error != "" {
		w = append(w, "journal: "+j.Error)
	}
	return w
}

// text is the journal's lines: what it is doing, then the chain it writes.
func (j *Journal) text(line func(key, format string, args ...any)) {
	switch {
	case !j.Installed && !j.stateOK:
		line("journal", "not installed")
	case j.Running:
		line("journal", "running, pid %d since %s, interval %s", j.PID, stampOf(j.Started), j.interval)
		line("journal lag", "%d revision(s), %.1fs; last fsync %s", j.LagRevisions, j.LagSeconds, j.syncText())
		line("journal io", "%s written (%s/h), %d fsync(s)", Human(j.Bytes), Human(int64(j.BytesPerHour)), j.Syncs)
	default:
		line("journal", "NOT running: %s", j.NotRunning)
	}
	if c := j.chainText(); c != "" {
		line("chain", "%s", c)
	}
}

func (j *Journal) syncText() string {
	if j.LastSync == nil {
		return "none yet"
	}
	return fmt.Sprintf("%s (%s ago)", stamp(*j.LastSync), (time.Duration(j.LastSyncAge) * time.Second).Round(time.Second))
}

func stampOf(t *time.Time) string {
	if t == nil {
		return "unknown"
	}
	return stamp(*t)
}

// chainText names the chain being written, or else the newest on disk.
func (j *Journal) chainText() string {
	var bytes int64
	for _, c := range j.Chains {
		bytes += c.Bytes
	}
	onDisk := fmt.Sprintf("%d chain(s) on disk, %s", len(j.Chains), Human(bytes))
	switch {
	case j.Running && j.ChainID != "":
		return fmt.Sprintf("%s from snapshot %s revision %d, durable up to %d; %s", j.ChainID, j.SnapshotID, j.StartRevision, j.DurableRevision, onDisk)
	case len(j.Chains) > 0:
		c := j.Chains[len(j.Chains)-1]
		if c.Error != "" {
			return fmt.Sprintf("newest %s unreadable (%s); %s", c.ID, c.Error, onDisk)
		}
		return fmt.Sprintf("newest %s from snapshot %s revision %d; %s", c.ID, c.SnapshotID, c.StartRevision, onDisk)
	}
	return ""
}
