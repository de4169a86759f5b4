package offhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"filippo.io/age"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/progress"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Source reads the copies on a target back, for restore and verify.
type Source struct {
	cfg       *Config
	t         Target
	ids       []age.Identity
	idErr     error
	manifests map[key]*Manifest
	remote    int // complete copies on the target, as last listed
	log       *slog.Logger
}

// NewSource prepares to read cfg's target; nothing is opened until the
// copies are listed, so a restore that finds local snapshots never touches
// the target. identityFile overrides the config's; a problem with it is
// reported when an encrypted copy is fetched.
func NewSource(cfg *Config, identityFile string, log *slog.Logger) *Source {
	if identityFile == "" {
		identityFile = cfg.IdentityFile
	}
	s := &Source{cfg: cfg, manifests: map[key]*Manifest{}, log: log}
	s.ids, s.idErr = LoadIdentities(identityFile)
	return s
}

// String names the target.
func (s *Source) String() string { return s.cfg.TargetName() }

// Snapshots returns the metadata of the copies on the target, newest first in
// the store's order. Copies whose manifest is unreadable are logged and left
// out; an unreachable target is an error.
func (s *Source) Snapshots(ctx context.Context) ([]store.Metadata, error) {
	if s.t == nil {
		t, err := s.cfg.Open()
		if err != nil {
			return nil, err
		}
		s.t = t
	}
	l, err := listAll(ctx, s.t)
	if err != nil {
		return nil, err
	}
	for _, p := range l.Problems {
		s.log.Warn("off-host: not a usable copy", "object", p.Name, "err", p.Err)
	}
	var out []store.Metadata
	s.remote = len(l.Snapshots)
	for i := range l.Snapshots {
		m := l.Snapshots[i].Manifest
		s.manifests[keyOf(&m.Snapshot)] = &m
		out = append(out, m.Snapshot)
	}
	return out, nil
}

// Import copies the remote snapshot m (from Snapshots) into st, under the
// store's lock: its image archive when st lacks it, then the data, decrypted
// and checked against the node's own metadata, keeping its place in the
// store's order. A copy that is not what its manifest says wraps
// store.ErrCorrupt; a wrong or missing identity wraps ErrIdentity.
func (s *Source) Import(ctx context.Context, st *store.Store, m *store.Metadata) (*store.Snapshot, error) {
	man, ok := s.manifests[keyOf(m)]
	if !ok {
		return nil, fmt.Errorf("import %s: not listed on %s", m.ID, s.t)
	}
	if man.encrypted() {
		// A wrong identity fails here, before the image archive is fetched.
		if err := s.checkIdentity(man); err != nil {
			return nil, fmt.Errorf("import %s: %w", m.ID, err)
		}
	}
	s.importImage(ctx, st, man)
	rc, err := s.t.Get(ctx, man.Data.Name)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			err = fmt.Errorf("%w: %w", store.ErrCorrupt, err)
		}
		return nil, fmt.Errorf("import %s: %w", m.ID, err)
	}
	defer rc.Close()
	src := &trackedReader{r: progress.Reader(ctx, rc, "download "+man.Data.Name, man.Data.Size)}
	sent := newHashCounter()
	var data io.Reader = io.TeeReader(src, sent)
	if man.encrypted() {
		if data, err = decrypt(data, s.ids, man.Recipients); err != nil {
			if !errors.Is(err, ErrIdentity) && src.err == nil {
				err = fmt.Errorf("%w: %w", store.ErrCorrupt, err)
			}
			return nil, fmt.Errorf("import %s: %w", m.ID, err)
		}
		data = &authReader{r: data, src: src}
	}
	// The remote object is checked against its manifest (size, sha256) when
	// the data ends, inside st.Import and so before the snapshot is
	// committed: a copy that is not what its manifest says never appears in
	// the store, even for a moment.
	data = &objectCheck{r: data, finish: func() error {
		if _, err := io.Copy(io.Discard, src); err != nil {
			return err
		}
		return sent.ref(man.Data.Name).matches(man.Data)
	}}
	snap, err := st.Import(ctx, &man.Snapshot, data)
	if err != nil {
		return nil, fmt.Errorf("import %s from %s: %w", m.ID, s.t, err)
	}
	s.log.Info("off-host: snapshot fetched", "id", m.ID, "seq", m.Seq, "from", s.t.String())
	s.recordFetch(st, man)
	return snap, nil
}

