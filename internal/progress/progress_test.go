package progress

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	data := bytes.NewReader(make([]byte, 3<<20))
	if r := Reader(context.Background(), data, "x", 3<<20); r != io.Reader(data) {
		t.Error("without an output, Reader wraps r: a cron run would pay for it")
	}
	var out bytes.Buffer
	r := Reader(WithOutput(context.Background(), &out), data, "decompress 20261125T150405Z-r1", 3<<20)
	if n, err := io.Copy(io.Discard, r); err != nil || n != 3<<20 {
		t.Fatal(n, err)
	}
	if got := out.String(); !strings.HasPrefix(got, "\rdecompress 20261125T150405Z-r1: 3.0 MiB of 3.0 MiB (100%)") || !strings.HasSuffix(got, "\n") {
		t.Errorf("progress %q", got)
	}
}
