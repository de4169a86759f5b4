package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// growingFile reads the snapshot etcdctl is still writing, so compression and
// hashing run alongside the save instead of after it. etcdctl writes
// <name>.part front to back, each byte once, then fsyncs and renames it to
// <name>; at EOF this reader waits for more until the save has ended, and
// returns io.EOF only when the save succeeded and every byte of the final file
// was read. A read of a region another process has written returns what it
// wrote, so the bytes read are the final file's.
type growingFile struct {
	ctx         context.Context
	part, final string
	saved       <-chan struct{} // closed when the save has ended
	saveErr     func() error    // its outcome, once saved is closed
	f           *os.File
	n           int64
}

// errSaveFailed stands for the save's own error, which the caller reports.
var errSaveFailed = errors.New("snapshot save failed")

// followPoll is how often a reader at the end of the growing file looks again.
const followPoll = 2 * time.Millisecond

func (g *growingFile) Read(p []byte) (int, error) {
	for {
		if g.f == nil {
			if err := g.open(); err != nil {
				return 0, err
			}
		}
		if g.f != nil {
			n, err := g.f.Read(p)
			g.n += int64(n)
			if n > 0 {
				return n, nil
			}
			if err != nil && err != io.EOF {
				return 0, fmt.Errorf("read the snapshot being saved: %w", err)
			}
		}
		if ended, err := g.ended(); ended {
			return g.finish(p, err)
		}
		if err := g.wait(); err != nil {
			return 0, err
		}
	}
}

// open opens the part file once etcdctl has created it, or the final file
// when the save ended before it could be seen.
func (g *growingFile) open() error {
	f, err := os.Open(g.part)
	if errors.Is(err, fs.ErrNotExist) {
		ended, serr := g.ended()
		if !ended {
			return nil
		}
		if serr != nil {
			return errSaveFailed
		}
		f, err = os.Open(g.final)
	}
	if err != nil {
		return fmt.Errorf("open the snapshot being saved: %w", err)
	}
	g.f = f
	return nil
}

func (g *growingFile) ended() (bool, error) {
	select {
	case <-g.saved:
		return true, g.saveErr()
	default:
		return false, nil
	}
}

// finish reads what was written before the save ended, then checks that
// everything of the final file was read.
func (g *growingFile) finish(p []byte, saveErr error) (int, error) {
	if saveErr != nil {
		return 0, errSaveFailed
	}
	if g.f == nil {
		if err := g.open(); err != nil {
			return 0, err
		}
	}
	n, err := g.f.Read(p)
	g.n += int64(n)
	if n > 0 {
		return n, nil
	}
	if err != nil && err != io.EOF {
		return 0, fmt.Errorf("read the saved snapshot: %w", err)
	}
	fi, err := os.Stat(g.final)
	if err != nil {
		return 0, fmt.Errorf("saved snapshot: %w", err)
	}
	if fi.Size() != g.n {
		return 0, fmt.Errorf("saved snapshot is %d bytes but %d were read while it was written", fi.Size(), g.n)
	}
	return 0, io.EOF
}

func (g *growingFile) wait() error {
	t := time.NewTimer(followPoll)
	defer t.Stop()
	select {
	case <-g.ctx.Done():
		return g.ctx.Err()
	case <-g.saved:
	case <-t.C:
	}
	return nil
}

func (g *growingFile) Close() error {
	if g.f != nil {
		return g.f.Close()
	}
	return nil
}
