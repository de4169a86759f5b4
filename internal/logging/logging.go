package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"
)

type key struct{}

// discard is the logger of a context that carries none: nothing is printed,
// so a library call never writes to a terminal it was not given.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// WithLogger returns a context whose steps log to l.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, key{}, l)
}

// G returns the context's logger, or one that discards when it has none.
func G(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(key{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return discard
}

// New returns the command line's logger: text on stderr, which journald and
// cron keep, leaving stdout for results; debug adds the step timings.
func New(debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// Step logs how long one step of op took, at debug level, when the returned
// func is called: `make bench` reads these lines for its per-step breakdown.
// Steps that overlap each log their own time.
func Step(ctx context.Context, op, step string) func() {
	start := time.Now()
	return func() {
		G(ctx).Debug("step", "op", op, "step", step, "seconds", time.Since(start).Seconds())
	}
}
