package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/failpoint"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/hashpipe"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Names inside the store directory.
const (
	snapshotsDir      = "snapshots"
	suspectDir        = "suspect"
	imagesDir         = "images"
	restoreRecordName = "restore-record.json"
	lockName          = "lock"
)

const (
	// encoderConcurrency bounds the zstd encoder's in-flight blocks, so its
	// memory stays a few window sizes however large the database is.
	encoderConcurrency = 2
	// maxDecoderWindow is far above what any level writes (8 MiB at most) but
	// keeps a corrupted frame header from making the decoder allocate
	// gigabytes before the checksum is checked.
	maxDecoderWindow = 64 << 20
	// staleAge is how old a temporary or orphan file must be before
	// CleanTemp removes it. Every writer holds the lock and CleanTemp is only
	// called under it, so any leftover seen then belongs to a dead run.
	staleAge = 0
	// maxIDSuffix bounds the search for a free id; reaching it means
	// something is writing snapshots in a loop.
	maxIDSuffix = 1000
)

var (
	// ErrNoSnapshot is returned when no (matching) snapshot exists.
	ErrNoSnapshot = errors.New("no snapshot")
	// ErrCorrupt is returned when a stored file does not match its metadata.
	ErrCorrupt = errors.New("snapshot is corrupt")
)

// Store is an opened store directory. Dir is the real (symlink-resolved)
// directory. Write, Remove, Prune, CleanTemp, WriteRestoreRecord and
// WriteImageArchive change the store and must be called with the lock held
// (see Lock); the read methods need no lock.
type Store struct {
	Dir string
}

// Kind says which part of the store a snapshot lives in.
type Kind int

const (
	// Good snapshots are in snapshots/ and are subject to retention.
	Good Kind = iota
	// Suspect snapshots were kept aside by the reset guard in suspect/ and
	// are never pruned.
	Suspect
)

