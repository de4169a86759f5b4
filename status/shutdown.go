package status

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/kubelet"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Shutdown is what the node knows about its last shutdown backup and the
// restore of this boot.
type Shutdown struct {
	Last *store.ShutdownRecord `json:"lastShutdownBackup,omitempty"`
	// RestoredStale is set when this boot's etcd was restored from a snapshot
	// that may be older than the last state etcd had, and says why.
	RestoredStale string `json:"restoredStale,omitempty"`
	// StaleAcknowledged is RestoredStale once the operator acknowledged it
	// (ack-restore): shown, no longer a warning.
	StaleAcknowledged string `json:"staleAcknowledged,omitempty"`
	// Kubelet is kubelet's graceful node shutdown setting, as found.
	Kubelet string `json:"kubelet,omitempty"`
	Error   string `json:"error,omitempty"`
}

func checkShutdown(st *store.Store, root, bootID string) Shutdown {
	var s Shutdown
	var errs []string
	if st != nil {
		rec, err := st.ReadShutdownRecord()
		if err != nil {
			errs = append(errs, err.Error())
		}
		s.Last = rec
		rr, err := st.ReadRestoreRecord()
		if err != nil {
			errs = append(errs, err.Error())
		} else if rr != nil && rr.Stale != "" && rr.BootID != "" && rr.BootID == bootID {
			what := fmt.Sprintf("restored %s at %s: %s", rr.SnapshotID, rr.Time.Format(time.RFC3339), rr.Stale)
			if rr.Acknowledged != nil {
				s.StaleAcknowledged = what + "; acknowledged at " + rr.Acknowledged.Format(time.RFC3339)
			} else {
				s.RestoredStale = what
			}
		}
	}
	ks, err := kubelet.ReadShutdown(filepath.Join(root, kubelet.DefaultConfigPath))
	if err != nil {
		errs = append(errs, err.Error())
	} else if ks.Found {
		s.Kubelet = ks.String()
	}
	if len(errs) > 0 {
		s.Error = fmt.Sprint(errs)
	}
	return s
}

func shutdownWarnings(s Shutdown) []string {
	var w []string
	if s.Last != nil && !s.Last.OK {
		w = append(w, fmt.Sprintf("the last shutdown backup failed at %s: %s; writes etcd acknowledged after the newest snapshot are at risk", s.Last.Time.Format(time.RFC3339), s.Last.Error))
	}
	if s.RestoredStale != "" {
		w = append(w, "this boot's etcd may be older than its last state: "+s.RestoredStale+"; this warning lasts until the next boot's restore: once the cluster is checked, `etcd-ramdisk ack-restore` acknowledges it")
	}
	if s.Error != "" {
		w = append(w, "shutdown records: "+s.Error)
	}
	return w
}

func (s *Shutdown) text() string {
	r := s.Last
	what := "ok"
	if !r.OK {
		what = "FAILED: " + r.Error
	} else if r.SnapshotID != "" {
		what = "ok, " + r.SnapshotID
		if r.Source == store.SourceDataDir {
			what += " (from the data dir)"
		}
	}
	kind := "kubelet stop"
	if r.SystemShutdown {
		kind = "system shutdown"
	}
	return fmt.Sprintf("%s at %s: %s", kind, r.Time.Format(time.RFC3339), what)
}
