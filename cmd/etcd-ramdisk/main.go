// Command etcd-ramdisk keeps a kubeadm node's etcd safe on a RAM disk: it backs
// etcd up inside etcd's own image and restores it into the empty tmpfs before
// kubelet starts.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/buildinfo"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/clock"
	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	"github.com/urfave/cli/v2"
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := newApp().RunContext(ctx, os.Args)
	cancel()
	if err != nil {
		code := exitCode(err)
		if code != 0 {
			logging.New(false).Error(err.Error(), "exit", code)
		}
		os.Exit(code)
	}
}

func newApp() *cli.App {
	app := &cli.App{
		Name:                  "etcd-ramdisk",
		Usage:                 "run a single-node kubeadm cluster's etcd from tmpfs without losing its data",
		Version:               buildinfo.Get().Version,
		Flags:                 globalFlags(),
		HideHelpCommand:       true,
		CustomAppHelpTemplate: cli.AppHelpTemplate + "\nEXIT CODES:\n" + exitCodeHelp(),
		ExitErrHandler:        func(*cli.Context, error) {},
		Before:                checkTestClock,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
		Action: unknownCommand,
		Commands: []*cli.Command{
			backupCommand(),
			restoreCommand(),
			listCommand(),
			verifyCommand(),
			pruneCommand(),
			defragCommand(),
			statusCommand(),
			journalCommand(),
			ackRestoreCommand(),
			installCommand(), uninstallCommand(),
			versionCommand(),
		},
	}
	// A bad flag on any command is a usage error (exit 2), not a failure, and
	// so is an argument to a verb that takes none.
	for _, c := range app.Commands {
		c.OnUsageError = app.OnUsageError
		if !takesArgs[c.Name] {
			c.Action = noArgs(c.Action)
		}
	}
	return app
}

// takesArgs are the verbs that read arguments (verify: snapshot ids;
// install and uninstall say themselves that they take none).
var takesArgs = map[string]bool{"verify": true, "install": true, "uninstall": true}

// unknownCommand runs when no verb matched: help without arguments, a usage
// error naming the word otherwise.
func unknownCommand(c *cli.Context) error {
	if !c.Args().Present() || (c.Args().Len() == 1 && c.Args().First() == "help") {
		return cli.ShowAppHelp(c)
	}
	return usageError{fmt.Errorf("unknown command %q: see `etcd-ramdisk --help`", c.Args().First())}
}

// noArgs refuses arguments to a verb that takes none: `list extra-arg` is a
// mistake said at once, not an argument silently ignored.
func noArgs(action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.Args().Present() {
			return usageError{fmt.Errorf("%s takes no arguments, got %q (flags go before them: see `etcd-ramdisk %s --help`)", c.Command.Name, c.Args().Slice(), c.Command.Name)}
		}
		return action(c)
	}
}

// checkTestClock refuses a malformed test clock override and says so in the
// log whenever one is in effect, so that one left set on a node is seen.
func checkTestClock(c *cli.Context) error {
	if err := clock.Check(); err != nil {
		return usageError{err}
	}
	if clock.Overridden() {
		logging.New(false).Warn("test clock override in effect: never set it on a real node", "env", clock.EnvVar, "now", clock.Now().UTC().Format(time.RFC3339))
	}
	return nil
}