func (k Kind) String() string {
	switch k {
	case Good:
		return "good"
	case Suspect:
		return "suspect"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

func (k Kind) subdir() (string, error) {
	switch k {
	case Good:
		return snapshotsDir, nil
	case Suspect:
		return suspectDir, nil
	}
	return "", fmt.Errorf("unknown snapshot kind %d", int(k))
}

// Snapshot is a committed snapshot: its metadata and where its files are.
type Snapshot struct {
	Meta     Metadata
	Path     string // the stored (compressed) file
	MetaPath string
	Kind     Kind
}

// Problem is a file in the store that is not (part of) a valid snapshot.
type Problem struct {
	Path string
	Err  error
}

func (p Problem) Error() string { return p.Path + ": " + p.Err.Error() }

// Open opens the store at dir, creating it and its subdirectories (0700) if
// missing. It refuses a directory, or the target of a symlink, that anyone
// but the current user could modify.
func Open(dir string) (*Store, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("backup dir %q is not an absolute path", dir)
	}
	dir = filepath.Clean(dir)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return nil, fmt.Errorf("create backup dir %s: %w", dir, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("backup dir %s: %w", dir, err)
	}
	real, err := checkOwnedDir("backup dir", dir)
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{snapshotsDir, suspectDir, imagesDir} {
		if err := ensureSubdir(filepath.Join(real, sub)); err != nil {
			return nil, err
		}
	}
	return &Store{Dir: real}, nil
}

func ensureSubdir(path string) error {
	if err := os.Mkdir(path, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create backup dir %s: %w", path, err)
	}
	_, err := checkOwnedDir("backup dir", path)
	return err
}

func (s *Store) kindDir(k Kind) (string, error) {
	sub, err := k.subdir()
	if err != nil {
		return "", err
	}
	return filepath.Join(s.Dir, sub), nil
}

// paths returns where the snapshot's files are, derived from its kind and
// id rather than trusted from the caller, so a forged Snapshot cannot make
// Remove delete something outside the store.
func (s *Store) paths(snap *Snapshot) (data, meta string, err error) {
	if err := checkID(snap.Meta.ID); err != nil {
		return "", "", err
	}
	dir, err := s.kindDir(snap.Kind)
	if err != nil {
		return "", "", err
	}
	data = filepath.Join(dir, snap.Meta.ID+dataSuffix)
	meta = filepath.Join(dir, snap.Meta.ID+metaSuffix)
	if (snap.Path != "" && snap.Path != data) || (snap.MetaPath != "" && snap.MetaPath != meta) {
		return "", "", fmt.Errorf("paths %s, %s are not where a %s snapshot %q is stored", snap.Path, snap.MetaPath, snap.Kind, snap.Meta.ID)
	}
	return data, meta, nil
}

// prepareWrite checks meta and fills what the store owns in a copy of it,
// all but the data file's sizes and checksum.
func (s *Store) prepareWrite(meta *Metadata, kind Kind) (string, Metadata, error) {
	dir, err := s.kindDir(kind)
	if err != nil {
		return "", Metadata{}, fmt.Errorf("write snapshot: %w", err)
	}
	m := *meta
	m.Time = m.Time.UTC()
	if m.FormatVersion == 0 {
		// The store owns the format; callers need not know its version.
		m.FormatVersion = FormatVersion
	}
	if err := checkSuspectReason(&m, kind); err != nil {
		return "", Metadata{}, fmt.Errorf("write snapshot: %w", err)
	}
	if err := m.validateInput(); err != nil {
		return "", Metadata{}, fmt.Errorf("write snapshot: %w", err)
	}
	if m.ID, err = s.pickID(m.ID, m.Time, m.Etcd.Revision); err != nil {
		return "", Metadata{}, fmt.Errorf("write snapshot: %w", err)
	}
	if m.Seq, err = s.nextSeq(); err != nil {
		return "", Metadata{}, fmt.Errorf("write snapshot: %w", err)
	}
	m.File = m.ID + dataSuffix
	m.Compression = CompressionZstd
	return dir, m, nil
}

// Write stores a new snapshot: raw (the uncompressed etcd snapshot) is
// compressed into the data file, then the metadata file is written, which
// commits the snapshot. Write fills ID (when empty), FormatVersion (when 0),
// Seq (always: the next number in the store's order, see Compare), File,
// Compression, RawSize, StoredSize and SHA256 in meta, and sets Time to UTC.
// On error nothing new is left behind and meta is unchanged.
func (s *Store) Write(ctx context.Context, meta *Metadata, raw io.Reader, kind Kind) (*Snapshot, error) {
	dir, m, err := s.prepareWrite(meta, kind)
	if err != nil {
		return nil, err
	}
	snap, err := s.commit(ctx, dir, &m, raw, kind)
	if err != nil {
		return nil, fmt.Errorf("write snapshot %q: %w", m.ID, err)
	}
	*meta = m
	return snap, nil
}

// checkSuspectReason keeps the Suspect field and the directory consistent:
// a snapshot kept aside must say why, and a good one must not look suspect.
func checkSuspectReason(m *Metadata, kind Kind) error {
	switch {
	case kind == Suspect && m.Suspect == "":
		return errors.New("a suspect snapshot needs a reason in Metadata.Suspect")
	case kind == Good && m.Suspect != "":
		return fmt.Errorf("a good snapshot has Metadata.Suspect set (%q)", m.Suspect)
	}
	return nil
}

// pickID returns id when it is free, or, when id is empty, the first free
// id of NewID(t, revision) with -2, -3, … appended.
func (s *Store) pickID(id string, t time.Time, revision int64) (string, error) {
	if id != "" {
		taken, err := s.idTaken(id)
		if err != nil {
			return "", err
		}
		if taken {
			return "", fmt.Errorf("snapshot %q already exists", id)
		}
		return id, nil
	}
	base := NewID(t, revision)
	for n := 1; n <= maxIDSuffix; n++ {
		id := base
		if n > 1 {
			id = fmt.Sprintf("%s-%d", base, n)
		}
		taken, err := s.idTaken(id)
		if err != nil {
			return "", err
		}
		if !taken {
			return id, nil
		}
	}
	return "", fmt.Errorf("no free snapshot id for %s after %d tries", base, maxIDSuffix)
}

// idTaken reports whether any file of id exists in either kind, so a
// suspect and a good snapshot never share an id.
func (s *Store) idTaken(id string) (bool, error) {
	for _, k := range []Kind{Good, Suspect} {
		dir, _ := s.kindDir(k)
		for _, name := range []string{id + dataSuffix, id + metaSuffix} {
			_, err := os.Lstat(filepath.Join(dir, name))
			if err == nil {
				return true, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return false, err
			}
		}
	}
	return false, nil
}

// commit writes the data file and then the metadata file of m into dir.
func (s *Store) commit(ctx context.Context, dir string, m *Metadata, raw io.Reader, kind Kind) (*Snapshot, error) {
	err := atomicWrite(dir, m.File, true, func(w io.Writer) error {
		return compressInto(ctx, w, raw, m)
	})
	if err != nil {
		return nil, err
	}
	dataPath := filepath.Join(dir, m.File)
	err = atomicWrite(dir, m.ID+metaSuffix, true, func(w io.Writer) error {
		return writeJSON(w, m)
	})
	if err != nil {
		// The data file is ours (the link refuses to replace), and without
		// metadata it would only be an orphan.
		if rmErr := removeIfExists(dataPath); rmErr == nil {
			_ = syncDir(dir)
		}
		return nil, fmt.Errorf("write metadata: %w", err)
	}
	return &Snapshot{Meta: *m, Path: dataPath, MetaPath: filepath.Join(dir, m.ID+metaSuffix), Kind: kind}, nil
}

// compressInto streams raw through zstd into w, and fills the size and
// checksum fields of m. It returns an error instead of committing an empty
// or invalid snapshot.
func compressInto(ctx context.Context, w io.Writer, raw io.Reader, m *Metadata) error {
	rawN, storedN, sum, err := compressStream(ctx, w, raw)
	if err != nil {
		return err
	}
	m.RawSize, m.StoredSize, m.SHA256 = rawN, storedN, sum
	return m.Validate()
}

// NewEncoder is the zstd encoder the store writes data files with: the
// fastest level, two encoder goroutines. On etcd's snapshots it compresses
// about as well as the default level (docs/bench) at three to five times the
// speed, and a backup's compression then takes little CPU from the etcd it
// runs beside.
func NewEncoder(w io.Writer) (*zstd.Encoder, error) {
	return zstd.NewWriter(w,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(encoderConcurrency))
}

// compressStream streams raw through zstd into w in one pass that also
// counts and hashes the stored bytes.
func compressStream(ctx context.Context, w io.Writer, raw io.Reader) (rawN, storedN int64, sum string, err error) {
	h := sha256.New()
	stored := &countingWriter{w: io.MultiWriter(w, h)}
	enc, err := NewEncoder(stored)
	if err != nil {
		return 0, 0, "", fmt.Errorf("create zstd encoder: %w", err)
	}
	in := &countingReader{r: rawInput{ctx: ctx, r: raw}}
	if _, err := io.Copy(enc, in); err != nil {
		enc.Close()
		return 0, 0, "", err
	}
	if err := enc.Close(); err != nil {
		return 0, 0, "", fmt.Errorf("compress: %w", err)
	}
	if in.n == 0 {
		return 0, 0, "", errors.New("raw snapshot is empty")
	}
	return in.n, stored.n, hex.EncodeToString(h.Sum(nil)), nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// rawInput checks ctx between reads and names read errors, which io.Copy
// would otherwise mix up with compression errors.
type rawInput struct {
	ctx context.Context
	r   io.Reader
}

func (ri rawInput) Read(p []byte) (int, error) {
	if err := ri.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := ri.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("read raw snapshot: %w", err)
	}
	return n, err
}

// countingReader counts bytes read and remembers a read error, so that a
// failing disk is not reported as a corrupt snapshot.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.n > 0 {
		failpoint.Inject("store-mid-compress")
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// List returns the good snapshots, newest first in the store's order
// (Compare: by sequence, never by the clock), and the files in
// snapshots/ that are not valid snapshots. err is set only when the
// directory cannot be read.
func (s *Store) List() (snaps []Snapshot, problems []Problem, err error) {
	return s.list(Good)
}

// ListSuspect is List for the snapshots kept aside in suspect/.
func (s *Store) ListSuspect() ([]Snapshot, []Problem, error) {
	return s.list(Suspect)
}

func (s *Store) list(kind Kind) ([]Snapshot, []Problem, error) {
	dir, err := s.kindDir(kind)
	if err != nil {
		return nil, nil, fmt.Errorf("list snapshots: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s snapshots: %w", kind, err)
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[e.Name()] = true
	}
	var snaps []Snapshot
	var problems []Problem
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case strings.HasPrefix(name, tempPrefix):
			problems = append(problems, Problem{path, errors.New("leftover temporary file of an interrupted write")})
		case strings.HasSuffix(name, metaSuffix):
			snap, err := s.load(kind, strings.TrimSuffix(name, metaSuffix))
			if err != nil {
				problems = append(problems, Problem{path, err})
				continue
			}
			snaps = append(snaps, *snap)
		case strings.HasSuffix(name, dataSuffix):
			if !present[strings.TrimSuffix(name, dataSuffix)+metaSuffix] {
				problems = append(problems, Problem{path, errors.New("orphan data file without metadata")})
			}
		default:
			problems = append(problems, Problem{path, errors.New("unexpected file")})
		}
	}
	sortNewestFirst(snaps)
	return snaps, problems, nil
}

