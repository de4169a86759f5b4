// Package progress shows how far a long step is (a restore or verify of a
// large snapshot, an upload) on a terminal, and nothing elsewhere: the
// command line puts an output on the run's context only when stderr is a
// terminal, so cron and systemd runs stay quiet.
package progress

import (
	"context"
	"fmt"
	"io"
	"time"
)

type key struct{}

// WithOutput makes the long steps of a run with ctx report to w.
func WithOutput(ctx context.Context, w io.Writer) context.Context {
	return context.WithValue(ctx, key{}, w)
}

// interval is how often a step reports.
const interval = time.Second

// Reader reports, under label, how much of total bytes were read through
// it, at most once a second and once at the end; without an output on ctx it
// is r itself.
func Reader(ctx context.Context, r io.Reader, label string, total int64) io.Reader {
	w, _ := ctx.Value(key{}).(io.Writer)
	if w == nil {
		return r
	}
	now := time.Now()
	return &reader{r: r, w: w, label: label, total: total, start: now, last: now}
}

type reader struct {
	r           io.Reader
	w           io.Writer
	label       string
	total, n    int64
	start, last time.Time
	done        bool
}

func (p *reader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	switch {
	case err == io.EOF && !p.done:
		p.done = true
		p.report("\n")
	case err == nil && time.Since(p.last) >= interval:
		p.last = time.Now()
		p.report("")
	}
	return n, err
}

func (p *reader) report(end string) {
	secs := time.Since(p.start).Seconds()
	rate := ""
	if secs > 0 {
		rate = fmt.Sprintf(", %.0f MiB/s", float64(p.n)/(1<<20)/secs)
	}
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf(" of %.1f MiB (%d%%)", float64(p.total)/(1<<20), p.n*100/p.total)
	}
	fmt.Fprintf(p.w, "\r%s: %.1f MiB%s%s%s", p.label, float64(p.n)/(1<<20), pct, rate, end)
}
