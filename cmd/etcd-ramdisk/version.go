package main

import (
	"context"
	"fmt"
	"io"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/buildinfo"
	"github.com/urfave/cli/v2"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, commit and Go version of this build",
		Action: func(c *cli.Context) error {
			return runVersion(c.Context, versionOptions{Info: buildinfo.Get()}, newDeps(c))
		},
	}
}

// --version prints what `version` prints.
func init() {
	cli.VersionPrinter = func(c *cli.Context) { printVersion(c.App.Writer, buildinfo.Get()) }
}

type versionOptions struct {
	Info buildinfo.Info
}

func runVersion(_ context.Context, o versionOptions, d deps) error {
	return printVersion(d.Stdout, o.Info)
}

func printVersion(w io.Writer, i buildinfo.Info) error {
	_, err := fmt.Fprintln(w, "etcd-ramdisk", i)
	return err
}