// load reads and checks the snapshot id of kind: its metadata must be valid
// and name itself, and its data file must exist with the recorded size.
func (s *Store) load(kind Kind, id string) (*Snapshot, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	dir, err := s.kindDir(kind)
	if err != nil {
		return nil, err
	}
	metaPath := filepath.Join(dir, id+metaSuffix)
	m, err := readMetadata(metaPath)
	if err != nil {
		return nil, err
	}
	if m.ID != id {
		return nil, fmt.Errorf("metadata id %q does not match its file name", m.ID)
	}
	dataPath := filepath.Join(dir, m.File)
	fi, err := os.Lstat(dataPath)
	if err != nil {
		return nil, fmt.Errorf("data file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("data file %s is not a regular file (mode %v)", dataPath, fi.Mode())
	}
	if fi.Size() != m.StoredSize {
		return nil, fmt.Errorf("data file %s is %d bytes, metadata says %d: %w", dataPath, fi.Size(), m.StoredSize, ErrCorrupt)
	}
	return &Snapshot{Meta: *m, Path: dataPath, MetaPath: metaPath, Kind: kind}, nil
}

// Get returns the good or suspect snapshot id. It returns an error wrapping
// ErrNoSnapshot when there is none, and the problem when its files are
// invalid.
func (s *Store) Get(id string) (*Snapshot, error) {
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("get snapshot: %w", err)
	}
	for _, k := range []Kind{Good, Suspect} {
		dir, _ := s.kindDir(k)
		_, err := os.Lstat(filepath.Join(dir, id+metaSuffix))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		snap, err := s.load(k, id)
		if err != nil {
			return nil, fmt.Errorf("get snapshot %q: %w", id, err)
		}
		return snap, nil
	}
	return nil, fmt.Errorf("get snapshot %q: %w", id, ErrNoSnapshot)
}

