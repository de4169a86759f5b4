package offhost

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Ref names an object and what it must hold.
type Ref struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func (r Ref) matches(want Ref) error {
	if r.Size != want.Size {
		return fmt.Errorf("%w: %s holds %d bytes, want %d", store.ErrCorrupt, want.Name, r.Size, want.Size)
	}
	if r.SHA256 != want.SHA256 {
		return fmt.Errorf("%w: %s has sha256 %s, want %s", store.ErrCorrupt, want.Name, r.SHA256, want.SHA256)
	}
	return nil
}

// hashCounter is an io.Writer that hashes and counts what passes through.
type hashCounter struct {
	h hash.Hash
	n int64
}

func newHashCounter() *hashCounter { return &hashCounter{h: sha256.New()} }

func (c *hashCounter) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

func (c *hashCounter) ref(name string) Ref {
	return Ref{Name: name, Size: c.n, SHA256: hex.EncodeToString(c.h.Sum(nil))}
}
