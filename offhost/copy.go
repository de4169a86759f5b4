package offhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"time"

	"filippo.io/age"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Result says what one copy run did. Err is the run's failure: it is logged
// and recorded, and never fails the local backup.
type Result struct {
	Target          string        `json:"target"`
	Uploaded        []string      `json:"uploaded,omitempty"` // snapshot ids, oldest first
	UploadedBytes   int64         `json:"uploadedBytes"`
	Duration        time.Duration `json:"duration"`
	Backlog         int           `json:"backlog"` // local snapshots still to send
	RemoteSnapshots int           `json:"remoteSnapshots"`
	Pruned          []string      `json:"pruned,omitempty"`
	Skipped         string        `json:"skipped,omitempty"` // why no copy ran
	LastCopy        *time.Time    `json:"lastCopy,omitempty"`
	Err             error         `json:"-"`
}

// ErrForeign means the target holds copies newer in the store's order than
// this node's newest snapshot, which is not among them: another node, or this
// one before it was reinstalled, writes there. Nothing is sent, so the two
// histories never mix.
var ErrForeign = errors.New("the off-host target holds another history")

// Copy sends the local snapshots the target lacks, oldest first, within the
// config's timeout; then it applies the remote retention policy. Call it after
// the local snapshot is durable and without the store's lock.
func Copy(ctx context.Context, cfg *Config, st *store.Store, log *slog.Logger) *Result {
	start := time.Now()
	res := &Result{Target: cfg.TargetName()}
	unlock, err := lockCopy(st)
	if errors.Is(err, errBusy) {
		res.Skipped = err.Error()
		log.Info("off-host copy skipped", "reason", err)
		return res
	}
	if err != nil {
		res.Err = err
		return res
	}
	defer unlock()
	timeout, _ := cfg.timeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	state, serr := ReadState(st, cfg)
	if serr != nil {
		log.Warn("off-host state unreadable; starting afresh", "err", serr)
	}
	before, _ := json.Marshal(state)
	c := &copier{cfg: cfg, st: st, state: state, res: res, log: log}
	err = c.run(ctx)
	res.Duration = time.Since(start)
	now := time.Now().UTC()
	if err != nil {
		res.Err = fmt.Errorf("off-host copy to %s: %w", cfg.TargetName(), err)
		state.LastError, state.LastErrorTime = res.Err.Error(), &now
	} else {
		state.LastError, state.LastErrorTime = "", nil
	}
	res.RemoteSnapshots, res.LastCopy = state.RemoteSnapshots, state.LastCopy
	if local, _, lerr := st.List(); lerr == nil {
		res.Backlog = state.backlog(local)
	}
	if after, _ := json.Marshal(state); !bytes.Equal(before, after) {
		if err := writeState(st, state); err != nil {
			log.Warn("off-host state not written", "err", err)
		}
	}
	return res
}

type copier struct {
	cfg   *Config
	st    *store.Store
	t     Target
	state *State
	res   *Result
	log   *slog.Logger
}

func (c *copier) run(ctx context.Context) error {
	local, _, err := c.st.List()
	if err != nil {
		return err
	}
	if len(local) == 0 {
		return nil
	}
	if keyOf(&local[0].Meta) == c.state.Newest && c.state.LastError == "" {
		// The newest snapshot is already there: nothing to send, no need to
		// ask the target (and nothing is written locally).
		return nil
	}
	if c.t, err = c.cfg.Open(); err != nil {
		return err
	}
	if removed, err := c.t.Clean(ctx); err != nil {
		return err
	} else if len(removed) > 0 {
		c.log.Info("off-host: removed what interrupted uploads left", "objects", removed)
	}
	l, err := listTarget(ctx, c.t)
	if err != nil {
		return err
	}
	c.state.Newest, c.state.RemoteSnapshots = l.newest(), len(l.complete)
	if c.state.Newest.zero() && c.state.Since.zero() {
		// A new target: start with the newest snapshot, not the whole history.
		c.state.Since = keyOf(&local[0].Meta)
	}
	todo := pending(local, c.state.Newest, c.state.Since)
	c.res.Backlog = len(todo)
	if len(todo) == 0 && !l.has(keyOf(&local[0].Meta)) {
		return fmt.Errorf("%w: its newest copy %s is after this node's newest snapshot %s in the store's order; copy to another prefix or directory, or restore from it first", ErrForeign, l.newest(), keyOf(&local[0].Meta))
	}
	var corrupt []error
	for i := range todo {
		snap := &todo[i]
		n, err := c.upload(ctx, snap)
		switch {
		case errors.Is(err, errGone):
			c.log.Info("off-host: local snapshot not copied", "id", snap.Meta.ID, "err", err)
		case errors.Is(err, errLocalCorrupt):
			// Sending the others is still worth it; the run reports it.
			corrupt = append(corrupt, fmt.Errorf("local snapshot %s not copied: %w (check it with `etcd-ramdisk verify %s`)", snap.Meta.ID, err, snap.Meta.ID))
		case err != nil:
			return fmt.Errorf("copy snapshot %s: %w", snap.Meta.ID, err)
		default:
			now := time.Now().UTC()
			c.state.Newest, c.state.LastCopy, c.state.LastCopyID = keyOf(&snap.Meta), &now, snap.Meta.ID
			c.state.RemoteSnapshots++
			c.res.Uploaded = append(c.res.Uploaded, snap.Meta.ID)
			c.res.UploadedBytes += n
			c.log.Info("off-host: snapshot copied", "id", snap.Meta.ID, "seq", snap.Meta.Seq, "bytes", n, "target", c.t.String())
		}
		c.res.Backlog = len(todo) - i - 1
	}
	if len(c.res.Uploaded) == 0 {
		return errors.Join(corrupt...)
	}
	pruned, remaining, err := prune(ctx, c.t, c.cfg.keep(), c.log)
	c.res.Pruned = pruned
	if err != nil {
		return fmt.Errorf("remote retention: %w", err)
	}
	c.state.RemoteSnapshots = remaining
	return errors.Join(corrupt...)
}