// Newest returns the newest good snapshot in the store's order (the last one
// written, whatever its time says), or an error wrapping ErrNoSnapshot. It does
// not verify the checksum.
func (s *Store) Newest() (*Snapshot, error) {
	snaps, _, err := s.List()
	if err != nil {
		return nil, err
	}
	if len(snaps) == 0 {
		return nil, fmt.Errorf("newest snapshot in %s: %w", s.Dir, ErrNoSnapshot)
	}
	return &snaps[0], nil
}

// VerifyChecksum reads the whole stored file and compares its size and
// sha256 with the metadata; a mismatch wraps ErrCorrupt. Its errors leave the
// snapshot's id to the caller, who lists it (`verify`).
func (s *Store) VerifyChecksum(snap *Snapshot) error {
	data, _, err := s.paths(snap)
	if err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	f, err := os.Open(data)
	if err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	if err := checkStored(&snap.Meta, n, h); err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	return nil
}

// checkStored compares what was read of a stored file with its metadata.
func checkStored(m *Metadata, n int64, h hash.Hash) error {
	if n != m.StoredSize {
		return fmt.Errorf("%w: stored file is %d bytes, metadata says %d", ErrCorrupt, n, m.StoredSize)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != m.SHA256 {
		return fmt.Errorf("%w: stored file has sha256 %s, metadata says %s", ErrCorrupt, sum, m.SHA256)
	}
	return nil
}

// OpenRaw returns the decompressed snapshot. It verifies the stored file's
// size and sha256 while streaming and, on a mismatch, returns an error
// wrapping ErrCorrupt instead of io.EOF. Bytes already read are then not to
// be trusted: a caller must treat the output as valid only once Read has
// returned io.EOF.
func (s *Store) OpenRaw(snap *Snapshot) (io.ReadCloser, error) {
	data, _, err := s.paths(snap)
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	f, err := os.Open(data)
	if err != nil {
		return nil, fmt.Errorf("open snapshot %q: %w", snap.Meta.ID, err)
	}
	r := &rawReader{f: f, meta: snap.Meta, h: sha256.New()}
	// The stored bytes are hashed on a goroutine of their own while the
	// decoder works on the next chunk.
	r.hashed = hashpipe.NewReader(f, r.h)
	r.stored = &countingReader{r: r.hashed}
	// Concurrency 1 decodes synchronously, so memory stays one window.
	r.dec, err = zstd.NewReader(r.stored,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(maxDecoderWindow))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open snapshot %q: %w", snap.Meta.ID, err)
	}
	return r, nil
}

