package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// RestoreRecord says which snapshot the cluster was last restored from.
type RestoreRecord struct {
	Time       time.Time `json:"time"`
	SnapshotID string    `json:"snapshotId"`
	Revision   int64     `json:"revision"`
	Image      string    `json:"image"`
	Seq        uint64    `json:"seq,omitempty"` // place in the store's history (see After); 0 in records written before it existed
	// BootID is the boot the restore ran in.
	BootID string `json:"bootId,omitempty"`
	// Stale, when set, says why the restored snapshot may be older than the
	// last state etcd had (the last shutdown backup failed or never ran).
	Stale string `json:"stale,omitempty"`
	// Acknowledged is when the operator acknowledged Stale (ack-restore):
	// status no longer warns about it.
	Acknowledged *time.Time `json:"acknowledged,omitempty"`
}

func (r *RestoreRecord) validate() error {
	var errs []error
	if r.Time.IsZero() {
		errs = append(errs, errors.New("time is not set"))
	}
	if err := checkID(r.SnapshotID); err != nil {
		errs = append(errs, err)
	}
	if r.Revision <= 0 {
		errs = append(errs, fmt.Errorf("revision %d is not positive", r.Revision))
	}
	return errors.Join(errs...)
}

// After reports whether the restore happened after snapshot m was taken, by
// the store's order rather than the clock. A record without a sequence number
// was written before snapshots had one: it is older than every numbered
// snapshot, and against an unnumbered one the times decide, as they did then.
func (r *RestoreRecord) After(m *Metadata) bool {
	switch {
	case r.Seq != 0:
		return r.Seq > m.Seq
	case m.Seq != 0:
		return false
	}
	return r.Time.After(m.Time)
}

// WriteRestoreRecord atomically replaces restore-record.json. It sets Seq to
// the next number in the store's history, so the record sorts after every
// snapshot there is and before every later one. Call it under the lock.
func (s *Store) WriteRestoreRecord(r RestoreRecord) error {
	r.Time = r.Time.UTC()
	if err := r.validate(); err != nil {
		return fmt.Errorf("write restore record: %w", err)
	}
	seq, err := s.nextSeq()
	if err != nil {
		return fmt.Errorf("write restore record: %w", err)
	}
	r.Seq = seq
	return s.writeRecord("restore record", restoreRecordName, &r)
}

// writeRecord atomically replaces one of the store's small JSON records.
func (s *Store) writeRecord(what, name string, v any) error {
	err := atomicWrite(s.Dir, name, func(w io.Writer) error { return writeJSON(w, v) })
	if err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return nil
}

// readRecord reads and validates one of the store's small JSON records into
// v; found is false when the file does not exist.
func (s *Store) readRecord(what, name string, v interface{ validate() error }) (found bool, err error) {
	path := filepath.Join(s.Dir, name)
	data, err := readLimited(path, maxMetadataSize)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err == nil {
		err = v.validate()
	}
	if err != nil {
		return false, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	return true, nil
}

// AcknowledgeRestore marks the restore record's staleness as acknowledged
// at the time given, keeping its place in the store's history, and returns
// the record; nil when there is none. Call it under the lock.
func (s *Store) AcknowledgeRestore(at time.Time) (*RestoreRecord, error) {
	r, err := s.ReadRestoreRecord()
	if err != nil || r == nil {
		return nil, err
	}
	at = at.UTC()
	r.Acknowledged = &at
	if err := s.writeRecord("restore record", restoreRecordName, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ReadRestoreRecord returns the restore record, or nil, nil when no restore
// has been recorded.
func (s *Store) ReadRestoreRecord() (*RestoreRecord, error) {
	var r RestoreRecord
	if found, err := s.readRecord("restore record", restoreRecordName, &r); !found {
		return nil, err
	}
	return &r, nil
}

// ValidDigest reports whether digest has the form sha256:<64 lowercase hex>.
func ValidDigest(digest string) bool {
	return digestPattern.MatchString(digest)
}

// ImageArchivePath returns where the image archive for the manifest digest
// is stored, images/sha256-<hex>.oci.tar, or "" when digest is not of the
// form sha256:<64 hex> (so it can never name a path outside images/).
func (s *Store) ImageArchivePath(digest string) string {
	if !ValidDigest(digest) {
		return ""
	}
	return filepath.Join(s.Dir, imagesDir, imageArchiveName(digest))
}

func imageArchiveName(digest string) string {
	return strings.Replace(digest, ":", "-", 1) + ".oci.tar"
}

// HasImageArchive reports whether a non-empty archive for digest is stored.
func (s *Store) HasImageArchive(digest string) bool {
	path := s.ImageArchivePath(digest)
	if path == "" {
		return false
	}
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
}

// WriteImageArchive stores the archive that write produces for digest,
// atomically replacing any earlier one. write must return an error for an
// incomplete archive; nothing is stored then.
func (s *Store) WriteImageArchive(digest string, write func(io.Writer) error) error {
	if !ValidDigest(digest) {
		return fmt.Errorf("write image archive: digest %q is not sha256:<64 hex>", digest)
	}
	dir := filepath.Join(s.Dir, imagesDir)
	if err := atomicWrite(dir, imageArchiveName(digest), write); err != nil {
		return fmt.Errorf("write image archive %s: %w", digest, err)
	}
	return nil
}
