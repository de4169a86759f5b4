// Package hashpipe hashes data on a goroutine of its own while the caller goes
// on with the next chunk, without copying: the caller fills a chunk, uses it,
// then hands it over; the chunk comes back to be filled again once hashed.
// Decompressing a snapshot checks two hashes this way (the stored bytes' and
// etcd's trailer), each beside the work that reads or writes the data.
package hashpipe

import "io"

// Pipe feeds handed-over chunks to a writer (a hash) on its own goroutine.
type Pipe struct {
	free, full chan []byte
	done       chan struct{}
	closed     bool
}

// New starts a pipe into w with n chunks of size bytes: at most n chunks are
// in use or waiting to be hashed at a time.
func New(w io.Writer, n, size int) *Pipe {
	p := &Pipe{free: make(chan []byte, n), full: make(chan []byte, n), done: make(chan struct{})}
	for range n {
		p.free <- make([]byte, size)
	}
	go func() {
		defer close(p.done)
		for b := range p.full {
			w.Write(b) // a hash.Hash never fails
			p.free <- b[:cap(b)]
		}
	}()
	return p
}

// Get returns a free chunk, waiting while all are being hashed.
func (p *Pipe) Get() []byte { return <-p.free }

// Hash hands over b, a chunk from Get (resliced to the bytes to hash); the
// caller must not touch it afterwards.
func (p *Pipe) Hash(b []byte) { p.full <- b }

// Close waits until every chunk handed over is hashed. Call it once the
// caller is done with the pipe, also after an error; it may be called again.
func (p *Pipe) Close() {
	if !p.closed {
		p.closed = true
		close(p.full)
	}
	<-p.done
}

// Reader reads r through a pipe's chunks: each chunk, once the caller has
// read all of it, is hashed while the caller reads the next one.
type Reader struct {
	r        io.Reader
	p        *Pipe
	cur, buf []byte
}

// NewReader reads r and hashes what it read into w, 1 MiB at a time.
func NewReader(r io.Reader, w io.Writer) *Reader {
	return &Reader{r: r, p: New(w, 4, 1<<20)}
}

func (h *Reader) Read(dst []byte) (int, error) {
	if len(h.cur) == 0 {
		if h.buf != nil {
			h.p.Hash(h.buf)
			h.buf = nil
		}
		buf := h.p.Get()
		n, err := io.ReadFull(h.r, buf)
		if n == 0 {
			h.p.free <- buf
			return 0, err // io.EOF, or a read error
		}
		h.buf, h.cur = buf[:n], buf[:n]
		// io.ErrUnexpectedEOF: the rest is served first; the next fill sees io.EOF.
		if err != nil && err != io.ErrUnexpectedEOF {
			return 0, err
		}
	}
	n := copy(dst, h.cur)
	h.cur = h.cur[n:]
	return n, nil
}

// Close hashes what was read and waits for the hash: after it, w holds
// everything Read returned.
func (h *Reader) Close() {
	if h.buf != nil {
		h.p.Hash(h.buf)
		h.buf = nil
	}
	h.p.Close()
}
