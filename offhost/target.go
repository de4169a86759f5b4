package offhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/progress"
)

// Object is one stored object of a target.
type Object struct {
	Name    string // relative to the target's root, "/"-separated
	Size    int64
	ModTime time.Time
}

// Target is where the backends meet: a directory or an S3 bucket. Names are
// relative and "/"-separated. Put makes an object appear whole or not at all,
// replacing an earlier one of the same name.
type Target interface {
	// Put stores r under name; size is -1 when unknown. It returns what was
	// stored only when every byte of r was.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
	// Get opens name; an error wraps ErrNotFound when there is no such object.
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	Stat(ctx context.Context, name string) (Object, error)
	// List returns the complete objects whose names start with prefix.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes name; a missing object is not an error.
	Delete(ctx context.Context, name string) error
	// Clean removes what interrupted Puts left (temporary files, incomplete
	// multipart uploads) and says what it removed.
	Clean(ctx context.Context) ([]string, error)
	String() string
}

var (
	// ErrNotFound: no such object.
	ErrNotFound = errors.New("no such object")
	// ErrUnreachable: the target could not be reached (network, server down,
	// NAS not mounted).
	ErrUnreachable = errors.New("off-host target unreachable")
	// ErrDenied: the target refused the credentials or the request.
	ErrDenied = errors.New("off-host target refused access")
	// ErrNoBucket: the bucket does not exist.
	ErrNoBucket = errors.New("bucket does not exist")
	// ErrFull: the target has no room.
	ErrFull = errors.New("off-host target is full")
)

// checkName refuses names that could leave the target's root.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || strings.HasPrefix(name, "../") || name == ".." {
		return fmt.Errorf("invalid object name %q", name)
	}
	return nil
}

// putVerified stores r under name and reads it back: it counts only when the
// target holds exactly the bytes sent (size and sha256).
func putVerified(ctx context.Context, t Target, name string, r io.Reader, size int64) (Ref, error) {
	h := newHashCounter()
	if err := t.Put(ctx, name, io.TeeReader(progress.Reader(ctx, r, "upload "+name, size), h), size); err != nil {
		return Ref{}, err
	}
	sent := h.ref(name)
	if size >= 0 && sent.Size != size {
		_ = t.Delete(ctx, name)
		return Ref{}, fmt.Errorf("put %s: sent %d bytes, want %d", name, sent.Size, size)
	}
	if err := checkObject(ctx, t, sent); err != nil {
		_ = t.Delete(ctx, name)
		return Ref{}, fmt.Errorf("check %s after upload: %w", name, err)
	}
	return sent, nil
}

// checkObject reads name back and compares its size and sha256 with ref.
func checkObject(ctx context.Context, t Target, ref Ref) error {
	rc, err := t.Get(ctx, ref.Name)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := newHashCounter()
	if _, err := io.Copy(h, rc); err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	return h.ref(ref.Name).matches(ref)
}
