package journal

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// A group commit's records go to disk as one batch record (typeBatch): the
// Kubernetes objects in etcd's values compress several times over, and the
// journal exists to keep the disk quiet.

var (
	encOnce sync.Once
	enc     *zstd.Encoder
	decOnce sync.Once
	dec     *zstd.Decoder
)

// batchEncoder is one shared encoder for EncodeAll (safe for concurrent use),
// single-threaded and sized for batches of a few MiB at most, so that it
// costs the long-running service little memory.
func batchEncoder() *zstd.Encoder {
	encOnce.Do(func() {
		enc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true),
			zstd.WithWindowSize(1<<20), zstd.WithEncoderLevel(zstd.SpeedDefault))
	})
	return enc
}

func batchDecoder() *zstd.Decoder {
	decOnce.Do(func() {
		dec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(maxPayload))
	})
	return dec
}

// appendBatch appends one batch record holding records (frames as
// appendRecord writes them) to dst.
func appendBatch(dst, records []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameSize)...)
	dst = append(dst, typeBatch)
	dst = batchEncoder().EncodeAll(records, dst)
	payload := dst[start+frameSize:]
	putFrame(dst[start:], payload)
	return dst
}

// decodeBatch returns the records of a batch payload whose checksum held.
// Anything wrong inside it is corruption: the bytes were durable whole.
func decodeBatch(p []byte) ([]Record, error) {
	b, err := batchDecoder().DecodeAll(p[1:], nil)
	if err != nil {
		return nil, fmt.Errorf("decompress batch: %w", err)
	}
	var recs []Record
	for off := 0; off < len(b); {
		payload, size, err := readFrame(b[off:])
		if err == nil && size == 0 {
			err = errors.New("zero length record")
		}
		if err != nil {
			return nil, fmt.Errorf("batch offset %d: %w", off, err)
		}
		if payload[0] == typeHeader {
			return nil, fmt.Errorf("batch offset %d: a chain header inside a batch", off)
		}
		rec, err := decodePayload(payload)
		if err != nil {
			return nil, fmt.Errorf("batch offset %d: %w", off, err)
		}
		recs = append(recs, rec)
		off += size
	}
	if len(recs) == 0 {
		return nil, errors.New("empty batch")
	}
	return recs, nil
}
