package offhost

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// The layout under the target's root (the directory, or the bucket's prefix):
//
//	snapshots/<seq>-<id>.db.zst.age   the store's data file, age-encrypted (.db.zst when plaintext)
//	snapshots/<seq>-<id>.json         its manifest, written last: it makes the copy exist
//	images/sha256-<hex>.oci.tar       the etcd image archive, unencrypted (it holds no secrets)
//
// <seq> is the store's sequence, zero-padded to 20 digits, so that names sort
// in the store's order and a listing alone tells which copy is newest.
const (
	snapshotsDir   = "snapshots"
	imagesDir      = "images"
	manifestSuffix = ".json"
	dataSuffix     = ".db.zst"
	ageSuffix      = ".age"
	// ManifestVersion is the manifest format this package writes and reads.
	ManifestVersion = 1
	maxManifestSize = 1 << 20
)

var stemPattern = regexp.MustCompile(`^([0-9]{20})-([0-9]{8}T[0-9]{6}Z-r[0-9]+(?:-[0-9]+)?)$`)

// key is a snapshot's place in the store's order: its sequence, then its id
// (which, for snapshots written before sequences existed, starts with the time).
type key struct {
	Seq uint64 `json:"seq"`
	ID  string `json:"id"`
}

func keyOf(m *store.Metadata) key { return key{m.Seq, m.ID} }

func (k key) zero() bool { return k.ID == "" }

func (k key) compare(o key) int {
	if c := cmp.Compare(k.Seq, o.Seq); c != 0 {
		return c
	}
	return strings.Compare(k.ID, o.ID)
}

func (k key) stem() string { return fmt.Sprintf("%020d-%s", k.Seq, k.ID) }

func (k key) String() string { return fmt.Sprintf("%s (seq %d)", k.ID, k.Seq) }

func dataName(k key, encrypted bool) string {
	n := snapshotsDir + "/" + k.stem() + dataSuffix
	if encrypted {
		n += ageSuffix
	}
	return n
}

func manifestName(k key) string { return snapshotsDir + "/" + k.stem() + manifestSuffix }

func imageName(digest string) string {
	return imagesDir + "/" + strings.Replace(digest, ":", "-", 1) + ".oci.tar"
}

// parseName splits an object name of snapshots/ into its key and whether it
// is the manifest; ok is false for names this package never writes.
func parseName(name string) (k key, manifest, ok bool) {
	base, found := strings.CutPrefix(name, snapshotsDir+"/")
	if !found {
		return key{}, false, false
	}
	var stem string
	switch {
	case strings.HasSuffix(base, manifestSuffix):
		stem, manifest = strings.TrimSuffix(base, manifestSuffix), true
	case strings.HasSuffix(base, dataSuffix+ageSuffix):
		stem = strings.TrimSuffix(base, dataSuffix+ageSuffix)
	case strings.HasSuffix(base, dataSuffix):
		stem = strings.TrimSuffix(base, dataSuffix)
	default:
		return key{}, false, false
	}
	m := stemPattern.FindStringSubmatch(stem)
	if m == nil {
		return key{}, false, false
	}
	seq, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		return key{}, false, false
	}
	return key{seq, m[2]}, manifest, true
}

// Manifest is a remote snapshot's manifest object: the store's metadata as
// it was on the node, and what the data and image objects must hold.
type Manifest struct {
	FormatVersion int            `json:"formatVersion"`
	Snapshot      store.Metadata `json:"snapshot"`
	// Data is the data object as stored: the age stream's size and sha256
	// (or the zstd file's, for plaintext).
	Data       Ref      `json:"data"`
	Encryption string   `json:"encryption"`           // EncryptionAge or EncryptionNone
	Recipients []string `json:"recipients,omitempty"` // the public keys it was encrypted to
	// Image is the etcd image archive the snapshot was taken with; nil when
	// the node had none to send.
	Image    *Ref      `json:"image,omitempty"`
	Uploaded time.Time `json:"uploaded"`
	Node     string    `json:"node"`
}

func (m *Manifest) encrypted() bool { return m.Encryption == EncryptionAge }

// validate checks a manifest read from the object name.
func (m *Manifest) validate(name string) error {
	var errs []error
	if m.FormatVersion != ManifestVersion {
		errs = append(errs, fmt.Errorf("formatVersion %d is not supported (want %d)", m.FormatVersion, ManifestVersion))
	}
	if err := m.Snapshot.Validate(); err != nil {
		errs = append(errs, err)
	}
	k := keyOf(&m.Snapshot)
	if name != manifestName(k) {
		errs = append(errs, fmt.Errorf("holds snapshot %s, which is not what its name says", k))
	}
	if m.Encryption != EncryptionAge && m.Encryption != EncryptionNone {
		errs = append(errs, fmt.Errorf("encryption %q is not %q or %q", m.Encryption, EncryptionAge, EncryptionNone))
	}
	if m.Data.Name != dataName(k, m.encrypted()) || m.Data.Size <= 0 || len(m.Data.SHA256) != 64 {
		errs = append(errs, fmt.Errorf("data object %+v is not this snapshot's", m.Data))
	}
	if m.Image != nil && (m.Image.Name != imageName(m.Snapshot.Image.Digest) || m.Image.Size <= 0) {
		errs = append(errs, fmt.Errorf("image object %+v is not this snapshot's image", *m.Image))
	}
	return errors.Join(errs...)
}

func parseManifest(name string, r io.Reader) (*Manifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", name, err)
	}
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("%w: manifest %s is larger than %d bytes", store.ErrCorrupt, name, maxManifestSize)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest %s: %w", store.ErrCorrupt, name, err)
	}
	if err := m.validate(name); err != nil {
		return nil, fmt.Errorf("%w: manifest %s: %w", store.ErrCorrupt, name, err)
	}
	return &m, nil
}