// recordFetch notes in st's off-host state that the fetched copy, and its
// image archive, are on the target: status then counts the copy restore came
// from as copied (not "no copy yet, 1 waiting"), and the next backup's copy
// sends only what is newer and never the image archive again. It only logs
// on failure: the snapshot is in the store either way.
func (s *Source) recordFetch(st *store.Store, man *Manifest) {
	unlock, err := lockCopy(st)
	if err != nil {
		s.log.Warn("off-host: state not updated after the fetch", "err", err)
		return
	}
	defer unlock()
	state, err := ReadState(st, s.cfg)
	if err != nil {
		s.log.Warn("off-host: state not updated after the fetch", "err", err)
		return
	}
	k := keyOf(&man.Snapshot)
	if k.compare(state.Newest) > 0 {
		state.Newest = k
		t := man.Snapshot.Time
		state.LastCopy, state.LastCopyID = &t, man.Snapshot.ID
	}
	state.RemoteSnapshots = s.remote
	if man.Image != nil {
		if state.Images == nil {
			state.Images = map[string]Ref{}
		}
		state.Images[man.Snapshot.Image.Digest] = *man.Image
	}
	if err := writeState(st, state); err != nil {
		s.log.Warn("off-host: state not updated after the fetch", "err", err)
	}
}

// importImage fetches the image archive when st has none; a failure only
// warns: containerd may still have the image.
func (s *Source) importImage(ctx context.Context, st *store.Store, man *Manifest) {
	digest := man.Snapshot.Image.Digest
	if man.Image == nil || st.HasImageArchive(digest) {
		return
	}
	err := st.WriteImageArchive(digest, func(w io.Writer) error {
		rc, err := s.t.Get(ctx, man.Image.Name)
		if err != nil {
			return err
		}
		defer rc.Close()
		h := newHashCounter()
		if _, err := io.Copy(io.MultiWriter(w, h), rc); err != nil {
			return err
		}
		return h.ref(man.Image.Name).matches(*man.Image)
	})
	if err != nil {
		s.log.Warn("off-host: image archive not fetched", "digest", digest, "err", err)
		return
	}
	s.log.Info("off-host: image archive fetched", "image", man.Snapshot.Image.Reference, "digest", digest)
}

// objectCheck runs finish when r ends: io.EOF only once it passes.
type objectCheck struct {
	r      io.Reader
	finish func() error
	done   bool
}

func (o *objectCheck) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if err == io.EOF && !o.done {
		o.done = true
		if ferr := o.finish(); ferr != nil {
			return n, ferr
		}
	}
	return n, err
}

// checkIdentity refuses identities that match none of the copy's
// recipients, when that can be told without the copy (X25519 identities,
// the ones install writes); age itself decides for the others.
func (s *Source) checkIdentity(man *Manifest) error {
	if s.idErr != nil {
		return s.idErr
	}
	if len(man.Recipients) == 0 {
		return nil // not recorded: age decides
	}
	for _, id := range s.ids {
		x, ok := id.(*age.X25519Identity)
		if !ok || slices.Contains(man.Recipients, x.Recipient().String()) {
			return nil
		}
	}
	return fmt.Errorf("%w: the identity matches none of the recipients this copy was encrypted to (%s): wrong identity file", ErrIdentity, strings.Join(man.Recipients, ", "))
}

// trackedReader remembers the target's read error, which tells a broken
// connection from a corrupt copy.
type trackedReader struct {
	r   io.Reader
	err error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// authReader marks age's failures (a chunk that does not authenticate) as a
// corrupt copy, unless the target's read failed first.
type authReader struct {
	r   io.Reader
	src *trackedReader
}

func (a *authReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF && a.src.err == nil {
		err = fmt.Errorf("%w: decrypt: %w", store.ErrCorrupt, err)
	}
	return n, err
}

// HasIdentity says whether encrypted copies can be decrypted.
func (s *Source) HasIdentity() bool { return s.idErr == nil }

// CheckStored reads the data object of m (from Snapshots) and compares its
// size and sha256 with its manifest: what can be checked without the identity.
func (s *Source) CheckStored(ctx context.Context, m *store.Metadata) error {
	man, ok := s.manifests[keyOf(m)]
	if !ok {
		return fmt.Errorf("check %s: not listed on %s", m.ID, s.t)
	}
	if err := checkObject(ctx, s.t, man.Data); err != nil {
		if errors.Is(err, ErrNotFound) {
			err = fmt.Errorf("%w: %w", store.ErrCorrupt, err)
		}
		return fmt.Errorf("check %s: %w", m.ID, err)
	}
	return nil
}