// pending returns the local snapshots to send, oldest first: those after the
// target's newest copy and not before since.
func pending(local []store.Snapshot, newest, since key) []store.Snapshot {
	var out []store.Snapshot
	for _, s := range local {
		k := keyOf(&s.Meta)
		if k.compare(newest) > 0 && (since.zero() || k.compare(since) >= 0) {
			out = append(out, s)
		}
	}
	slices.Reverse(out)
	return out
}

var (
	errGone         = errors.New("removed locally (retention) before it was copied")
	errLocalCorrupt = errors.New("the local file does not match its metadata")
)

// upload sends one snapshot: the image archive, the data, then the manifest.
func (c *copier) upload(ctx context.Context, snap *store.Snapshot) (int64, error) {
	m := snap.Meta
	f, err := os.Open(snap.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, errGone
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	man := Manifest{FormatVersion: ManifestVersion, Snapshot: m, Encryption: EncryptionNone, Node: m.Node}
	img, sent, err := c.uploadImage(ctx, m.Image.Digest)
	if err != nil {
		return 0, err
	}
	man.Image = img

	k := keyOf(&m)
	plain := newHashCounter()
	var body io.Reader = io.TeeReader(f, plain)
	size := m.StoredSize
	if c.cfg.Encrypted() {
		rs, err := c.cfg.recipients()
		if err != nil {
			return 0, err
		}
		if body, err = age.EncryptReader(body, rs...); err != nil {
			return 0, fmt.Errorf("encrypt: %w", err)
		}
		man.Encryption, man.Recipients, size = EncryptionAge, c.cfg.recipientNames(), -1
	}
	name := dataName(k, c.cfg.Encrypted())
	ref, err := putVerified(ctx, c.t, name, body, size)
	if err != nil {
		return 0, err
	}
	if err := plain.ref(snap.Path).matches(Ref{Name: snap.Path, Size: m.StoredSize, SHA256: m.SHA256}); err != nil {
		_ = c.t.Delete(ctx, name)
		return 0, fmt.Errorf("%w: %w", errLocalCorrupt, err)
	}
	man.Data, man.Uploaded = ref, time.Now().UTC()
	doc, err := json.MarshalIndent(&man, "", "  ")
	if err != nil {
		return 0, err
	}
	if _, err := putVerified(ctx, c.t, manifestName(k), bytes.NewReader(doc), int64(len(doc))); err != nil {
		return 0, err
	}
	return sent + ref.Size + int64(len(doc)), nil
}

// uploadImage sends the image archive unless the target has it; nil when the
// node has no archive of it (the snapshot still goes: the image may be
// pulled again).
func (c *copier) uploadImage(ctx context.Context, digest string) (*Ref, int64, error) {
	if !c.st.HasImageArchive(digest) {
		c.log.Warn("off-host: no image archive to send with the snapshot", "digest", digest)
		return nil, 0, nil
	}
	name := imageName(digest)
	if ref, ok := c.state.Images[digest]; ok {
		if o, err := c.t.Stat(ctx, name); err == nil && o.Size == ref.Size {
			return &ref, 0, nil
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, 0, err
		}
	}
	f, err := os.Open(c.st.ImageArchivePath(digest))
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	ref, err := putVerified(ctx, c.t, name, f, fi.Size())
	if err != nil {
		return nil, 0, fmt.Errorf("image archive: %w", err)
	}
	if c.state.Images == nil {
		c.state.Images = map[string]Ref{}
	}
	c.state.Images[digest] = ref
	return &ref, ref.Size, nil
}

func isTargetErr(err error) bool {
	return errors.Is(err, ErrUnreachable) || errors.Is(err, ErrDenied) || errors.Is(err, ErrNoBucket) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
