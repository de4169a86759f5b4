package bench

import (
	"context"
	"os"
	"path/filepath"
)

// CounterCheck verifies the claim the disk-silence figures rest on: a process that
// writes and fsyncs a file on tmpfs is charged no write_bytes, the same on ext4 is.
type CounterCheck struct {
	Bytes      int64  `json:"bytes"`
	TmpfsDir   string `json:"tmpfsDir"`
	TmpfsWrite int64  `json:"tmpfsWriteBytes"` // wait4 ru_oublock × 512 of dd
	DiskDir    string `json:"diskDir"`
	DiskWrite  int64  `json:"diskWriteBytes"`
	DiskFS     string `json:"diskFs"`
}

// RunCounterCheck runs dd conv=fsync once into each kind of filesystem.
func RunCounterCheck(ctx context.Context, e *Env) (*CounterCheck, error) {
	const mib = 32
	c := &CounterCheck{Bytes: mib << 20, TmpfsDir: e.ShmDir, DiskDir: e.BedBase + "-check"}
	if err := os.MkdirAll(c.DiskDir, 0o700); err != nil {
		return nil, err
	}
	defer os.RemoveAll(c.DiskDir)
	if m, err := readMounts(0); err == nil {
		c.DiskFS = m.fsType(c.DiskDir)
	}
	for _, t := range []struct {
		dir string
		n   *int64
	}{{c.TmpfsDir, &c.TmpfsWrite}, {c.DiskDir, &c.DiskWrite}} {
		f := filepath.Join(t.dir, "dd.bin")
		r, err := run(ctx, nil, "dd", "if=/dev/zero", "of="+f, "bs=1M", "count=32", "conv=fsync", "status=none")
		os.Remove(f)
		if err != nil {
			return nil, err
		}
		*t.n = r.DiskWrite
	}
	return c, nil
}
