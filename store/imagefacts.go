package store

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
)

// ImageFacts is what one image digest was found to contain: where etcd's tools
// are and whether its restore tool takes --bump-revision. A digest names
// immutable content, so the facts never go stale and are never invalidated;
// keeping them saves every run a scan of the image's layers and a help
// container.
type ImageFacts struct {
	Digest  string `json:"digest"`
	Etcdctl string `json:"etcdctl"`           // full path inside the image
	Etcdutl string `json:"etcdutl,omitempty"` // "" when the image has none
	// BumpRevision is whether `snapshot restore` accepts --bump-revision;
	// nil until it has been asked.
	BumpRevision *bool `json:"bumpRevision,omitempty"`
}

func (f *ImageFacts) validate() error {
	var errs []error
	if !ValidDigest(f.Digest) {
		errs = append(errs, fmt.Errorf("digest %q is not sha256:<64 hex>", f.Digest))
	}
	for _, p := range []string{f.Etcdctl, f.Etcdutl} {
		if p != "" && (!path.IsAbs(p) || path.Clean(p) != p) {
			errs = append(errs, fmt.Errorf("tool path %q is not a clean absolute path", p))
		}
	}
	if f.Etcdctl == "" {
		errs = append(errs, errors.New("no etcdctl path"))
	}
	return errors.Join(errs...)
}

func imageFactsName(digest string) string {
	return strings.Replace(digest, ":", "-", 1) + ".facts.json"
}

// ReadImageFacts returns the facts recorded for digest, or nil, nil when none are.
func (s *Store) ReadImageFacts(digest string) (*ImageFacts, error) {
	if !ValidDigest(digest) {
		return nil, fmt.Errorf("read image facts: digest %q is not sha256:<64 hex>", digest)
	}
	var f ImageFacts
	found, err := s.readRecord("image facts", filepath.Join(imagesDir, imageFactsName(digest)), &f)
	if !found {
		return nil, err
	}
	if f.Digest != digest {
		return nil, fmt.Errorf("read image facts for %s: the file is for %s", digest, f.Digest)
	}
	return &f, nil
}

// WriteImageFacts atomically records f next to the image's archive. Call it
// under the lock.
func (s *Store) WriteImageFacts(f ImageFacts) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("write image facts: %w", err)
	}
	err := atomicWrite(filepath.Join(s.Dir, imagesDir), imageFactsName(f.Digest), func(w io.Writer) error { return writeJSON(w, &f) })
	if err != nil {
		return fmt.Errorf("write image facts: %w", err)
	}
	return nil
}
