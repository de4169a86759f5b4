package vm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// console follows the serial console log that QEMU appends to (-chardev
// file,append=on): it keeps everything read so far in memory for pattern waits
// and remembers when the guest last printed anything (the stall watchdog).
type console struct {
	path string

	mu      sync.Mutex
	buf     []byte
	last    time.Time     // last time new output arrived (or the watch was reset)
	changed chan struct{} // closed and replaced whenever buf grows

	stop chan struct{}
	done chan struct{}
}

func newConsole(path string) (*console, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	f.Close()
	c := &console{
		path:    path,
		last:    time.Now(),
		changed: make(chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go c.follow()
	return c, nil
}

func (c *console) follow() {
	defer close(c.done)
	var off int64
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	chunk := make([]byte, 64<<10)
	for {
		if f, err := os.Open(c.path); err == nil {
			if _, err := f.Seek(off, io.SeekStart); err == nil {
				for {
					n, err := f.Read(chunk)
					if n > 0 {
						off += int64(n)
						c.mu.Lock()
						c.buf = append(c.buf, chunk[:n]...)
						c.last = time.Now()
						close(c.changed)
						c.changed = make(chan struct{})
						c.mu.Unlock()
					}
					if err != nil || n == 0 {
						break
					}
				}
			}
			f.Close()
		}
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
	}
}

func (c *console) close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
}

// mark is the current end of the console: waits look for output after it.
func (c *console) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf)
}

// resetSilence restarts the silence clock (a new QEMU process was started).
func (c *console) resetSilence() {
	c.mu.Lock()
	c.last = time.Now()
	c.mu.Unlock()
}

// silence is how long the console has printed nothing.
func (c *console) silence() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Since(c.last)
}

// find reports whether re matches the console output after since.
func (c *console) find(since int, re *regexp.Regexp) (bool, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if since > len(c.buf) {
		since = len(c.buf)
	}
	return re.Match(c.buf[since:]), c.changed
}

// waitFor waits until re matches console output after since, ctx ends, or
// abort (QEMU exit) is closed.
func (c *console) waitFor(ctx context.Context, since int, re *regexp.Regexp, abort <-chan struct{}) error {
	for {
		ok, changed := c.find(since, re)
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-abort:
			// One last look: QEMU may have printed it just before exiting.
			time.Sleep(300 * time.Millisecond)
			if ok, _ := c.find(since, re); ok {
				return nil
			}
			return errQEMUExited
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// tail returns the last n lines of the console, with terminal escapes removed.
func (c *console) tail(n int) string {
	c.mu.Lock()
	b := c.buf
	if len(b) > 256<<10 {
		b = b[len(b)-256<<10:]
	}
	b = bytes.Clone(b)
	c.mu.Unlock()
	return tailLines(cleanTerminal(string(b)), n)
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\r`)

func cleanTerminal(s string) string { return ansiEscape.ReplaceAllString(s, "") }

func tailLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var errQEMUExited = fmt.Errorf("QEMU exited")
