package status

import (
	"fmt"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/offhost"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Offhost is the off-host part of the report: what the last copies found,
// read from the backup dir without asking the target.
type Offhost struct {
	offhost.Summary
	Error string `json:"error,omitempty"` // the config or the state could not be read
}

// checkOffhost reports on off-host copies; nil when they are off.
func checkOffhost(st *store.Store, o *Options) *Offhost {
	switch {
	case o.OffhostError != nil:
		return &Offhost{Error: o.OffhostError.Error()}
	case o.Offhost == nil:
		return nil
	case st == nil:
		return &Offhost{Summary: offhost.Summary{Target: o.Offhost.TargetName()}, Error: "no backup dir to read the copies' state from"}
	}
	good, _, err := st.List()
	if err != nil {
		return &Offhost{Summary: offhost.Summary{Target: o.Offhost.TargetName()}, Error: err.Error()}
	}
	sum, err := offhost.Summarize(st, o.Offhost, good)
	out := &Offhost{Summary: *sum}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}

func offhostWarnings(r *Report, now time.Time, maxAge time.Duration) []string {
	oh := r.Offhost
	var w []string
	switch {
	case oh == nil:
		return nil
	case oh.Error != "":
		w = append(w, "off-host copies: "+oh.Error)
	case oh.LastError != "":
		w = append(w, fmt.Sprintf("off-host copy failing (last at %s): %s; %d snapshot(s) waiting, the local ones are kept", oh.LastErrorTime.UTC().Format("2006-01-02 15:04:05Z"), oh.LastError, oh.Backlog))
	case oh.Backlog > 0 && oh.OldestWaiting != nil && now.Sub(*oh.OldestWaiting) > maxAge:
		w = append(w, fmt.Sprintf("%d snapshot(s) not yet copied to %s, the oldest taken %s ago (limit %s): does the backup run with the off-host config?", oh.Backlog, oh.Target, now.Sub(*oh.OldestWaiting).Round(time.Second), maxAge))
	}
	if !oh.Encrypted && oh.Error == "" {
		w = append(w, "off-host copies are NOT encrypted: every Kubernetes Secret is readable on "+oh.Target)
	}
	return w
}

func (o *Offhost) text() string {
	if o.Error != "" && o.Target == "" {
		return "unknown (" + o.Error + ")"
	}
	last := "no copy yet"
	if o.LastCopy != nil {
		last = fmt.Sprintf("last copy %s at %s (%s ago)", o.LastCopyID, o.LastCopy.UTC().Format("2006-01-02 15:04:05Z"), time.Since(*o.LastCopy).Round(time.Second))
	}
	enc := "age-encrypted"
	if !o.Encrypted {
		enc = "PLAINTEXT"
	}
	s := fmt.Sprintf("%s (%s): %s, %d on the target, %d waiting", o.Target, enc, last, o.RemoteSnapshots, o.Backlog)
	if o.LastError != "" {
		s += ", last error: " + o.LastError
	}
	return s
}
