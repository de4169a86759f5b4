package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

const shutdownRecordName = "shutdown-record.json"

// ShutdownRecord says how the last shutdown backup ended. It is written by
// every `backup --reason shutdown`, good or bad, so that the restore at the
// next boot can tell a clean shutdown from a failed or missing one.
type ShutdownRecord struct {
	Time   time.Time `json:"time"`
	BootID string    `json:"bootId"`
	OK     bool      `json:"ok"`
	// SnapshotID holds etcd's last state when OK: the snapshot just written,
	// or the newest one when etcd's revision had not moved since.
	SnapshotID string `json:"snapshotId,omitempty"`
	Revision   int64  `json:"revision,omitempty"`
	Source     string `json:"source,omitempty"`
	// SystemShutdown says systemd was taking the system down (reboot,
	// poweroff), not just restarting kubelet: only then is this backup the
	// last state etcd had before the next boot.
	SystemShutdown bool `json:"systemShutdown"`
	// EtcdStopped says the backup stopped etcd itself before copying its data dir.
	EtcdStopped bool   `json:"etcdStopped,omitempty"`
	Error       string `json:"error,omitempty"`
}

func (r *ShutdownRecord) validate() error {
	var errs []error
	if r.Time.IsZero() {
		errs = append(errs, errors.New("time is not set"))
	}
	if r.SnapshotID != "" {
		if err := checkID(r.SnapshotID); err != nil {
			errs = append(errs, err)
		}
	}
	if !r.OK && strings.TrimSpace(r.Error) == "" {
		errs = append(errs, errors.New("a failed shutdown backup must say why"))
	}
	return errors.Join(errs...)
}

// WriteShutdownRecord atomically replaces shutdown-record.json.
func (s *Store) WriteShutdownRecord(r ShutdownRecord) error {
	r.Time = r.Time.UTC()
	if len(r.Error) > 4000 {
		r.Error = r.Error[:4000]
	}
	if err := r.validate(); err != nil {
		return fmt.Errorf("write shutdown record: %w", err)
	}
	return s.writeRecord("shutdown record", shutdownRecordName, &r)
}

// ReadShutdownRecord returns the last shutdown record, or nil, nil when no
// shutdown backup has run yet.
func (s *Store) ReadShutdownRecord() (*ShutdownRecord, error) {
	var r ShutdownRecord
	if found, err := s.readRecord("shutdown record", shutdownRecordName, &r); !found {
		return nil, err
	}
	return &r, nil
}
