package bench

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"slices"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/klauspost/compress/zstd"
)

// CompressResult is one codec on one raw snapshot, medians over the runs.
type CompressResult struct {
	Codec          string  `json:"codec"`
	Raw            int64   `json:"rawBytes"`
	Compressed     int64   `json:"compressedBytes"`
	Ratio          float64 `json:"ratio"`           // raw / compressed
	CompressMBps   float64 `json:"compressMiBps"`   // raw MiB per second
	DecompressMBps float64 `json:"decompressMiBps"` // raw MiB per second
}

type codec struct {
	name string
	enc  func(w io.Writer) (io.WriteCloser, error)
	dec  func(r io.Reader) (io.Reader, func(), error)
}

// codecs: zstd exactly as the store writes and reads it (its fastest level),
// zstd's default level (what the store wrote before 2026-12-04), and gzip's
// default level.
var codecs = []codec{
	{"zstd SpeedFastest, 2 encoders (store)", func(w io.Writer) (io.WriteCloser, error) {
		return store.NewEncoder(w)
	}, func(r io.Reader) (io.Reader, func(), error) {
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	}},
	{"zstd SpeedDefault, 2 encoders", func(w io.Writer) (io.WriteCloser, error) {
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(2))
	}, func(r io.Reader) (io.Reader, func(), error) {
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	}},
	{"gzip default (level 6)", func(w io.Writer) (io.WriteCloser, error) {
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	}, func(r io.Reader) (io.Reader, func(), error) {
		g, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return g, func() { g.Close() }, nil
	}},
}

// MeasureCompression compresses and decompresses the file in memory with each codec.
func MeasureCompression(path string, runs int) ([]CompressResult, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []CompressResult
	// One output buffer, grown once and touched before timing: the figures are
	// the codec's, not those of a growing buffer's first touch of memory.
	var buf bytes.Buffer
	buf.Grow(len(raw) + len(raw)/8)
	buf.Write(raw)
	for _, c := range codecs {
		var ct, dt []float64
		var size int64
		for i := 0; i < max(runs, 1); i++ {
			buf.Reset()
			start := time.Now()
			w, err := c.enc(&buf)
			if err != nil {
				return nil, err
			}
			if _, err := w.Write(raw); err != nil {
				return nil, err
			}
			if err := w.Close(); err != nil {
				return nil, err
			}
			ct = append(ct, time.Since(start).Seconds())
			size = int64(buf.Len())
			start = time.Now()
			r, closeFn, err := c.dec(&buf)
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(io.Discard, r)
			closeFn()
			if err != nil {
				return nil, err
			}
			dt = append(dt, time.Since(start).Seconds())
		}
		mib := float64(len(raw)) / (1 << 20)
		out = append(out, CompressResult{Codec: c.name, Raw: int64(len(raw)), Compressed: size,
			Ratio: float64(len(raw)) / float64(size), CompressMBps: mib / median(ct), DecompressMBps: mib / median(dt)})
	}
	return out, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
