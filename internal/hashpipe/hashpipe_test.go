package hashpipe

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand"
	"testing"
	"testing/iotest"
)

// What Reader returns is r's bytes, and after Close the hash is theirs,
// whatever the sizes of the reads.
func TestReaderHashesWhatItReturns(t *testing.T) {
	for _, size := range []int{0, 1, 1 << 20, 3<<20 + 17} {
		data := make([]byte, size)
		rand.New(rand.NewSource(int64(size))).Read(data)
		for _, wrap := range []func(io.Reader) io.Reader{
			func(r io.Reader) io.Reader { return r },
			iotest.OneByteReader,
			iotest.HalfReader,
		} {
			h := sha256.New()
			r := NewReader(wrap(bytes.NewReader(data)), h)
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("size %d: read %d bytes, err %v", size, len(got), err)
			}
			if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
				t.Fatalf("size %d: hash differs", size)
			}
		}
	}
}

// A read error reaches the caller; Close still returns.
func TestReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(bytes.NewReader(make([]byte, 3<<20)), iotest.ErrReader(boom)), sha256.New())
	_, err := io.ReadAll(r)
	r.Close()
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
}

// Chunks handed over are hashed in order, each once.
func TestPipeOrder(t *testing.T) {
	var sink bytes.Buffer
	p := New(&sink, 2, 4)
	var want []byte
	for i := 0; i < 100; i++ {
		b := p.Get()
		n := copy(b, []byte{byte(i), byte(i + 1), byte(i + 2)}[:i%4%3+1])
		want = append(want, b[:n]...)
		p.Hash(b[:n])
	}
	p.Close()
	p.Close()
	if !bytes.Equal(sink.Bytes(), want) {
		t.Fatalf("hashed %v, want %v", sink.Bytes(), want)
	}
}
