package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// FormatVersion is the metadata format this package writes and reads.
const FormatVersion = 1

// CompressionZstd is the only compression the store writes.
const CompressionZstd = "zstd"

// Reasons a snapshot was taken.
const (
	ReasonCron     = "cron"
	ReasonShutdown = "shutdown"
	ReasonManual   = "manual"
	ReasonInstall  = "install"
	// ReasonJournal: the journal service needed a fresh snapshot to start a
	// new chain from (a gap, or none at all).
	ReasonJournal = "journal"
)

const (
	dataSuffix = ".db.zst"
	metaSuffix = ".json"
	tempPrefix = ".tmp-"
	// maxMetadataSize bounds how much of a metadata file is read, so a
	// corrupted or hostile file cannot make a listing eat memory.
	maxMetadataSize = 1 << 20
	idTimeLayout    = "20060102T150405Z"
)

var (
	idPattern     = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-r[0-9]+(-[0-9]+)?$`)
	sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	etcdIDPattern = regexp.MustCompile(`^[0-9a-f]{1,16}$`)
)

// Image names the etcd image the snapshot was taken with, so a restore can
// run the same etcd version.
type Image struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
}

// Identity names the etcd cluster and member, in hex as etcd prints them.
// An empty field is unknown: a cold copy (etcd had exited, nobody to ask) or
// a snapshot taken before the IDs were recorded. Its fields sit beside the
// revision in the metadata's "etcd" object.
type Identity struct {
	ClusterID string `json:"clusterId,omitempty"`
	MemberID  string `json:"memberId,omitempty"`
}

// NewIdentity formats the IDs of etcd's answer header; 0 (proto3 leaves a
// zero out, and etcd never hands one out) stays unknown.
func NewIdentity(cluster, member uint64) Identity {
	return Identity{ClusterID: hexID(cluster), MemberID: hexID(member)}
}

func hexID(id uint64) string {
	if id == 0 {
		return ""
	}
	return fmt.Sprintf("%x", id)
}

func (id Identity) validate() []error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"clusterId", id.ClusterID}, {"memberId", id.MemberID}} {
		if f.v != "" && !etcdIDPattern.MatchString(f.v) {
			errs = append(errs, fmt.Errorf("etcd %s %q is not 1-16 lowercase hex digits", f.name, f.v))
		}
	}
	return errs
}

// EtcdStatus is what etcd reported about the database at snapshot time.
type EtcdStatus struct {
	Identity
	Version   string `json:"version"`
	Revision  int64  `json:"revision"`
	Hash      uint64 `json:"hash"`
	TotalKeys int64  `json:"totalKeys"` // snapshot status totalKey, as the image's own tool counts (README: db-keys)
	TotalSize int64  `json:"totalSize"`
}

// Member holds the etcd member settings a restore needs to rebuild the data
// directory with the same identity.
type Member struct {
	Name                     string   `json:"name"`
	InitialCluster           string   `json:"initialCluster"`
	InitialAdvertisePeerURLs []string `json:"initialAdvertisePeerURLs"`
	InitialClusterToken      string   `json:"initialClusterToken"`
	DataDir                  string   `json:"dataDir"`
}

// Metadata is the content of <id>.json. Its presence is what makes a
// snapshot exist.
type Metadata struct {
	FormatVersion int        `json:"formatVersion"`
	ID            string     `json:"id"`
	Seq           uint64     `json:"seq,omitempty"` // place in the store's history, not Time: see Compare
	Time          time.Time  `json:"time"`
	Reason        string     `json:"reason"`
	Node          string     `json:"node"`
	Image         Image      `json:"image"`
	Etcd          EtcdStatus `json:"etcd"`
	RawSize       int64      `json:"rawSize"`
	StoredSize    int64      `json:"storedSize"`
	SHA256        string     `json:"sha256"`
	File          string     `json:"file"`
	Compression   string     `json:"compression"`
	Member        Member     `json:"member"`
	Suspect       string     `json:"suspect,omitempty"`
	// Source says where the database came from: SourceEtcd (empty in stores
	// written before it existed) or SourceDataDir.
	Source string `json:"source,omitempty"`
	// BootID is the kernel's boot id when the snapshot was taken: it tells a
	// shutdown backup of the previous boot from one of this boot.
	BootID string `json:"bootId,omitempty"`
}

// Where a snapshot's database came from.
const (
	// SourceEtcd: `etcdctl snapshot save` from the running etcd (a hot snapshot,
	// with etcd's sha256 trailer).
	SourceEtcd = "etcd"
	// SourceDataDir: member/snap/db copied from the data dir of an etcd that had
	// exited (a cold snapshot, no trailer: restore needs --skip-hash-check).
	SourceDataDir = "data-dir"
)

// FromDataDir reports whether the snapshot is a cold copy of a data dir.
func (m *Metadata) FromDataDir() bool { return m.Source == SourceDataDir }

// NewID returns the snapshot id for a snapshot taken at t at the given etcd
// revision, e.g. 20261125T144530Z-r123. Store.Write adds -2, -3, … when the id
// is already taken.
func NewID(t time.Time, revision int64) string {
	return fmt.Sprintf("%s-r%d", t.UTC().Format(idTimeLayout), revision)
}

// ValidID reports whether id has the snapshot id form. Because the form has
// no separators or dots, a valid id is always safe to join to a path.
func ValidID(id string) bool {
	return idPattern.MatchString(id)
}

func checkID(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("invalid snapshot id %q: want the form 20061225T150405Z-r123", id)
	}
	return nil
}

// ValidReason says whether r is one of the reasons a snapshot may record.
func ValidReason(r string) bool { return validReason(r) }

func validReason(r string) bool {
	switch r {
	case ReasonCron, ReasonShutdown, ReasonManual, ReasonInstall, ReasonJournal:
		return true
	}
	return false
}

// Validate checks every field of a complete metadata record, as read from
// disk or about to be written.
func (m *Metadata) Validate() error {
	if err := m.validateInput(); err != nil {
		return err
	}
	var errs []error
	if err := checkID(m.ID); err != nil {
		errs = append(errs, err)
	}
	if m.File != m.ID+dataSuffix || strings.ContainsAny(m.File, `/\`) {
		errs = append(errs, fmt.Errorf("file %q does not match id %q (want %q)", m.File, m.ID, m.ID+dataSuffix))
	}
	if !sha256Pattern.MatchString(m.SHA256) {
		errs = append(errs, fmt.Errorf("sha256 %q is not 64 lowercase hex digits", m.SHA256))
	}
	if m.RawSize <= 0 {
		errs = append(errs, fmt.Errorf("rawSize %d is not positive", m.RawSize))
	}
	if m.StoredSize <= 0 {
		errs = append(errs, fmt.Errorf("storedSize %d is not positive", m.StoredSize))
	}
	if m.Compression != CompressionZstd {
		errs = append(errs, fmt.Errorf("compression %q is not %q", m.Compression, CompressionZstd))
	}
	return errors.Join(errs...)
}

// validateInput checks the fields the caller of Write must fill; the others
// are filled by Write itself. Etcd.Version may be empty: etcdutl reports no
// storage version for some databases, and that must not stop a backup.
func (m *Metadata) validateInput() error {
	var errs []error
	if m.FormatVersion != FormatVersion {
		errs = append(errs, fmt.Errorf("formatVersion %d is not supported (want %d)", m.FormatVersion, FormatVersion))
	}
	if m.ID != "" && !ValidID(m.ID) {
		errs = append(errs, checkID(m.ID))
	}
	if m.Time.IsZero() {
		errs = append(errs, errors.New("time is not set"))
	}
	if !validReason(m.Reason) {
		errs = append(errs, fmt.Errorf("reason %q is not one of cron, shutdown, manual, install, journal", m.Reason))
	}
	if m.Node == "" {
		errs = append(errs, errors.New("node is empty"))
	}
	if m.Image.Reference == "" {
		errs = append(errs, errors.New("image reference is empty"))
	}
	if m.Image.Digest != "" && !ValidDigest(m.Image.Digest) {
		errs = append(errs, fmt.Errorf("image digest %q is not sha256:<64 hex>", m.Image.Digest))
	}
	if m.Source != "" && m.Source != SourceEtcd && m.Source != SourceDataDir {
		errs = append(errs, fmt.Errorf("source %q is not %q or %q", m.Source, SourceEtcd, SourceDataDir))
	}
	if m.Etcd.Revision <= 0 {
		errs = append(errs, fmt.Errorf("etcd revision %d is not positive", m.Etcd.Revision))
	}
	if m.Etcd.TotalKeys < 0 || m.Etcd.TotalSize < 0 {
		errs = append(errs, fmt.Errorf("etcd totals (keys %d, size %d) are negative", m.Etcd.TotalKeys, m.Etcd.TotalSize))
	}
	errs = append(errs, m.Etcd.Identity.validate()...)
	errs = append(errs, m.Member.validate()...)
	return errors.Join(errs...)
}

// validate checks what a restore needs: etcdutl snapshot restore is run with
// these values, and a wrong one gives a member etcd will not start.
// InitialClusterToken may be empty because kubeadm does not set one.
func (mb *Member) validate() []error {
	var errs []error
	if mb.Name == "" {
		errs = append(errs, errors.New("member name is empty"))
	}
	if mb.InitialCluster == "" {
		errs = append(errs, errors.New("member initialCluster is empty"))
	}
	if len(mb.InitialAdvertisePeerURLs) == 0 {
		errs = append(errs, errors.New("member initialAdvertisePeerURLs is empty"))
	}
	if !filepath.IsAbs(mb.DataDir) {
		errs = append(errs, fmt.Errorf("member dataDir %q is not an absolute path", mb.DataDir))
	}
	return errs
}

// readMetadata reads and validates one metadata file, refusing files larger
// than maxMetadataSize without reading them whole.
func readMetadata(path string) (*Metadata, error) {
	data, err := readLimited(path, maxMetadataSize)
	if err != nil {
		return nil, err
	}
	var m Metadata
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse metadata: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("invalid metadata: %w", err)
	}
	return &m, nil
}

// readLimited reads a regular file of at most limit bytes. It checks the
// type before opening, because opening a FIFO planted in the store would block.
func readLimited(path string, limit int64) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (mode %v)", fi.Mode())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The limit is enforced on what is read, not on Stat, in case the file
	// grows while it is read.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than the %d byte limit", limit)
	}
	return data, nil
}
