package runtime

import (
	"bytes"
	"sync"
)

// tailBuffer keeps the last max bytes written to it: what a long-running
// sidecar printed last, for the message when it fails, without holding all it
// printed in its life. Its stdout and stderr are copied in by two goroutines.
type tailBuffer struct {
	mu        sync.Mutex
	max       int
	buf       []byte
	truncated bool
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(p) > b.max {
		p = p[len(p)-b.max:]
		b.truncated = true
	}
	if over := len(b.buf) + len(p) - b.max; over > 0 {
		b.buf = b.buf[:copy(b.buf, b.buf[over:])]
		b.truncated = true
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

// String is the tail, from the first whole line once older output was dropped.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.buf
	if i := bytes.IndexByte(out, '\n'); b.truncated && i >= 0 && i < len(out)-1 {
		out = out[i+1:]
	}
	return string(out)
}
