package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/progress"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// deps is what a run touches outside its options, gathered so that a test
// drives a verb in-process: its output, its log, and the two ways it reaches
// the host's services.
type deps struct {
	Stdout io.Writer    // results
	Stderr io.Writer    // the output of the commands install runs
	Logger *slog.Logger // carried on the run's context (logging.G)
	// OpenRuntime connects to containerd (erdrt.Open); a test may hand out a
	// runtime whose containerd never answers, to get past the socket check.
	OpenRuntime func(ctx context.Context, address, namespace string) (*erdrt.Runtime, context.Context, error)
	// SystemState is systemd's state (systemctl is-system-running), which a
	// shutdown backup reads.
	SystemState func(ctx context.Context) string
	// Progress receives how far long steps are; nil (cron, systemd, tests)
	// for none.
	Progress io.Writer
}

// newDeps is the command line's: stdout for results, structured logs on
// stderr, the real containerd and systemd.
func newDeps(c *cli.Context) deps {
	return deps{
		Stdout: c.App.Writer, Stderr: c.App.ErrWriter,
		Logger:      logging.New(c.Bool("debug")),
		OpenRuntime: erdrt.Open, SystemState: hostfs.SystemState,
		Progress: terminal(os.Stderr),
	}
}

// terminal is f when it is a terminal: progress is for a person watching,
// never for cron's mail or the journal.
func terminal(f *os.File) io.Writer {
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return nil
	}
	return f
}

// start returns the run's context, carrying its logger.
func (d deps) start(ctx context.Context) context.Context {
	if d.Progress != nil {
		ctx = progress.WithOutput(ctx, d.Progress)
	}
	return logging.WithLogger(ctx, d.Logger)
}