type rawReader struct {
	f      *os.File
	dec    *zstd.Decoder
	stored *countingReader
	hashed *hashpipe.Reader
	h      hash.Hash
	meta   Metadata
	rawN   int64
	err    error // sticky, so a caller cannot read past a failure
}

func (r *rawReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.dec.Read(p)
	r.rawN += int64(n)
	switch {
	case err == io.EOF:
		err = r.finish()
	case r.stored.err != nil:
		err = fmt.Errorf("read snapshot %q: %w", r.meta.ID, r.stored.err)
	case err != nil:
		err = fmt.Errorf("decompress snapshot %q: %w: %w", r.meta.ID, ErrCorrupt, err)
	}
	r.err = err
	return n, err
}

// finish runs at the end of the zstd stream: it hashes whatever the decoder
// left unread and returns io.EOF only when the stored file and the
// decompressed size match the metadata.
func (r *rawReader) finish() error {
	if _, err := io.Copy(io.Discard, r.stored); err != nil {
		return fmt.Errorf("read snapshot %q: %w", r.meta.ID, err)
	}
	r.hashed.Close()
	if err := checkStored(&r.meta, r.stored.n, r.h); err != nil {
		return fmt.Errorf("read snapshot %q: %w", r.meta.ID, err)
	}
	if r.rawN != r.meta.RawSize {
		return fmt.Errorf("read snapshot %q: %w: decompressed %d bytes, metadata says %d", r.meta.ID, ErrCorrupt, r.rawN, r.meta.RawSize)
	}
	return io.EOF
}

func (r *rawReader) Close() error {
	r.dec.Close()
	r.hashed.Close()
	return r.f.Close()
}

// Remove deletes a snapshot: the metadata first, so that a crash midway
// leaves an orphan data file (reported, then cleaned) and never metadata
// that names a missing file.
func (s *Store) Remove(snap *Snapshot) error {
	data, meta, err := s.paths(snap)
	if err != nil {
		return fmt.Errorf("remove snapshot: %w", err)
	}
	if err := removeIfExists(meta); err != nil {
		return fmt.Errorf("remove snapshot %q: %w", snap.Meta.ID, err)
	}
	if err := removeIfExists(data); err != nil {
		return fmt.Errorf("remove snapshot %q: %w", snap.Meta.ID, err)
	}
	if err := syncDir(filepath.Dir(meta)); err != nil {
		return fmt.Errorf("remove snapshot %q: %w", snap.Meta.ID, err)
	}
	return nil
}

// CleanTemp removes leftover temporary files (anywhere in the store) and
// data files without metadata (in snapshots/ and suspect/) that are older
// than a minute, and returns their paths. Call it only under the lock: a
// write in progress has exactly such files.
func (s *Store) CleanTemp() ([]string, error) {
	var removed []string
	dirs := []struct {
		path    string
		orphans bool
	}{
		{s.Dir, false},
		{filepath.Join(s.Dir, snapshotsDir), true},
		{filepath.Join(s.Dir, suspectDir), true},
		{filepath.Join(s.Dir, imagesDir), false},
	}
	cutoff := time.Now().Add(-staleAge)
	for _, d := range dirs {
		r, err := cleanDir(d.path, d.orphans, cutoff)
		removed = append(removed, r...)
		if err != nil {
			return removed, fmt.Errorf("clean %s: %w", d.path, err)
		}
	}
	return removed, nil
}

func cleanDir(dir string, orphans bool, cutoff time.Time) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[e.Name()] = true
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		stale := strings.HasPrefix(name, tempPrefix) ||
			(orphans && strings.HasSuffix(name, dataSuffix) && !present[strings.TrimSuffix(name, dataSuffix)+metaSuffix])
		if !stale || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, err
		}
		if fi.ModTime().After(cutoff) {
			continue
		}
		path := filepath.Join(dir, name)
		if err := removeIfExists(path); err != nil {
			return removed, err
		}
		removed = append(removed, path)
	}
	if len(removed) > 0 {
		return removed, syncDir(dir)
	}
	return removed, nil
}
