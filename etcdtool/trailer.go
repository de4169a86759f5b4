package etcdtool

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
)

// trailerCheck checks etcd's own integrity trailer of a snapshot while the
// snapshot streams past: `etcdctl snapshot save` appends the sha256 of the
// database that etcd computed as it sent it, and etcd's restore recognises it
// by the file size (size % 512 == 32, bbolt files being whole pages). This is
// the check `snapshot restore` makes itself unless --skip-hash-check is given,
// done in the pass that already decompresses the snapshot, so that the
// restore does not read the whole database a second time.
//
// Write hashes everything but the last 32 bytes seen so far; Result, after the
// last Write, says whether there was a trailer and whether it matched.
type trailerCheck struct {
	h    hash.Hash
	tail []byte // the last min(n, 32) bytes written, not yet hashed
	n    int64
}

func newTrailerCheck() *trailerCheck {
	return &trailerCheck{h: sha256.New(), tail: make([]byte, 0, sha256.Size)}
}

func (t *trailerCheck) Write(p []byte) (int, error) {
	t.n += int64(len(p))
	if len(p) >= sha256.Size {
		t.h.Write(t.tail)
		t.h.Write(p[:len(p)-sha256.Size])
		t.tail = append(t.tail[:0], p[len(p)-sha256.Size:]...)
		return len(p), nil
	}
	t.tail = append(t.tail, p...)
	if over := len(t.tail) - sha256.Size; over > 0 {
		t.h.Write(t.tail[:over])
		t.tail = append(t.tail[:0], t.tail[over:]...)
	}
	return len(p), nil
}

// hasTrailer is etcd's own test (etcdutl's hasChecksum).
func hasTrailer(size int64) bool { return size%512 == sha256.Size }

// Result reports whether the stream ended in etcd's trailer; a trailer that
// does not match the bytes before it is an error (a corrupt snapshot).
func (t *trailerCheck) Result() (bool, error) {
	if !hasTrailer(t.n) {
		return false, nil
	}
	if sum := t.h.Sum(nil); !bytes.Equal(sum, t.tail) {
		return true, fmt.Errorf("etcd's sha256 trailer is %x but the database hashes to %x", t.tail, sum)
	}
	return true, nil
}
